"""Creating runs and updating them (status, end time, name) as batch kinds.

As generic operations, runs/create and runs/update ran their three or four statements on
SQLite's async writer one loop hand-off at a time while holding the database's write lock:
12-14 ms per transaction under load, most of the lock's time in the lifecycle benchmark. As
kinds, a batch of them is checked with one read and written with one statement per table, on
the direct writer's thread on a SQLite file (`apply_sqlite`) and through SQLAlchemy elsewhere
(`apply`). The rules (which experiment may get a run, what the new run's RunInfo is, which
run may change) stay with the service, which hands them in as `plan` and `check`.
"""

import dataclasses
import operator
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tracking.entities import RUN_NAME_TAG, RunInfo
from tracking.errors import MlflowError
from tracking.store.bulk import sqlite_insert_sql, sqlite_marks
from tracking.store.dialect import upsert
from tracking.store.outcomes import Outcome
from tracking.store.run_writes import SET_TAGS
from tracking.store.runs import INFO_COLUMNS, run_infos
from tracking.store.tables import experiments, runs, tags


@dataclass(frozen=True)
class NewRun:
    run_id: str
    experiment_id: int
    name: str
    user_id: str
    start_time: int
    tags: tuple[tuple[str, str], ...]  # one value per key


@dataclass(frozen=True)
class RunChange:
    run_id: str
    status: str | None = None
    end_time: int | None = None
    name: str | None = None


# (lifecycle_stage, artifact_location) of the experiment a run is created in, None if missing.
ExperimentState = tuple[str, str] | None
# The new run's RunInfo, or raises the MlflowError that refuses it.
PlanRun = Callable[[NewRun, ExperimentState], RunInfo]
# Raises the MlflowError that refuses changing a run in this lifecycle stage (None: missing).
CheckRun = Callable[[str, str | None], None]

# RunInfo's fields are the runs columns, in order (INFO_COLUMNS).
_RUN_COLUMNS = tuple(column.name for column in INFO_COLUMNS)
_run_row = operator.attrgetter(*(field.name for field in dataclasses.fields(RunInfo)))
_TAG_COLUMNS = ("run_uuid", "key", "value")
_SQLITE_UPDATE = (
    "UPDATE runs SET status = coalesce(?, status), end_time = coalesce(?, end_time),"
    " name = coalesce(?, name) WHERE run_uuid = ?"
)


class RunCreates:
    """New runs with their tags; each outcome is the run's RunInfo."""

    def __init__(self, plan: PlanRun) -> None:
        self._plan = plan

    async def apply(
        self, conn: AsyncConnection, items: list[NewRun], careful: bool
    ) -> list[Outcome]:
        ids = sorted({new.experiment_id for new in items})
        found = await conn.execute(
            sa.select(
                experiments.c.experiment_id,
                experiments.c.lifecycle_stage,
                experiments.c.artifact_location,
            ).where(experiments.c.experiment_id.in_(ids))
        )
        outcomes, run_rows, tag_rows = self._planned(items, found.all())
        if run_rows:
            await conn.execute(sa.insert(runs), _dicts(_RUN_COLUMNS, run_rows))
        if tag_rows:
            await conn.execute(sa.insert(tags), _dicts(_TAG_COLUMNS, tag_rows))
        return outcomes

    def apply_sqlite(
        self, conn: sqlite3.Connection, items: list[NewRun], prepared: list[Any]
    ) -> list[Outcome]:
        """`apply` on the direct writer's sqlite3 connection, inside its transaction."""
        ids = sorted({new.experiment_id for new in items})
        found = conn.execute(
            "SELECT experiment_id, lifecycle_stage, artifact_location FROM experiments"
            f" WHERE experiment_id IN ({sqlite_marks(ids)})",
            ids,
        ).fetchall()
        outcomes, run_rows, tag_rows = self._planned(items, found)
        if run_rows:
            conn.executemany(sqlite_insert_sql(runs, _RUN_COLUMNS, ""), run_rows)
        if tag_rows:
            conn.executemany(sqlite_insert_sql(tags, _TAG_COLUMNS, ""), tag_rows)
        return outcomes

    def _planned(
        self, items: list[NewRun], found: Sequence[Sequence[Any]]
    ) -> tuple[list[Outcome], list[tuple[Any, ...]], list[tuple[str, str, str]]]:
        """Each item's outcome, and the run and tag rows of those the plan accepts."""
        states = {row[0]: (row[1], row[2]) for row in found}
        outcomes: list[Outcome] = []
        run_rows: list[tuple[Any, ...]] = []
        tag_rows: list[tuple[str, str, str]] = []
        for new in items:
            try:
                info = self._plan(new, states.get(new.experiment_id))
            except MlflowError as exc:
                outcomes.append((False, exc))
                continue
            outcomes.append((True, info))
            run_rows.append(_run_row(info))
            tag_rows.extend((info.run_id, key, value) for key, value in new.tags)
        return outcomes, run_rows, tag_rows


