"""Registered model use cases: create, rename, update, delete, get, search, tags, aliases."""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from tracking.entities_registry import ALL_STAGES, ModelVersion, RegisteredModel
from tracking.errors import InvalidParameterValue, ResourceAlreadyExists, ResourceDoesNotExist
from tracking.search.registry_filters import (
    parse_registered_model_filter,
    parse_registered_model_order_by,
    prompt_scope,
)
from tracking.search.tokens import decode_page_token, split_page
from tracking.services.clock import now_ms
from tracking.services.registry_validation import (
    canonical_stage,
    in_column_range,
    model_not_found,
    parse_version,
    validate_alias,
    validate_alias_not_reserved,
    validate_description,
    validate_model_name,
    validate_tag,
    validate_tags,
    version_not_found,
)
from tracking.services.validation import validate_name
from tracking.store import registry as store
from tracking.store import registry_versions as versions
from tracking.store.database import Database

SEARCH_MAX_RESULTS_DEFAULT = 100
SEARCH_MAX_RESULTS_THRESHOLD = 1000


@dataclass(frozen=True)
class ModelPage:
    models: list[RegisteredModel]
    next_page_token: str | None


async def require_model(conn: AsyncConnection, name: str) -> None:
    if not await store.model_exists(conn, name):
        raise model_not_found(name)


async def load_model(conn: AsyncConnection, name: str) -> RegisteredModel:
    found = await store.models_by_names(conn, [name])
    if not found:
        raise model_not_found(name)
    return found[0]


async def load_version(conn: AsyncConnection, name: str, version: int) -> ModelVersion:
    found = []
    if in_column_range(version):
        found = await versions.versions_by_keys(conn, [(name, version)])
    if not found:
        raise version_not_found(name, version)
    return found[0]


async def latest_versions(
    conn: AsyncConnection, name: str, stages: list[str] | None
) -> list[ModelVersion]:
    """The newest version per requested stage (all stages when none are given), with aliases."""
    await require_model(conn, name)
    wanted = {canonical_stage(s) for s in stages} if stages else set(ALL_STAGES)
    latest = (await versions.latest_versions_for(conn, [name])).get(name, [])
    keys = [(v.name, v.version) for v in latest if v.current_stage in wanted]
    return await versions.versions_by_keys(conn, keys)


