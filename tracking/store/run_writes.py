"""Many requests' run logging (metrics, params, tags) applied as one set of statements.

The group-commit writer hands every pending RunWrite of a batch to apply_run_writes, which
checks them all with two reads and then writes the survivors with one statement per table, so
a batch costs the same handful of round trips whether it carries one request or hundreds.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tracking.entities import ACTIVE, RUN_NAME_TAG, Metric
from tracking.errors import InvalidParameterValue, MlflowError, ResourceDoesNotExist
from tracking.store.bulk import insert_rows, upsert_clause
from tracking.store.run_data import stored_value
from tracking.store.tables import latest_metrics, metrics, params, runs, tags


@dataclass(frozen=True)
class RunWrite:
    run_id: str
    metrics: Sequence[Metric] = ()
    params: Sequence[tuple[str, str]] = ()
    tags: Sequence[tuple[str, str]] = ()
    # log-parameter and log-batch word a changed-param error differently, as MLflow does.
    single_param: bool = False


class RunWrites:
    """The batch kind the Database groups RunWrite items under."""

    async def apply(
        self, conn: AsyncConnection, items: list[RunWrite], careful: bool
    ) -> list[tuple[bool, Any]]:
        errors, experiments = await _check(conn, items)
        survivors = [w for w, e in zip(items, errors, strict=True) if e is None]
        if survivors:
            await _write(conn, survivors, experiments)
        return [(True, None) if e is None else (False, e) for e in errors]


async def _check(
    conn: AsyncConnection, items: list[RunWrite]
) -> tuple[list[MlflowError | None], dict[str, int]]:
    """An error (or None) per item, and the experiment of every run found."""
    run_ids = sorted({w.run_id for w in items})
    # FOR UPDATE (PostgreSQL) makes concurrent writers to one run take turns, so the params
    # read below cannot be raced; rows are locked in run id order to avoid deadlocks.
    query = (
        sa.select(runs.c.run_uuid, runs.c.lifecycle_stage, runs.c.experiment_id)
        .where(runs.c.run_uuid.in_(run_ids))
        .order_by(runs.c.run_uuid)
        .with_for_update()
    )
    found = (await conn.execute(query)).all()
    stages = {run_id: stage for run_id, stage, _ in found}
    experiments = {run_id: experiment_id for run_id, _, experiment_id in found}
    errors: list[MlflowError | None] = []
    for write in items:
        stage = stages.get(write.run_id)
        if stage is None:
            errors.append(ResourceDoesNotExist(f"Run with id={write.run_id} not found"))
        elif stage != ACTIVE:
            errors.append(
                InvalidParameterValue(
                    f"The run {write.run_id} must be in the 'active' state. "
                    f"Current state is {stage}."
                )
            )
        else:
            errors.append(None)
    await _check_params(conn, items, errors)
    return errors, experiments


async def _check_params(
    conn: AsyncConnection, items: list[RunWrite], errors: list[MlflowError | None]
) -> None:
    """Params are write-once: the same value again is a no-op, a different one an error."""
    candidates = [w for w, e in zip(items, errors, strict=True) if e is None and w.params]
    if not candidates:
        return
    keys = sorted({k for w in candidates for k, _ in w.params})
    run_ids = sorted({w.run_id for w in candidates})
    found = await conn.execute(
        sa.select(params.c.run_uuid, params.c.key, params.c.value).where(
            params.c.run_uuid.in_(run_ids), params.c.key.in_(keys)
        )
    )
    known: dict[tuple[str, str], str] = {(r, k): v for r, k, v in found.all()}
    for index, write in enumerate(items):
        if errors[index] is not None or not write.params:
            continue
        conflicts = {
            k: known[(write.run_id, k)]
            for k, v in write.params
            if (write.run_id, k) in known and known[(write.run_id, k)] != v
        }
        if conflicts:
            errors[index] = _conflict_error(write, conflicts)
            continue
        for key, value in write.params:
            known.setdefault((write.run_id, key), value)  # later requests in the batch see it


def _conflict_error(write: RunWrite, conflicts: dict[str, str]) -> InvalidParameterValue:
    wanted = dict(write.params)
    if write.single_param:
        key, old = next(iter(conflicts.items()))
        return InvalidParameterValue(
            f"Changing param values is not allowed. Param with key='{key}' was already"
            f" logged with value='{old}' for run ID='{write.run_id}'. Attempted logging new"
            f" value '{wanted[key]}'."
        )
    mismatched = [{"key": k, "old_value": v, "new_value": wanted[k]} for k, v in conflicts.items()]
    return InvalidParameterValue(
        "Changing param values is not allowed. Params were already"
        f" logged='{mismatched}' for run ID='{write.run_id}'."
    )


_METRIC_COLUMNS = (
    "run_uuid",
    "key",
    "timestamp",
    "step",
    "value",
    "is_nan",
    "model_id",
    "dataset_name",
    "dataset_digest",
)
_LATEST_COLUMNS = ("run_uuid", "key", "step", "timestamp", "value", "is_nan", "experiment_id")
# The value shown in RunData.metrics only moves to a greater (step, timestamp, value): MLflow's
# rule, applied inside the upsert so concurrent batches cannot move it backwards.
_RAISE_LATEST = (
    upsert_clause(latest_metrics, ["run_uuid", "key"], ["step", "timestamp", "value", "is_nan"])
    + ' WHERE (EXCLUDED."step", EXCLUDED."timestamp", EXCLUDED."value")'
    + ' > ("latest_metrics"."step", "latest_metrics"."timestamp", "latest_metrics"."value")'
)
_SET_TAGS = upsert_clause(tags, ["run_uuid", "key"], ["value"])

MetricRow = tuple[str, str, int, int, float, bool, str | None, str | None, str | None]


async def _write(conn: AsyncConnection, items: list[RunWrite], experiments: dict[str, int]) -> None:
    param_rows: dict[tuple[str, str], str] = {}
    tag_rows: dict[tuple[str, str], str] = {}
    metric_rows: list[MetricRow] = []
    latest: dict[tuple[str, str], MetricRow] = {}
    for write in items:
        for key, value in write.params:
            param_rows.setdefault((write.run_id, key), value)
        for key, value in write.tags:
            tag_rows[(write.run_id, key)] = value  # last writer wins
        for point in write.metrics:
            row = _metric_row(write.run_id, point)
            metric_rows.append(row)
            best = latest.get((write.run_id, point.key))
            if best is None or _rank(row) > _rank(best):
                latest[(write.run_id, point.key)] = row
    # Rows go in key order so two transactions touching the same rows lock them in the same
    # order and cannot deadlock each other.
    if param_rows:
        await insert_rows(
            conn,
            params,
            ("run_uuid", "key", "value"),
            [(*k, v) for k, v in sorted(param_rows.items())],
        )
    if metric_rows:
        metric_rows.sort(key=lambda m: (m[0], m[1], m[2], m[3]))
        await insert_rows(conn, metrics, _METRIC_COLUMNS, metric_rows)
        await insert_rows(
            conn,
            latest_metrics,
            _LATEST_COLUMNS,
            [
                (r[0], r[1], r[3], r[2], r[4], r[5], experiments[r[0]])
                for _, r in sorted(latest.items())
            ],
            conflict=_RAISE_LATEST,
        )
    if tag_rows:
        await insert_rows(
            conn,
            tags,
            ("run_uuid", "key", "value"),
            [(*k, v) for k, v in sorted(tag_rows.items())],
            conflict=_SET_TAGS,
        )
        names = [
            {"rid": r, "name": v} for (r, k), v in sorted(tag_rows.items()) if k == RUN_NAME_TAG
        ]
        if names:
            await conn.execute(
                sa.update(runs)
                .where(runs.c.run_uuid == sa.bindparam("rid"))
                .values(name=sa.bindparam("name")),
                names,
            )


def _metric_row(run_id: str, point: Metric) -> MetricRow:
    value, is_nan = stored_value(point.value)
    return (
        run_id,
        point.key,
        point.timestamp,
        point.step,
        value,
        is_nan,
        point.model_id,
        point.dataset_name,
        point.dataset_digest,
    )


def _rank(row: MetricRow) -> tuple[int, int, float]:
    # MLflow's rule for the value shown in RunData.metrics: (step, timestamp, value).
    return (row[3], row[2], row[4])
