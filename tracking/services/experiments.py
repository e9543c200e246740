"""Experiment use cases."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tracking.entities import ACTIVE, DELETED, Experiment
from tracking.errors import (
    InvalidParameterValue,
    ResourceAlreadyExists,
    ResourceDoesNotExist,
)
from tracking.search import tokens
from tracking.services import uris
from tracking.services.clock import now_ms
from tracking.services.validation import (
    MAX_EXPERIMENTS_LISTED_PER_PAGE,
    parse_experiment_id,
    validate_experiment_name,
    validate_experiment_tag,
    validate_max_results,
)
from tracking.services.versioned_cache import VersionedCache
from tracking.store import experiments as store
from tracking.store.database import Database
from tracking.store.dialect import insert_ignore
from tracking.store.experiment_search import experiments_version, search_experiments
from tracking.store.tables import experiments as experiments_table

DEFAULT_EXPERIMENT_ID = 0
DEFAULT_EXPERIMENT_NAME = "Default"
# Bytes of experiments (their JSON, plus their queries) a process keeps in cached search pages;
# queries longer than CACHED_QUERY_CHARS are not cached (nobody repeats them).
CACHED_BYTES = 32 << 20
CACHED_QUERY_CHARS = 4096


@dataclass(frozen=True)
class ExperimentPage:
    """A search page, kept encoded: cached pages are what a process holds most of, and as
    Python dicts they took ~3x the memory of their JSON (+160 MB RSS per server when a client
    walked many distinct pages)."""

    experiments_json: bytes  # a JSON array of Experiment.to_dict()s
    count: int
    next_page_token: str | None


def not_found(experiment_id: int | str) -> ResourceDoesNotExist:
    return ResourceDoesNotExist(f"No Experiment with id={experiment_id} exists")


async def require_experiment(conn: AsyncConnection, experiment_id: int) -> Experiment:
    found = await store.experiments_by_ids(conn, [experiment_id])
    if not found:
        raise not_found(experiment_id)
    return found[0]


async def require_active(conn: AsyncConnection, experiment_id: int) -> None:
    stage = await store.lifecycle_of(conn, experiment_id)
    if stage is None:
        raise not_found(experiment_id)
    if stage != ACTIVE:
        raise InvalidParameterValue(
            f"The experiment {experiment_id} must be in the 'active' state. "
            f"Current state is {stage}."
        )


class ExperimentService:
    def __init__(
        self, db: Database, artifact_root: str, check_location: Callable[[str], None]
    ) -> None:
        self.db = db
        self.artifact_root = uris.resolve_root(artifact_root)
        # Refuses an artifact_location outside the server's roots (see artifacts/roots.py).
        self.check_location = check_location
        # Search pages by their query, each valid only at the data version it was read at.
        self._pages: VersionedCache[tuple[Any, ...], ExperimentPage] = VersionedCache(CACHED_BYTES)

    async def ensure_default(self) -> None:
        """Experiment "0" named Default exists from the start; safe to race across processes."""

        async def op(conn: AsyncConnection) -> None:
            now = now_ms()
            await conn.execute(
                insert_ignore(conn, experiments_table).values(
                    experiment_id=DEFAULT_EXPERIMENT_ID,
                    name=DEFAULT_EXPERIMENT_NAME,
                    artifact_location=uris.join(self.artifact_root, str(DEFAULT_EXPERIMENT_ID)),
                    lifecycle_stage=ACTIVE,
                    creation_time=now,
                    last_update_time=now,
                )
            )

        await self.db.write(op)

    async def create(
        self, name: str | None, artifact_location: str | None, tags: list[tuple[str, str]]
    ) -> int:
        name = validate_experiment_name(name)
        checked = dict(validate_experiment_tag(k, v) for k, v in tags)
        if artifact_location:
            self.check_location(artifact_location)

        async def op(conn: AsyncConnection) -> int:
            if await store.experiment_id_by_name(conn, name) is not None:
                raise ResourceAlreadyExists(f"Experiment(name={name}) already exists.")
            try:
                experiment_id = await store.insert_experiment(
                    conn,
                    name=name,
                    artifact_location=artifact_location,
                    lifecycle_stage=ACTIVE,
                    now=now_ms(),
                )
            except sa.exc.IntegrityError:
                # Another process created the same name between our check and insert.
                raise ResourceAlreadyExists(f"Experiment(name={name}) already exists.") from None
            if not artifact_location:
                location = uris.join(self.artifact_root, str(experiment_id))
                await store.set_artifact_location(conn, experiment_id, location)
            await store.insert_experiment_tags(conn, experiment_id, checked)
            return experiment_id

        return await self.db.write(op)

    async def get(self, experiment_id: str | None) -> Experiment:
        parsed = parse_experiment_id(experiment_id)
        return await self.db.read(lambda conn: require_experiment(conn, parsed))

    async def get_by_name(self, name: str) -> Experiment:
        async def op(conn: AsyncConnection) -> Experiment:
            experiment_id = await store.experiment_id_by_name(conn, name)
            if experiment_id is None:
                raise ResourceDoesNotExist(f"Could not find experiment with name '{name}'")
            return await require_experiment(conn, experiment_id)

        return await self.db.read(op)

    async def search(
        self,
        *,
        filter_string: str | None,
        view_type: str,
        max_results: int | None,
        order_by: list[str],
        page_token: str | None,
    ) -> ExperimentPage:
        limit = validate_max_results(
            1000 if max_results is None else max_results, MAX_EXPERIMENTS_LISTED_PER_PAGE
        )
        offset = tokens.decode_page_token(page_token)

        query = (filter_string, view_type, tuple(order_by), offset, limit)

        async def op(conn: AsyncConnection) -> ExperimentPage:
            # The UI's experiment list asks the same pages over and over while experiments
            # rarely change: a page read at the current version is served as it was.
            version = await experiments_version(conn)
            cached = self._pages.get(query, version)
            if cached is not None:
                return cached
            found = await search_experiments(
                conn,
                filter_string=filter_string,
                view_type=view_type,
                order_by=order_by,
                offset=offset,
                limit=limit + 1,
            )
            page, token = tokens.split_page(found, offset, limit)
            result = ExperimentPage(orjson.dumps(page), len(page), token)
            query_chars = len(filter_string or "") + sum(map(len, order_by))
            if query_chars <= CACHED_QUERY_CHARS:
                weight = len(result.experiments_json) + query_chars
                self._pages.put(query, version, result, weight)
            return result

        return await self.db.read(op)

    async def rename(self, experiment_id: str | None, new_name: str | None) -> None:
        parsed = parse_experiment_id(experiment_id)
        name = validate_experiment_name(new_name)

        async def op(conn: AsyncConnection) -> None:
            stage = await store.lifecycle_of(conn, parsed)
            if stage is None:
                raise not_found(parsed)
            if stage != ACTIVE:
                raise InvalidParameterValue("Cannot rename a non-active experiment.")
            existing = await store.experiment_id_by_name(conn, name)
            if existing is not None and existing != parsed:
                raise ResourceAlreadyExists(f"Experiment(name={name}) already exists.")
            try:
                await store.rename_experiment(conn, parsed, name, now_ms())
            except sa.exc.IntegrityError:
                raise ResourceAlreadyExists(f"Experiment(name={name}) already exists.") from None

        await self.db.write(op)

    async def delete(self, experiment_id: str | None) -> None:
        await self._set_lifecycle(experiment_id, DELETED)

    async def restore(self, experiment_id: str | None) -> None:
        await self._set_lifecycle(experiment_id, ACTIVE)

    async def _set_lifecycle(self, experiment_id: str | None, stage: str) -> None:
        parsed = parse_experiment_id(experiment_id)

        async def op(conn: AsyncConnection) -> None:
            current = await store.lifecycle_of(conn, parsed)
            if current is None:
                raise not_found(parsed)
            if current == stage:
                # MLflow answers a repeated delete/restore with 404; a no-op keeps retries safe.
                return
            await store.set_experiment_lifecycle(conn, parsed, stage, now_ms())

        await self.db.write(op)

    async def set_tag(self, experiment_id: str | None, key: str | None, value: str) -> None:
        parsed = parse_experiment_id(experiment_id)
        key, value = validate_experiment_tag(key, value)

        async def op(conn: AsyncConnection) -> None:
            await require_active(conn, parsed)
            await store.upsert_experiment_tag(conn, parsed, key, value)

        await self.db.write(op)

    async def delete_tag(self, experiment_id: str | None, key: str) -> None:
        parsed = parse_experiment_id(experiment_id)

        async def op(conn: AsyncConnection) -> None:
            await require_active(conn, parsed)
            if await store.delete_experiment_tag(conn, parsed, key) == 0:
                raise ResourceDoesNotExist(
                    f"No tag with name: {key} in experiment with id {parsed}"
                )

        await self.db.write(op)