class RegisteredModelService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(
        self, name: str | None, tags: list[tuple[str, str]], description: str | None
    ) -> RegisteredModel:
        name = validate_model_name(name)
        tag_map = validate_tags(tags)
        validate_description(description)

        async def op(conn: AsyncConnection) -> RegisteredModel:
            if not await store.insert_model(conn, name, now_ms(), description):
                existing = await load_model(conn, name)
                new_is_prompt = RegisteredModel(name, 0, None, None, tags=tag_map).is_prompt
                old, new = (
                    "Prompt" if flag else "Registered Model"
                    for flag in (existing.is_prompt, new_is_prompt)
                )
                if old != new:
                    raise ResourceAlreadyExists(
                        f"Tried to create a {new.lower()} with name {name!r}, but the name is "
                        f"already taken by a {old.lower()}. MLflow does not allow creating a "
                        "model and a prompt with the same name."
                    )
                raise ResourceAlreadyExists(f"{new} (name={name}) already exists.")
            await store.set_model_tags(conn, name, sorted(tag_map.items()))
            return await load_model(conn, name)

        return await self.db.write(op)

    async def get(self, name: str | None) -> RegisteredModel:
        name = validate_model_name(name)
        return await self.db.read(lambda conn: load_model(conn, name))

    async def update(self, name: str | None, description: str | None) -> RegisteredModel:
        name = validate_model_name(name)
        validate_description(description)

        async def op(conn: AsyncConnection) -> RegisteredModel:
            await require_model(conn, name)
            await store.update_model(
                conn, name, description=description, last_updated_time=now_ms()
            )
            return await load_model(conn, name)

        return await self.db.write(op)

    async def rename(self, name: str | None, new_name: str | None) -> RegisteredModel:
        new_name = validate_model_name(new_name, "new_name")
        name = validate_model_name(name)

        async def op(conn: AsyncConnection) -> RegisteredModel:
            await require_model(conn, name)
            if new_name != name:
                if await store.model_exists(conn, new_name):
                    raise ResourceAlreadyExists(
                        f"Registered Model (name={new_name}) already exists."
                    )
                await store.rename_model(conn, name, new_name, now_ms())
            return await load_model(conn, new_name)

        return await self.db.write(op)

    async def delete(self, name: str | None) -> None:
        name = validate_model_name(name)

        async def op(conn: AsyncConnection) -> None:
            await require_model(conn, name)
            await store.delete_model(conn, name)

        await self.db.write(op)

    async def search(
        self,
        filter_string: str | None,
        max_results: int | None,
        order_by: list[str],
        page_token: str | None,
    ) -> ModelPage:
        limit = SEARCH_MAX_RESULTS_DEFAULT if max_results is None else max_results
        if limit > SEARCH_MAX_RESULTS_THRESHOLD:
            raise InvalidParameterValue(
                "Invalid value for request parameter max_results. It must be at most "
                f"{SEARCH_MAX_RESULTS_THRESHOLD}, but got value {limit}"
            )
        if limit < 1:
            raise InvalidParameterValue(
                f"Invalid value for request parameter max_results. It must be at least 1, "
                f"but got value {limit}"
            )
        comparisons = parse_registered_model_filter(filter_string)
        comparisons, exclude_prompts = prompt_scope(comparisons)
        order = parse_registered_model_order_by(order_by)
        offset = decode_page_token(page_token)

        async def op(conn: AsyncConnection) -> ModelPage:
            names = await store.search_model_names(
                conn,
                comparisons=comparisons,
                exclude_prompts=exclude_prompts,
                order=order,
                offset=offset,
                limit=limit + 1,
            )
            page, token = split_page(names, offset, limit)
            return ModelPage(await store.models_by_names(conn, list(page)), token)

        return await self.db.read(op)

    async def get_latest_versions(self, name: str | None, stages: list[str]) -> list[ModelVersion]:
        name = validate_model_name(name)
        return await self.db.read(lambda conn: latest_versions(conn, name, stages))

    async def set_tag(self, name: str | None, key: str | None, value: str) -> None:
        name = validate_model_name(name)
        item = validate_tag(key, value)

        async def op(conn: AsyncConnection) -> None:
            await require_model(conn, name)
            await store.set_model_tags(conn, name, [item])

        await self.db.write(op)

    async def delete_tag(self, name: str | None, key: str | None) -> None:
        """Deleting a tag that is not there is a no-op, as in MLflow's SQL store."""
        name = validate_model_name(name)
        key = validate_name(key, "key")

        async def op(conn: AsyncConnection) -> None:
            await require_model(conn, name)
            await store.delete_model_tag(conn, name, key)

        await self.db.write(op)

    # -- aliases --

    async def set_alias(self, name: str | None, alias: str | None, version: str) -> None:
        name = validate_model_name(name)
        alias = validate_alias(alias)
        validate_alias_not_reserved(alias)
        number = parse_version(version)

        async def op(conn: AsyncConnection) -> None:
            await load_version(conn, name, number)
            await store.set_alias(conn, name, alias, number)

        await self.db.write(op)

    async def delete_alias(self, name: str | None, alias: str | None) -> None:
        """A missing alias is a no-op, as in MLflow's SQL store (so retries succeed)."""
        name = validate_model_name(name)
        alias = validate_alias(alias)

        async def op(conn: AsyncConnection) -> None:
            await require_model(conn, name)
            await store.delete_alias(conn, name, alias)

        await self.db.write(op)

    async def get_version_by_alias(self, name: str | None, alias: str | None) -> ModelVersion:
        name = validate_model_name(name)
        alias = validate_alias(alias)

        async def op(conn: AsyncConnection) -> ModelVersion:
            if alias.lower() == "latest":
                latest = await latest_versions(conn, name, None)
                if not latest:
                    raise ResourceDoesNotExist(f"Latest version not found for model {name}.")
                return max(latest, key=lambda v: v.version)
            await require_model(conn, name)
            number = await store.alias_version(conn, name, alias)
            if number is None:
                # MLflow answers a missing alias with 400 INVALID_PARAMETER_VALUE, not a 404.
                raise InvalidParameterValue(f"Registered model alias {alias} not found.")
            return await load_version(conn, name, number)

        return await self.db.read(op)
