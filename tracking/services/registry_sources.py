"""Which model version sources are accepted, and where a version's files are.

MLflow's handler rules (_validate_source_run / _validate_source_model and the relative-path
check of its published advisories), narrowed to what this server serves: besides `models:/`,
`runs:/` and `mlflow-artifacts:/` URIs, only locations under the server's artifact roots are
accepted, so no source can name `/etc`, `/proc/self/root`, another host, or a path with `..`.
A prompt (the `mlflow.prompt.is_prompt` tag) gets no exemption: its source must be one of
MLflow's placeholders.
"""

import posixpath
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, unquote_plus, urlsplit

from sqlalchemy.ext.asyncio import AsyncConnection

from tracking.artifacts.roots import PROXY_SCHEME, ArtifactRoots
from tracking.entities import DELETED
from tracking.errors import InvalidParameterValue, MlflowError
from tracking.store import logged_models as logged_model_store
from tracking.store.runs import run_infos

PROMPT_SOURCES = frozenset({"dummy-source", "prompt-template"})


@dataclass(frozen=True)
class ModelUri:
    """A parsed models:/ URI: a logged model id, or a registered name with one selector."""

    model_id: str | None = None
    name: str | None = None
    version: str | None = None
    stage: str | None = None  # None with a name and no version/alias means "latest"
    alias: str | None = None


def improper_model_uri(uri: str) -> InvalidParameterValue:
    return InvalidParameterValue(
        f"Not a proper models:/ URI: {uri}. Models URIs must be of the form "
        "'models:/model_name/suffix' or 'models:/model_name@alias' where suffix is a model "
        "version, stage, or the string 'latest' and where alias is a registered model alias. "
        "Only one of suffix or alias can be defined at a time."
    )


def parse_model_uri(uri: str) -> ModelUri:
    """MLflow's _parse_model_uri."""
    parts_ = urlsplit(uri, allow_fragments=False)
    path = parts_.path
    if parts_.scheme != "models" or not path.startswith("/") or len(path) <= 1:
        raise improper_model_uri(uri)
    parts = path.lstrip("/").split("/")
    if len(parts) > 2 or parts[0].strip() == "":
        raise improper_model_uri(uri)
    if len(parts) == 2:
        name, suffix = parts
        if suffix.strip() == "":
            raise improper_model_uri(uri)
        if suffix.isdigit():
            return ModelUri(name=name, version=suffix)
        if suffix.lower() == "latest":
            return ModelUri(name=name)
        return ModelUri(name=name, stage=suffix)
    if "@" in path:
        name, _, alias = parts[0].rpartition("@")
        if not alias.strip():
            raise improper_model_uri(uri)
        return ModelUri(name=name, alias=alias)
    return ModelUri(model_id=parts[0])


def invalid_source(source: str, id_name: str) -> InvalidParameterValue:
    return InvalidParameterValue(
        f"Invalid model version source: '{source}'. The {id_name} request parameter must "
        "identify the resource that contains the source."
    )


def check_relative_paths(source: str) -> None:
    """MLflow's _validate_non_local_source_contains_relative_paths; the path is normalised
    lexically (no filesystem access on the event loop) and must be absolute."""
    while (unquoted := unquote_plus(source)) != source:
        source = unquoted
    path = re.sub(r"/+", "/", urlsplit(source).path.rstrip("/"))
    if (
        "\x00" in path
        or any(p == ".." for p in source.split("/"))
        or not path.startswith("/")
        or posixpath.normpath(path) != path
    ):
        raise InvalidParameterValue(
            f"Invalid model version source: '{source}'. If supplying a source as an http, "
            "https, local file path, ftp, objectstore, or mlflow-artifacts uri, an absolute path "
            "must be provided without relative path references present. "
            "Please provide an absolute path."
        )


def _parts(uri: str) -> tuple[str, str, tuple[str, ...]]:
    parsed = urlsplit(uri)
    segments = []
    for part in parsed.path.split("/"):
        while (unquoted := unquote(part)) != part:
            part = unquoted
        if part:
            segments.append(part)
    return parsed.scheme.lower(), parsed.netloc.lower(), tuple(segments)


def within(source: str, root: str) -> bool:
    """MLflow's _is_uri_within_root: same scheme and authority, and the root's path segments
    lead the source's."""
    s_scheme, s_host, s_parts = _parts(source)
    r_scheme, r_host, r_parts = _parts(root)
    return (
        s_scheme == r_scheme
        and s_host == r_host
        and bool(r_parts)
        and s_parts[: len(r_parts)] == r_parts
    )


def _scheme(source: str) -> str:
    return urlsplit(source).scheme.lower()


async def _run_artifact_uri(conn: AsyncConnection, run_id: str) -> str | None:
    info = (await run_infos(conn, [run_id])).get(run_id) if run_id else None
    return info.artifact_uri if info is not None else None


async def logged_model(conn: AsyncConnection, model_id: str) -> Any:
    """The live logged model with this id, or None (MLflow's get_logged_model hides deleted)."""
    found = await logged_model_store.models_by_ids(conn, [model_id]) if model_id else []
    return found[0] if found and found[0].info.lifecycle_stage != DELETED else None


def _check_under_roots(source: str, roots: ArtifactRoots) -> None:
    try:
        roots.check_location(source)
    except MlflowError:
        raise InvalidParameterValue(
            f"Invalid model version source: '{source}'. A source must be a models:/, runs:/ "
            "or mlflow-artifacts:/ URI, or a location under this server's artifact root or an "
            "allowed artifact location prefix."
        ) from None


async def validate_source(
    conn: AsyncConnection, roots: ArtifactRoots, source: str, run_id: str, model_id: str
) -> None:
    """The checks of MLflow's create_model_version handler after lineage resolution."""
    id_name = "model_id" if model_id else "run_id"
    scheme = _scheme(source)
    if scheme not in ("models", "runs", "mlflow-artifacts"):
        check_relative_paths(source)
        _check_under_roots(source, roots)
        return
    check_relative_paths(source)
    if urlsplit(source).netloc:
        raise invalid_source(source, id_name)
    if scheme == "runs":
        parts = urlsplit(source).path.lstrip("/").split("/", 1)
        if model_id or not run_id or parts[0] != run_id:
            raise invalid_source(source, id_name)
        return
    if scheme == "models":
        source_model_id = parse_model_uri(source).model_id
        if source_model_id is not None and (not model_id or source_model_id != model_id):
            raise invalid_source(source, "model_id")
        if source_model_id is not None and await logged_model(conn, model_id) is None:
            raise invalid_source(source, "model_id")
        return
    # mlflow-artifacts:/ must lie inside the run's (or logged model's) own artifacts.
    if not source.startswith(PROXY_SCHEME + "/") or source.startswith(PROXY_SCHEME + "//"):
        raise invalid_source(source, id_name)
    if model_id:
        model = await logged_model(conn, model_id)
        root = model.info.artifact_uri if model is not None else None
    else:
        root = await _run_artifact_uri(conn, run_id)
    if root is None or not within(source, root):
        raise invalid_source(source, id_name)


async def resolve_download_uri(conn: AsyncConnection, uri: str) -> str:
    """A runs:/ download URI as the run's artifact location (the server's own files)."""
    if _scheme(uri) != "runs":
        return uri
    run_id, _, path = urlsplit(uri).path.lstrip("/").partition("/")
    root = await _run_artifact_uri(conn, run_id)
    if root is None:
        raise InvalidParameterValue(f"The run of model version source '{uri}' does not exist")
    return posixpath.join(root.rstrip("/"), path) if path else root
