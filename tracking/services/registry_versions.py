"""Model version use cases: create, read, update, stages, delete, search, tags, downloads."""

import json
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from tracking.artifacts import paths
from tracking.artifacts.base import ArtifactNotFound, Download
from tracking.artifacts.roots import ArtifactRoots
from tracking.entities_registry import (
    ACTIVE_STAGES,
    IS_PROMPT_TAG,
    MODEL_VERSIONS_TAG,
    READY,
    STAGE_ARCHIVED,
    STAGE_DELETED,
    STAGE_NONE,
    ModelVersion,
)
from tracking.errors import InvalidParameterValue, ResourceDoesNotExist
from tracking.search.registry_filters import (
    parse_model_version_filter,
    parse_model_version_order_by,
    prompt_scope,
)
from tracking.search.tokens import decode_page_token, split_page
from tracking.services.clock import now_ms
from tracking.services.registry import (
    latest_versions,
    load_model,
    load_version,
)
from tracking.services.registry_sources import (
    PROMPT_SOURCES,
    invalid_source,
    logged_model,
    parse_model_uri,
    resolve_download_uri,
    validate_source,
)
from tracking.services.registry_validation import (
    MAX_DESCRIPTION_LENGTH,
    canonical_stage,
    in_column_range,
    model_not_found,
    parse_version,
    validate_description,
    validate_model_name,
    validate_tag,
    validate_tags,
    version_not_found,
)
from tracking.services.validation import limit_length, validate_name
from tracking.store import logged_models as logged_model_store
from tracking.store import registry as model_store
from tracking.store import registry_versions as store
from tracking.store.database import Database

SEARCH_MAX_RESULTS_DEFAULT = 200_000  # the proto's default, which the handler passes on
SEARCH_MAX_RESULTS_THRESHOLD = 200_000
MAX_RUN_ID_LENGTH = 32
MAX_MODEL_ID_LENGTH = 64


@dataclass(frozen=True)
class CreateRequest:
    name: str | None
    source: str
    run_id: str | None  # None when absent from the request; MLflow stores "" when empty
    model_id: str | None
    tags: list[tuple[str, str]]
    run_link: str | None
    description: str | None


@dataclass(frozen=True)
class VersionPage:
    versions: list[ModelVersion]
    next_page_token: str | None


def _is_prompt(tags: dict[str, str]) -> bool:
    return tags.get(IS_PROMPT_TAG, "false").lower() == "true"


async def _registered_lineage(
    conn: AsyncConnection, request: CreateRequest
) -> tuple[str, str | None, str | None]:
    """MLflow's _resolve_registered_model_source_lineage: models:/<name>/<selector> becomes
    models:/<name>/<version>, inheriting (or checked against) that version's run and model."""
    parsed = parse_model_uri(request.source)
    if parsed.model_id is not None:
        return request.source, request.run_id, request.model_id
    assert parsed.name is not None
    source_model = await load_model(conn, parsed.name)
    if source_model.is_prompt:
        raise InvalidParameterValue(
            f"Invalid model version source: '{request.source}'. Prompt versions cannot be used "
            "as model version sources."
        )
    if parsed.alias is not None:
        number = await model_store.alias_version(conn, parsed.name, parsed.alias)
        if number is None:
            raise InvalidParameterValue(f"Registered model alias {parsed.alias} not found.")
    elif parsed.version is not None:
        number = parse_version(parsed.version)
    else:
        stages = [parsed.stage] if parsed.stage else None
        found = await latest_versions(conn, parsed.name, stages)
        if not found:
            raise ResourceDoesNotExist(f"No versions of model with name '{parsed.name}' found")
        number = max(v.version for v in found)
    origin = await load_version(conn, parsed.name, number)
    if (request.run_id is not None and request.run_id != (origin.run_id or "")) or (
        request.model_id is not None and request.model_id != (origin.model_id or "")
    ):
        raise InvalidParameterValue(
            f"Invalid model version source: '{request.source}'. The run_id and model_id request "
            "parameters must match the referenced model version."
        )
    return (
        f"models:/{parsed.name}/{origin.version}",
        request.run_id if request.run_id is not None else origin.run_id,
        request.model_id if request.model_id is not None else origin.model_id,
    )


