"""Run use cases: create, read, update, lifecycle and search."""

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from tracking.entities import ACTIVE, DELETED, RUN_NAME_TAG, Run, RunInfo
from tracking.errors import InvalidParameterValue, ResourceDoesNotExist
from tracking.search import tokens
from tracking.services import uris
from tracking.services.clock import now_ms
from tracking.services.experiments import not_found
from tracking.services.run_names import generate_run_name
from tracking.services.validation import (
    MAX_USER_ID_LENGTH,
    SEARCH_MAX_RESULTS_DEFAULT,
    limit_length,
    parse_experiment_id,
    validate_max_results,
    validate_run_name,
    validate_tag,
)
from tracking.store import runs as store
from tracking.store.database import Database
from tracking.store.run_lifecycle import ExperimentState, NewRun, RunChange, RunCreates, RunUpdates
from tracking.store.run_search import search_run_ids


@dataclass(frozen=True)
class RunPage:
    runs: list[dict[str, Any]]  # response dicts, Run.to_dict()'s shape
    next_page_token: str | None


def run_not_found(run_id: str) -> ResourceDoesNotExist:
    return ResourceDoesNotExist(f"Run with id={run_id} not found")


async def require_run(conn: AsyncConnection, run_id: str) -> Any:
    state = await store.run_state(conn, run_id)
    if state is None:
        raise run_not_found(run_id)
    return state


async def require_active_run(conn: AsyncConnection, run_id: str) -> Any:
    state = await require_run(conn, run_id)
    check_active(run_id, state.lifecycle_stage)
    return state


def check_active(run_id: str, stage: str | None) -> None:
    """Refuses changing a run that is missing (stage None) or not active."""
    if stage is None:
        raise run_not_found(run_id)
    if stage != ACTIVE:
        raise InvalidParameterValue(
            f"The run {run_id} must be in the 'active' state. Current state is {stage}."
        )


def plan_run(new: NewRun, experiment: ExperimentState) -> RunInfo:
    """The new run's RunInfo, given its experiment's (lifecycle stage, artifact location)."""
    if experiment is None:
        raise not_found(new.experiment_id)
    stage, artifact_location = experiment
    if stage != ACTIVE:
        raise InvalidParameterValue(
            f"The experiment {new.experiment_id} must be in the 'active' state. "
            f"Current state is {stage}."
        )
    return RunInfo(
        run_id=new.run_id,
        experiment_id=new.experiment_id,
        run_name=new.name,
        user_id=new.user_id,
        status="RUNNING",
        start_time=new.start_time,
        end_time=None,
        artifact_uri=uris.join(artifact_location, new.run_id, "artifacts"),
        lifecycle_stage=ACTIVE,
    )


# Batch kinds: creates and updates are group-committed set-based, on SQLite by its direct writer.
RUN_CREATES = RunCreates(plan_run)
RUN_UPDATES = RunUpdates(check_active)


async def load_run(conn: AsyncConnection, run_id: str) -> dict[str, Any]:
    """The run as a response dict (Run.to_dict()'s shape)."""
    found = await store.run_dicts(conn, [run_id])
    if not found:
        raise run_not_found(run_id)
    return found[0]


class RunService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(
        self,
        *,
        experiment_id: str | None,
        user_id: str | None,
        run_name: str | None,
        start_time: int | None,
        tags: list[tuple[str, str]],
    ) -> Run:
        parsed = parse_experiment_id(experiment_id if experiment_id not in (None, "") else None)
        validate_run_name(run_name)
        if user_id is not None:
            limit_length("user_id", MAX_USER_ID_LENGTH, user_id)
        checked = [validate_tag(k, v, f"tags[{i}]") for i, (k, v) in enumerate(tags)]
        named = dict(checked).get(RUN_NAME_TAG)
        if run_name and named and run_name != named:
            raise InvalidParameterValue(
                "Both 'run_name' argument and 'mlflow.runName' tag are specified, but with "
                f"different values (run_name='{run_name}', mlflow.runName='{named}')."
            )
        name = run_name or named or generate_run_name()
        if not named:
            checked.append((RUN_NAME_TAG, name))
        run_tags = dict(checked)  # a repeated key keeps its last value
        new = NewRun(
            run_id=uuid.uuid4().hex,
            experiment_id=parsed,
            name=name,
            user_id=user_id or "",
            start_time=now_ms() if start_time is None else start_time,
            tags=tuple(sorted(run_tags.items())),
        )
        info: RunInfo = await self.db.submit(RUN_CREATES, new)
        return Run(info=info, tags=run_tags)

    async def get(self, run_id: str) -> dict[str, Any]:
        return await self.db.read(lambda conn: load_run(conn, run_id))

    async def update(
        self,
        run_id: str,
        *,
        status: str | None,
        end_time: int | None,
        run_name: str | None,
    ) -> RunInfo:
        validate_run_name(run_name)
        change = RunChange(run_id, status=status, end_time=end_time, name=run_name or None)
        info: RunInfo = await self.db.submit(RUN_UPDATES, change)
        return info

    async def delete(self, run_id: str) -> None:
        await self._set_lifecycle(run_id, DELETED)

    async def restore(self, run_id: str) -> None:
        await self._set_lifecycle(run_id, ACTIVE)

    async def _set_lifecycle(self, run_id: str, stage: str) -> None:
        async def op(conn: AsyncConnection) -> None:
            await require_run(conn, run_id)
            await store.update_run(
                conn,
                run_id,
                lifecycle_stage=stage,
                deleted_time=now_ms() if stage == DELETED else None,
            )

        await self.db.write(op)

    async def search(
        self,
        *,
        experiment_ids: list[str],
        filter_string: str | None,
        view_type: str,
        max_results: int | None,
        order_by: list[str],
        page_token: str | None,
    ) -> RunPage:
        parsed_ids = [parse_experiment_id(e) for e in experiment_ids]
        limit = validate_max_results(
            SEARCH_MAX_RESULTS_DEFAULT if max_results is None else max_results
        )
        offset, seek = tokens.decode_seek_token(page_token)

        async def op(conn: AsyncConnection) -> RunPage:
            if not parsed_ids:
                return RunPage([], None)
            found = await search_run_ids(
                conn,
                experiment_ids=parsed_ids,
                filter_string=filter_string,
                view_type=view_type,
                order_by=order_by,
                offset=offset,
                limit=limit + 1,
                seek=seek,
            )
            token = None
            if len(found) > limit:
                token = tokens.encode_page_token(offset + limit, found[limit - 1].seek)
            page = [f.run_id for f in found[:limit]]
            return RunPage(await store.run_dicts(conn, page), token)

        return await self.db.read(op)
