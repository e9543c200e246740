"""Logged model use cases: create, read, finalize, tags, params, delete, search, artifacts."""

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from tracking.artifacts import paths
from tracking.artifacts.base import ArtifactNotFound, Download, FileInfo
from tracking.artifacts.roots import ArtifactRoots, Located
from tracking.entities import ACTIVE, DELETED
from tracking.entities_models import PENDING, LoggedModel, LoggedModelInfo
from tracking.errors import BadRequest, InvalidParameterValue, ResourceDoesNotExist
from tracking.search.logged_model_filters import (
    decode_page_token,
    encode_page_token,
    parse_model_filter,
    parse_model_order_by,
)
from tracking.services import uris
from tracking.services.clock import now_ms
from tracking.services.experiments import require_experiment
from tracking.services.run_names import generate_run_name
from tracking.services.validation import limit_length, parse_experiment_id, validate_max_results
from tracking.store import logged_models as store
from tracking.store.database import Database

# MLflow's defaults and the widths of its logged_models columns (MLflow leaves those to the
# database, where PostgreSQL answers an over-long value with a 500).
SEARCH_MAX_RESULTS_DEFAULT = 100
MAX_NAME_LENGTH = 500
MAX_MODEL_TYPE_LENGTH = 500
MAX_RUN_ID_LENGTH = 32
MAX_KEY_LENGTH = 255
_BAD_NAME_CHARS = ("/", ":", ".", "%", '"', "'")


@dataclass(frozen=True)
class ModelPage:
    models: list[LoggedModel]
    next_page_token: str | None


@dataclass(frozen=True)
class SearchRequest:
    experiment_ids: list[str]
    filter_string: str | None
    datasets: list[tuple[str, str | None]]
    max_results: int | None
    order_by: list[dict[str, Any]] | None  # MLflow's dicts: field_name, ascending, dataset_*
    page_token: str | None


def model_not_found(model_id: str) -> ResourceDoesNotExist:
    return ResourceDoesNotExist(f"Logged model with ID '{model_id}' not found.")


def validate_model_name(name: str | None) -> None:
    if name is None:
        return
    if not name or any(c in name for c in _BAD_NAME_CHARS):
        raise InvalidParameterValue(
            f"Invalid model name ({name!r}) provided. Model name must be a non-empty string "
            f"and cannot contain the following characters: {_BAD_NAME_CHARS}"
        )
    limit_length("name", MAX_NAME_LENGTH, name)


def _checked_items(items: list[tuple[str, str]], what: str) -> list[tuple[str, str]]:
    for index, (key, _) in enumerate(items):
        limit_length(f"{what}[{index}].key", MAX_KEY_LENGTH, key)
    return items


def _unique_params(items: list[tuple[str, str]]) -> dict[str, str]:
    """One value per key; a key sent twice with two values is refused, as MLflow's primary
    key refuses it (it answers BAD_REQUEST)."""
    out: dict[str, str] = {}
    for key, value in items:
        if out.setdefault(key, value) != value:
            raise BadRequest(f"Duplicate param key '{key}' with different values in one request")
    return out


async def _require_model(conn: AsyncConnection, model_id: str) -> Any:
    """Deleted models still accept writes, as in MLflow's SQL store."""
    state = await store.model_state(conn, model_id)
    if state is None:
        raise model_not_found(model_id)
    return state


async def _add_params(
    conn: AsyncConnection, model_id: str, experiment_id: int, params: dict[str, str]
) -> None:
    """Insert new params; re-sending a logged value is a no-op (retries), changing it a 400."""
    existing = await store.params_of(conn, model_id, list(params))
    for key, old in existing.items():
        if params[key] != old:
            raise BadRequest(
                f"Changing param values is not allowed. Param with key='{key}' was already "
                f"logged with value='{old}' for logged model ID='{model_id}'. Attempted logging "
                f"new value '{params[key]}'."
            )
    await store.insert_params(
        conn, model_id, experiment_id, [(k, v) for k, v in params.items() if k not in existing]
    )


async def _load(conn: AsyncConnection, model_id: str, *, allow_deleted: bool) -> LoggedModel:
    found = await store.models_by_ids(conn, [model_id])
    if not found or (found[0].info.lifecycle_stage == DELETED and not allow_deleted):
        raise model_not_found(model_id)
    return found[0]