async def _link_logged_model(conn: AsyncConnection, model_id: str, name: str, version: int) -> None:
    """MLflow's set_model_versions_tags: the logged model lists the versions made from it."""
    model = await logged_model(conn, model_id)
    if model is None:
        return
    entries: list[dict[str, object]] = [{"name": name, "version": version}]  # MLflow: an int
    existing = model.tags.get(MODEL_VERSIONS_TAG)
    if existing:
        try:
            previous = json.loads(existing)
        except ValueError:
            previous = []
        if isinstance(previous, list):
            entries = previous + [e for e in entries if e not in previous]
    await logged_model_store.set_tags(
        conn, model_id, model.info.experiment_id, [(MODEL_VERSIONS_TAG, json.dumps(entries))]
    )


class ModelVersionService:
    def __init__(self, db: Database, roots: ArtifactRoots) -> None:
        self.db = db
        self.roots = roots

    async def create(self, request: CreateRequest) -> ModelVersion:
        name = validate_model_name(request.name)
        tag_map = validate_tags(request.tags)
        validate_description(request.description)
        for field, value, limit in (
            ("run_id", request.run_id, MAX_RUN_ID_LENGTH),
            ("model_id", request.model_id, MAX_MODEL_ID_LENGTH),
        ):
            if value:
                limit_length(field, limit, value)
        prompt = _is_prompt(tag_map)
        if prompt and request.source not in PROMPT_SOURCES:
            raise InvalidParameterValue(
                f"Invalid prompt source: '{request.source}'. Prompt sources must use an MLflow "
                "placeholder."
            )

        async def op(conn: AsyncConnection) -> ModelVersion:
            source, run_id, model_id = request.source, request.run_id, request.model_id
            if not prompt:
                if source.lower().startswith("models:") and not source.startswith("models://"):
                    source, run_id, model_id = await _registered_lineage(conn, request)
                await validate_source(conn, self.roots, source, run_id or "", model_id or "")
            if not await model_store.lock_model(conn, name):
                raise model_not_found(name)
            storage_location = source
            if not prompt and source.startswith("models:/"):
                parsed = parse_model_uri(source)
                if parsed.model_id is not None:
                    model = await logged_model(conn, parsed.model_id)
                    if model is None:
                        raise invalid_source(source, "model_id")
                    storage_location = model.info.artifact_uri
                    run_id = run_id or model.info.source_run_id
                else:
                    assert parsed.name is not None and parsed.version is not None
                    origin = await load_version(conn, parsed.name, int(parsed.version))
                    storage_location = origin.download_uri
            if not run_id and model_id:
                model = await logged_model(conn, model_id)
                run_id = model.info.source_run_id if model is not None else run_id
            now = now_ms()
            version = ModelVersion(
                name=name,
                version=await store.next_version(conn, name),
                creation_timestamp=now,
                last_updated_timestamp=now,
                description=request.description,
                user_id=None,
                current_stage=STAGE_NONE,
                source=source,
                storage_location=storage_location,
                run_id=run_id if run_id is not None else "",  # MLflow stores the proto's ""
                run_link=request.run_link,
                status=READY,
                status_message=None,
                model_id=model_id or None,
                tags=tag_map,
            )
            await store.insert_version(conn, version)
            await model_store.update_model(conn, name, last_updated_time=now)
            if model_id and not prompt:
                await _link_logged_model(conn, model_id, name, version.version)
            return version

        return await self.db.write(op)

    async def get(self, name: str | None, version: str) -> ModelVersion:
        name = validate_model_name(name)
        number = parse_version(version)
        return await self.db.read(lambda conn: load_version(conn, name, number))

    async def update(self, name: str | None, version: str, description: str | None) -> ModelVersion:
        name = validate_model_name(name)
        number = parse_version(version)
        if description is not None:
            limit_length("description", MAX_DESCRIPTION_LENGTH, description)

        async def op(conn: AsyncConnection) -> ModelVersion:
            await load_version(conn, name, number)
            await store.update_version(
                conn, name, number, description=description, last_updated_time=now_ms()
            )
            return await load_version(conn, name, number)

        return await self.db.write(op)

    async def transition_stage(
        self, name: str | None, version: str, stage: str, archive_existing: bool
    ) -> ModelVersion:
        canonical = canonical_stage(stage)
        if archive_existing and canonical not in ACTIVE_STAGES:
            raise InvalidParameterValue(
                "Model version transition cannot archive existing model versions because "
                f"'{stage}' is not an Active stage. Valid stages are {list(ACTIVE_STAGES)}"
            )
        name = validate_model_name(name)
        number = parse_version(version)

        async def op(conn: AsyncConnection) -> ModelVersion:
            await load_version(conn, name, number)
            now = now_ms()
            if archive_existing:
                await store.archive_stage(conn, name, number, canonical, STAGE_ARCHIVED, now)
            await store.update_version(
                conn, name, number, current_stage=canonical, last_updated_time=now
            )
            await model_store.update_model(conn, name, last_updated_time=now)
            return await load_version(conn, name, number)

        return await self.db.write(op)

    async def delete(self, name: str | None, version: str) -> None:
        """MLflow's soft delete: the row stays, redacted, so numbers are never reused. Deleting
        a deleted version again is a no-op success (MLflow: 404), so a retry cannot fail."""
        number = parse_version(version)
        name = validate_model_name(name)

        async def op(conn: AsyncConnection) -> None:
            stage = None
            if in_column_range(number):
                stage = await store.version_stage(conn, name, number)
            if stage == STAGE_DELETED:
                return
            if stage is None:
                raise version_not_found(name, number)
            now = now_ms()
            await model_store.delete_aliases_of_version(conn, name, number)
            await store.update_version(
                conn,
                name,
                number,
                current_stage=STAGE_DELETED,
                last_updated_time=now,
                description=None,
                user_id=None,
                source="REDACTED-SOURCE-PATH",
                run_id="REDACTED-RUN-ID",
                run_link="REDACTED-RUN-LINK",
                status_message=None,
            )
            await model_store.update_model(conn, name, last_updated_time=now)

        await self.db.write(op)

    async def search(
        self,
        filter_string: str | None,
        max_results: int | None,
        order_by: list[str],
        page_token: str | None,
    ) -> VersionPage:
        limit = SEARCH_MAX_RESULTS_DEFAULT if max_results is None else max_results
        if limit < 1:
            raise InvalidParameterValue(
                f"Invalid value for max_results. It must be a positive integer, but got {limit}"
            )
        if limit > SEARCH_MAX_RESULTS_THRESHOLD:
            raise InvalidParameterValue(
                "Invalid value for request parameter max_results. It must be at most "
                f"{SEARCH_MAX_RESULTS_THRESHOLD}, but got value {limit}"
            )
        comparisons = parse_model_version_filter(filter_string)
        comparisons, exclude_prompts = prompt_scope(comparisons)
        order = parse_model_version_order_by(order_by)
        offset = decode_page_token(page_token)

        async def op(conn: AsyncConnection) -> VersionPage:
            keys = await store.search_version_keys(
                conn,
                comparisons=comparisons,
                exclude_prompts=exclude_prompts,
                order=order,
                offset=offset,
                limit=limit + 1,
            )
            page, token = split_page(keys, offset, limit)
            return VersionPage(await store.versions_by_keys(conn, list(page)), token)

        return await self.db.read(op)

    async def set_tag(self, name: str | None, version: str, key: str | None, value: str) -> None:
        name = validate_model_name(name)
        number = parse_version(version)
        item = validate_tag(key, value)

        async def op(conn: AsyncConnection) -> None:
            await load_version(conn, name, number)
            await store.set_version_tags(conn, name, number, [item])

        await self.db.write(op)

    async def delete_tag(self, name: str | None, version: str, key: str | None) -> None:
        name = validate_model_name(name)
        number = parse_version(version)
        key = validate_name(key, "key")

        async def op(conn: AsyncConnection) -> None:
            await load_version(conn, name, number)
            await store.delete_version_tag(conn, name, number, key)

        await self.db.write(op)

    # -- downloads --

    async def download_uri(self, name: str | None, version: str) -> str:
        name = validate_model_name(name)
        number = parse_version(version)
        found = await self.db.read(lambda conn: load_version(conn, name, number))
        return found.download_uri

    async def open_artifact(
        self, name: str | None, version: str, raw_path: str | None
    ) -> tuple[str, Download]:
        path = paths.validate(raw_path)
        if not path:
            raise paths.invalid_path()
        uri = await self.download_uri(name, version)
        resolved = await self.db.read(lambda conn: resolve_download_uri(conn, uri))
        located = self.roots.locate(resolved)
        if located is None:
            raise InvalidParameterValue(
                f"The artifacts of model version {version} of '{name}' are at '{uri}', "
                "which this server does not serve"
            )
        try:
            download = await located.repository.open(paths.join(located.path, path))
        except ArtifactNotFound:
            raise ResourceDoesNotExist(f"Artifact '{path}' does not exist") from None
        return path, download