class RunUpdates:
    """Status, end time and name changes; each outcome is the run's RunInfo after the batch.

    A change names only what it sets: the UPDATE keeps every other column, so concurrent
    changes of different fields (from other processes, on PostgreSQL) are not lost.
    """

    def __init__(self, check: CheckRun) -> None:
        self._check = check

    async def apply(
        self, conn: AsyncConnection, items: list[RunChange], careful: bool
    ) -> list[Outcome]:
        ids = sorted({change.run_id for change in items})
        # Locked in id order (as run logging locks them) until the batch commits, so the
        # lifecycle checked is the one updated; a no-op on SQLite, which holds its write lock.
        found = await conn.execute(
            sa.select(runs.c.run_uuid, runs.c.lifecycle_stage)
            .where(runs.c.run_uuid.in_(ids))
            .order_by(runs.c.run_uuid)
            .with_for_update(key_share=True)
        )
        errors, kept = self._checked(items, found.all())
        if not kept:
            return _outcomes(items, errors, {})
        await conn.execute(
            sa.update(runs)
            .where(runs.c.run_uuid == sa.bindparam("b_run"))
            .values(
                status=sa.func.coalesce(sa.bindparam("b_status"), runs.c.status),
                end_time=sa.func.coalesce(sa.bindparam("b_end"), runs.c.end_time),
                name=sa.func.coalesce(sa.bindparam("b_name"), runs.c.name),
            ),
            [
                {"b_run": c.run_id, "b_status": c.status, "b_end": c.end_time, "b_name": c.name}
                for c in kept
            ],
        )
        named = _name_tags(kept)
        if named:
            statement = upsert(conn, tags, ["run_uuid", "key"], ["value"])
            await conn.execute(statement, _dicts(_TAG_COLUMNS, named))
        infos = await run_infos(conn, sorted({c.run_id for c in kept}))
        return _outcomes(items, errors, infos)

    def apply_sqlite(
        self, conn: sqlite3.Connection, items: list[RunChange], prepared: list[Any]
    ) -> list[Outcome]:
        """`apply` on the direct writer's sqlite3 connection, inside its transaction."""
        ids = sorted({change.run_id for change in items})
        found = conn.execute(
            f"SELECT run_uuid, lifecycle_stage FROM runs WHERE run_uuid IN ({sqlite_marks(ids)})",
            ids,
        ).fetchall()
        errors, kept = self._checked(items, found)
        if not kept:
            return _outcomes(items, errors, {})
        conn.executemany(_SQLITE_UPDATE, [(c.status, c.end_time, c.name, c.run_id) for c in kept])
        named = _name_tags(kept)
        if named:
            conn.executemany(sqlite_insert_sql(tags, _TAG_COLUMNS, SET_TAGS), named)
        changed = sorted({c.run_id for c in kept})
        rows = conn.execute(
            f"SELECT {_INFO_SELECT} FROM runs WHERE run_uuid IN ({sqlite_marks(changed)})", changed
        ).fetchall()
        return _outcomes(items, errors, {row[0]: RunInfo(*row) for row in rows})

    def _checked(
        self, items: list[RunChange], found: Sequence[Sequence[Any]]
    ) -> tuple[list[MlflowError | None], list[RunChange]]:
        """The error refusing each item (or None), and the items that may be applied."""
        stages = {row[0]: row[1] for row in found}
        errors: list[MlflowError | None] = []
        for change in items:
            try:
                self._check(change.run_id, stages.get(change.run_id))
            except MlflowError as exc:
                errors.append(exc)
                continue
            errors.append(None)
        return errors, [c for c, e in zip(items, errors, strict=True) if e is None]


_INFO_SELECT = ", ".join(f'"{name}"' for name in _RUN_COLUMNS)


def _name_tags(changes: list[RunChange]) -> list[tuple[str, str, str]]:
    """The mlflow.runName tag rows of renaming changes, the last of a run's winning."""
    names = {c.run_id: c.name for c in changes if c.name}
    return [(run_id, RUN_NAME_TAG, name) for run_id, name in sorted(names.items())]


def _outcomes(
    items: list[RunChange], errors: list[MlflowError | None], infos: dict[str, RunInfo]
) -> list[Outcome]:
    return [
        (False, error) if error is not None else (True, infos[change.run_id])
        for change, error in zip(items, errors, strict=True)
    ]


def _dicts(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    return [dict(zip(columns, row, strict=True)) for row in rows]