class LoggedModelService:
    def __init__(self, db: Database, roots: ArtifactRoots) -> None:
        self.db = db
        self.roots = roots

    async def create(
        self,
        *,
        experiment_id: str,
        name: str | None,
        model_type: str | None,
        source_run_id: str | None,
        params: list[tuple[str, str]],
        tags: list[tuple[str, str]],
    ) -> LoggedModel:
        validate_model_name(name)
        parsed = parse_experiment_id(experiment_id)
        if model_type:
            limit_length("model_type", MAX_MODEL_TYPE_LENGTH, model_type)
        if source_run_id:
            limit_length("source_run_id", MAX_RUN_ID_LENGTH, source_run_id)
        unique_params = _unique_params(_checked_items(params, "params"))
        tag_map = dict(_checked_items(tags, "tags"))  # a repeated key keeps its last value
        model_id = f"m-{uuid.uuid4().hex}"

        async def op(conn: AsyncConnection) -> LoggedModel:
            experiment = await require_experiment(conn, parsed)
            if experiment.lifecycle_stage != ACTIVE:
                raise InvalidParameterValue(
                    f"The experiment {parsed} must be in the 'active' state. "
                    f"Current state is {experiment.lifecycle_stage}."
                )
            now = now_ms()
            info = LoggedModelInfo(
                model_id=model_id,
                experiment_id=parsed,
                name=name or generate_run_name(),
                artifact_uri=uris.join(
                    experiment.artifact_location, "models", model_id, "artifacts"
                ),
                creation_timestamp=now,
                last_updated_timestamp=now,
                status=PENDING,
                lifecycle_stage=ACTIVE,
                model_type=model_type,
                source_run_id=source_run_id,
                status_message=None,
            )
            await store.insert_model(conn, info)
            await store.insert_params(conn, model_id, parsed, sorted(unique_params.items()))
            await store.set_tags(conn, model_id, parsed, sorted(tag_map.items()))
            return LoggedModel(info=info, tags=tag_map, params=unique_params)

        return await self.db.write(op)

    async def get(self, model_id: str, *, allow_deleted: bool = False) -> LoggedModel:
        return await self.db.read(lambda conn: _load(conn, model_id, allow_deleted=allow_deleted))

    async def finalize(self, model_id: str, status: int) -> LoggedModel:
        async def op(conn: AsyncConnection) -> LoggedModel:
            await _require_model(conn, model_id)
            await store.update_model(
                conn, model_id, status=status, last_updated_timestamp_ms=now_ms()
            )
            return await _load(conn, model_id, allow_deleted=True)

        return await self.db.write(op)

    async def delete(self, model_id: str) -> None:
        """A soft delete, as in MLflow's SQL store; deleting again is a no-op success."""

        async def op(conn: AsyncConnection) -> None:
            await _require_model(conn, model_id)
            await store.update_model(
                conn, model_id, lifecycle_stage=DELETED, last_updated_timestamp_ms=now_ms()
            )

        await self.db.write(op)

    async def set_tags(self, model_id: str, tags: list[tuple[str, str]]) -> None:
        tag_map = dict(_checked_items(tags, "tags"))

        async def op(conn: AsyncConnection) -> None:
            state = await _require_model(conn, model_id)
            await store.set_tags(conn, model_id, state.experiment_id, sorted(tag_map.items()))

        await self.db.write(op)

    async def delete_tag(self, model_id: str, key: str) -> None:
        async def op(conn: AsyncConnection) -> None:
            await _require_model(conn, model_id)
            if await store.delete_tag(conn, model_id, key) == 0:
                raise ResourceDoesNotExist(
                    f"No tag with key {key!r} found for model with ID {model_id!r}."
                )

        await self.db.write(op)

    async def log_params(self, model_id: str, params: list[tuple[str, str]]) -> None:
        unique_params = _unique_params(_checked_items(params, "params"))

        async def op(conn: AsyncConnection) -> None:
            state = await _require_model(conn, model_id)
            await _add_params(conn, model_id, state.experiment_id, unique_params)

        await self.db.write(op)

    async def search(self, request: SearchRequest) -> ModelPage:
        experiment_ids = [parse_experiment_id(e) for e in request.experiment_ids]
        comparisons = parse_model_filter(request.filter_string)
        order = parse_model_order_by(request.order_by)
        limit = validate_max_results(request.max_results or SEARCH_MAX_RESULTS_DEFAULT)
        offset = decode_page_token(
            request.page_token, request.experiment_ids, request.filter_string, request.order_by
        )

        async def op(conn: AsyncConnection) -> ModelPage:
            if not experiment_ids:
                return ModelPage([], None)
            ids = await store.search_model_ids(
                conn,
                experiment_ids=experiment_ids,
                comparisons=comparisons,
                datasets=request.datasets,
                order=order,
                offset=offset,
                limit=limit + 1,
            )
            token = None
            if len(ids) > limit:
                token = encode_page_token(
                    request.experiment_ids,
                    request.filter_string,
                    request.order_by,
                    offset + limit,
                )
            return ModelPage(await store.models_by_ids(conn, ids[:limit]), token)

        return await self.db.read(op)

    # -- artifacts: paths relative to the model's artifact_uri --

    async def _artifact_root(self, model_id: str) -> tuple[str, Located]:
        model = await self.get(model_id)
        uri = model.info.artifact_uri
        located = self.roots.locate(uri)
        if located is None:
            raise InvalidParameterValue(
                f"The artifacts of logged model {model_id} are at '{uri}', "
                "which this server does not serve"
            )
        return uri, located

    async def list_artifacts(
        self, model_id: str, raw_path: str | None
    ) -> tuple[str, list[FileInfo]]:
        path = paths.validate(raw_path)
        root_uri, root = await self._artifact_root(model_id)
        prefix = len(root.path) + 1 if root.path else 0
        files = await root.repository.list(paths.join(root.path, path))
        return root_uri, [FileInfo(f.path[prefix:], f.is_dir, f.file_size) for f in files]

    async def open_artifact(self, model_id: str, raw_path: str) -> tuple[str, Download]:
        path = paths.validate(raw_path)
        if not path:
            raise paths.invalid_path()
        _, root = await self._artifact_root(model_id)
        try:
            download = await root.repository.open(paths.join(root.path, path))
        except ArtifactNotFound:
            raise ResourceDoesNotExist(f"Artifact '{path}' does not exist") from None
        return path, download
