"""Many requests' run logging (metrics, params, tags) applied as one set of statements.

The group-commit writer hands every pending RunWrite of a batch to RunWrites, which checks them
all with two reads and then writes the survivors set-based (one statement per table on SQLite,
one statement in all on PostgreSQL), so a batch costs the same handful of round trips whether it
carries one request or hundreds.
"""

import contextlib
import functools
import operator
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tracking.entities import ACTIVE, RUN_NAME_TAG, Metric
from tracking.errors import InvalidParameterValue, MlflowError, ResourceDoesNotExist
from tracking.store.bulk import pg_json_insert, sqlite_insert_sql, sqlite_marks, upsert_clause
from tracking.store.run_data import stored_value
from tracking.store.runs import driver
from tracking.store.tables import latest_metrics, metrics, params, runs, tags

# (table, columns, rows, ON CONFLICT clause)
Insert = tuple[sa.Table, Sequence[str], Sequence[Sequence[Any]], str]
MetricRow = tuple[str, str, int, int, float, int, str | None, str | None, str | None]


@dataclass(frozen=True)
class RunWrite:
    run_id: str
    metrics: Sequence[Metric] = ()
    params: Sequence[tuple[str, str]] = ()
    tags: Sequence[tuple[str, str]] = ()
    # log-parameter and log-batch word a changed-param error differently, as MLflow does.
    single_param: bool = False


class RunWrites:
    """The batch kind the Database groups RunWrite items under.

    `apply` runs on an async connection: on PostgreSQL through the asyncpg connection itself
    (`_apply_pg`), on SQLite through SQLAlchemy (the async writer, for databases the direct
    writer cannot open). `apply_sqlite` is the same batch on a plain sqlite3 connection, called
    in the writer's thread so that the whole transaction costs one hand-off instead of one per
    statement (store/sqlite_writer.py).
    """

    # On PostgreSQL `apply` uses the driver's connection: the Database runs it after the kinds
    # that go through SQLAlchemy, whose open transaction it then joins.
    driver_level = True

    async def apply(
        self, conn: AsyncConnection, items: list[RunWrite], careful: bool
    ) -> list[tuple[bool, Any]]:
        if conn.dialect.name == "postgresql":
            return await _apply_pg(await driver(conn), items)
        # SQLite from here: its async writer holds the database's write lock (BEGIN IMMEDIATE),
        # so the params read below cannot be raced.
        run_ids = sorted({w.run_id for w in items})
        query = sa.select(runs.c.run_uuid, runs.c.lifecycle_stage, runs.c.experiment_id).where(
            runs.c.run_uuid.in_(run_ids)
        )
        errors, experiments = _run_errors(items, (await conn.execute(query)).all())
        wanted = _params_to_check(items, errors)
        if wanted is not None:
            found = await conn.execute(
                sa.select(params.c.run_uuid, params.c.key, params.c.value).where(
                    params.c.run_uuid.in_(wanted[0]), params.c.key.in_(wanted[1])
                )
            )
            _param_errors(items, errors, found.all())
        survivors = [w for w, e in zip(items, errors, strict=True) if e is None]
        if survivors:
            rows = _rows(survivors)
            for table, columns, values, conflict in rows.inserts(experiments):
                await conn.exec_driver_sql(sqlite_insert_sql(table, columns, conflict), values)
            if rows.names:
                await conn.execute(
                    sa.update(runs)
                    .where(runs.c.run_uuid == sa.bindparam("rid"))
                    .values(name=sa.bindparam("name")),
                    [{"rid": r, "name": n} for r, n in rows.names],
                )
        return _outcomes(errors)

    def prepare_sqlite(self, item: RunWrite) -> list[MetricRow]:
        """An item's metric rows, made by the direct writer before it waits for the lock."""
        return [_metric_row(item.run_id, point) for point in item.metrics]

    def apply_sqlite(
        self,
        conn: sqlite3.Connection,
        items: list[RunWrite],
        prepared: list[list[MetricRow]],
    ) -> list[tuple[bool, Any]]:
        """`apply` on a plain sqlite3 connection inside an open transaction (blocking), given
        each item's `prepare_sqlite` rows."""
        run_ids = sorted({w.run_id for w in items})
        found = conn.execute(
            f"SELECT run_uuid, lifecycle_stage, experiment_id FROM runs"
            f" WHERE run_uuid IN ({sqlite_marks(run_ids)})",
            run_ids,
        ).fetchall()
        errors, experiments = _run_errors(items, found)
        wanted = _params_to_check(items, errors)
        if wanted is not None:
            known = conn.execute(
                "SELECT run_uuid, key, value FROM params"
                f" WHERE run_uuid IN ({sqlite_marks(wanted[0])})"
                f" AND key IN ({sqlite_marks(wanted[1])})",
                [*wanted[0], *wanted[1]],
            ).fetchall()
            _param_errors(items, errors, known)
        kept = [i for i, e in enumerate(errors) if e is None]
        if kept:
            rows = _rows([items[i] for i in kept], [prepared[i] for i in kept])
            for table, columns, values, conflict in rows.inserts(experiments):
                conn.executemany(sqlite_insert_sql(table, columns, conflict), values)
            if rows.names:
                conn.executemany(
                    "UPDATE runs SET name = ? WHERE run_uuid = ?", [(n, r) for r, n in rows.names]
                )
        return _outcomes(errors)


async def _apply_pg(conn: Any, items: list[RunWrite]) -> list[tuple[bool, Any]]:
    """`apply` on the asyncpg connection itself (SQLAlchemy's async layer cost ~1 ms of Python
    per statement, most of a log-metric's).

    SQLAlchemy sends BEGIN only before a statement of its own, so statements here run in
    transactions of their own making. A batch without params is one statement: it locks its
    runs, writes the rows of the active ones and returns what it locked, from which each item's
    outcome follows; one round trip and one commit. A batch with params must read the stored
    params under the lock before it knows which items may write, so it takes an explicit
    transaction. Either way a replay after a lost connection is harmless: every write of a
    batch is idempotent (a loss during that transaction's COMMIT is replayed too). In a batch
    that also has generic operations the Database runs this kind last, inside SQLAlchemy's
    open transaction, so the batch still commits once.
    """
    if not any(w.params for w in items):
        found = await conn.fetch(_pg_write_sql(), _run_ids(items), *_pg_args(_rows(items)))
        return _outcomes(_run_errors(items, found)[0])
    # Read committed whatever the server's default: the params read must see what the
    # previous holder of the lock committed.
    own = (
        contextlib.nullcontext()
        if conn.is_in_transaction()
        else conn.transaction(isolation="read_committed")
    )
    async with own:
        errors, _ = _run_errors(items, await conn.fetch(_PG_LOCK_RUNS, _run_ids(items)))
        wanted = _params_to_check(items, errors)
        if wanted is not None:
            _param_errors(items, errors, await conn.fetch(_PG_PARAMS, *wanted))
        survivors = [w for w, e in zip(items, errors, strict=True) if e is None]
        if survivors:
            await conn.fetch(_pg_write_sql(), _run_ids(survivors), *_pg_args(_rows(survivors)))
    return _outcomes(errors)


def _run_ids(items: list[RunWrite]) -> list[str]:
    return sorted({w.run_id for w in items})


def _pg_args(rows: "_Rows") -> list[str]:
    args = [orjson.dumps(values).decode() for _, _, values, _ in rows.tables()]
    args.append(orjson.dumps(rows.names).decode())
    return args


# Runs are locked in id order, so concurrent writers to one run take turns (the params read
# below cannot be raced) and never deadlock each other. NO KEY UPDATE (what an UPDATE of the
# run takes) still lets other transactions insert rows that reference the run.
_PG_LOCK_RUNS = (
    "SELECT run_uuid, lifecycle_stage, experiment_id FROM runs"
    " WHERE run_uuid = ANY($1::text[]) ORDER BY run_uuid FOR NO KEY UPDATE"
)
_PG_PARAMS = (
    "SELECT run_uuid, key, value FROM params"
    " WHERE run_uuid = ANY($1::text[]) AND key = ANY($2::text[])"
)
_LIVE = "e->>0 IN (SELECT run_uuid FROM live)"


@functools.cache
def _pg_write_sql() -> str:
    """The batch's writes as one statement: its runs ($1) locked as _PG_LOCK_RUNS locks them,
    every table's insert a data-modifying CTE over one JSON parameter ($2..., an empty array
    inserts nothing) keeping the rows of active runs, the run names set by mlflow.runName
    tags, and the locked runs returned. The tables are distinct, so no CTE needs to see
    another's rows; every latest metric takes its run's experiment from the lock."""
    experiment = "(SELECT experiment_id FROM live WHERE live.run_uuid = e->>0)"
    parts = [
        f"locked AS MATERIALIZED ({_PG_LOCK_RUNS})",
        f"live AS MATERIALIZED (SELECT run_uuid, experiment_id FROM locked"
        f" WHERE lifecycle_stage = '{ACTIVE}')",
    ]
    for number, (table, columns, _, conflict) in enumerate(_Rows([], [], [], [], []).tables(), 2):
        computed = [("experiment_id", experiment)] if table is latest_metrics else []
        insert = pg_json_insert(table, columns, conflict, number, where=_LIVE, computed=computed)
        parts.append(f"new_{table.name} AS ({insert})")
    parts.append(
        f"new_names AS (UPDATE runs SET name = e->>1"
        f" FROM jsonb_array_elements(${len(parts)}::jsonb) AS e"
        f" WHERE runs.run_uuid = e->>0 AND {_LIVE})"
    )
    return f"WITH {', '.join(parts)} SELECT run_uuid, lifecycle_stage, experiment_id FROM locked"


def _outcomes(errors: list[MlflowError | None]) -> list[tuple[bool, Any]]:
    return [(True, None) if e is None else (False, e) for e in errors]


def _run_errors(
    items: list[RunWrite], found: Sequence[Sequence[Any]]
) -> tuple[list[MlflowError | None], dict[str, int]]:
    """An error (or None) per item from the (run_id, stage, experiment_id) rows found, and
    the experiment of every run found."""
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
    return errors, experiments


def _params_to_check(
    items: list[RunWrite], errors: list[MlflowError | None]
) -> tuple[list[str], list[str]] | None:
    """The (run ids, keys) whose stored params the batch's params must agree with, if any."""
    candidates = [w for w, e in zip(items, errors, strict=True) if e is None and w.params]
    if not candidates:
        return None
    keys = sorted({k for w in candidates for k, _ in w.params})
    return sorted({w.run_id for w in candidates}), keys


def _param_errors(
    items: list[RunWrite], errors: list[MlflowError | None], found: Sequence[Sequence[Any]]
) -> None:
    """Params are write-once: the same value again is a no-op, a different one an error."""
    known: dict[tuple[str, str], str] = {(r, k): v for r, k, v in found}
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
_LATEST_COLUMNS = ("run_uuid", "key", "step", "timestamp", "value", "is_nan")
# The value shown in RunData.metrics only moves to a greater (step, timestamp, value): MLflow's
# rule, applied inside the upsert so concurrent batches cannot move it backwards.
_RAISE_LATEST = (
    upsert_clause(latest_metrics, ["run_uuid", "key"], ["step", "timestamp", "value", "is_nan"])
    + ' WHERE (EXCLUDED."step", EXCLUDED."timestamp", EXCLUDED."value")'
    + ' > ("latest_metrics"."step", "latest_metrics"."timestamp", "latest_metrics"."value")'
)
# A tag keeps the last value written (run logging and renaming runs alike).
SET_TAGS = upsert_clause(tags, ["run_uuid", "key"], ["value"])

# A point without model or dataset (most of them) is inserted without those columns: binding
# None costs sqlite3 an adapter lookup per value (see stored_value).
_PLAIN_METRIC_COLUMNS = _METRIC_COLUMNS[:6]


class _Rows(NamedTuple):
    params: list[tuple[str, str, str]]
    metrics: list[MetricRow]
    latest: list[tuple[str, str, int, int, float, int]]
    tags: list[tuple[str, str, str]]
    names: list[tuple[str, str]]  # (run_id, name) for mlflow.runName tags

    def tables(self, experiments: dict[str, int] | None = None) -> list[Insert]:
        """(table, columns, rows, ON CONFLICT clause) of every table's insert, in order.

        A latest metric row carries its run's experiment when `experiments` is given (SQLite);
        PostgreSQL's statement takes it from the runs it locks."""
        latest_columns: Sequence[str] = _LATEST_COLUMNS
        latest: Sequence[Sequence[Any]] = self.latest
        if experiments is not None:
            latest_columns = (*_LATEST_COLUMNS, "experiment_id")
            latest = [(*row, experiments[row[0]]) for row in self.latest]
        return [
            (params, ("run_uuid", "key", "value"), self.params, "ON CONFLICT DO NOTHING"),
            (metrics, _METRIC_COLUMNS, self.metrics, "ON CONFLICT DO NOTHING"),
            (latest_metrics, latest_columns, latest, _RAISE_LATEST),
            (tags, ("run_uuid", "key", "value"), self.tags, SET_TAGS),
        ]

    def inserts(self, experiments: dict[str, int]) -> list[Insert]:
        """The inserts that have rows (SQLite's), metrics split by whether they name a model
        or dataset."""
        out: list[Insert] = []
        for table, columns, rows, conflict in self.tables(experiments):
            if table is metrics:
                plain, named = _split_named(self.metrics)
                if named:
                    out.append((table, columns, named, conflict))
                columns, rows = _PLAIN_METRIC_COLUMNS, plain
            if rows:
                out.append((table, columns, rows, conflict))
        return out


def _split_named(rows: list[MetricRow]) -> tuple[list[Sequence[Any]], list[MetricRow]]:
    """(the first six columns of rows naming no model or dataset, the rows that name one)."""
    plain: list[Sequence[Any]] = []
    named: list[MetricRow] = []
    for row in rows:
        if row[6] is None and row[7] is None and row[8] is None:
            plain.append(row[:6])
        else:
            named.append(row)
    return plain, named


def _rows(items: list[RunWrite], prepared: list[list[MetricRow]] | None = None) -> _Rows:
    """Every table's rows for `items`; `prepared` holds each item's metric rows if made."""
    param_rows: dict[tuple[str, str], str] = {}
    tag_rows: dict[tuple[str, str], str] = {}
    metric_rows: list[MetricRow] = []
    for index, write in enumerate(items):
        run_id = write.run_id
        for key, value in write.params:
            param_rows.setdefault((run_id, key), value)
        for key, value in write.tags:
            tag_rows[(run_id, key)] = value  # last writer wins
        if prepared is not None:
            metric_rows.extend(prepared[index])
        else:
            metric_rows.extend(_metric_row(run_id, point) for point in write.metrics)
    # Rows go in one total order (run, key, then MLflow's rank for the value shown in
    # RunData.metrics: step, timestamp, value; descending) so two transactions touching the same
    # rows lock them in the same order and cannot deadlock each other. Each (run, key)'s first
    # row is then its latest, the earliest sent among equals (the sort is stable), as MLflow
    # keeps the first of equally ranked points.
    metric_rows.sort(key=_ORDER, reverse=True)
    latest = {(m[0], m[1]): m for m in reversed(metric_rows)}
    return _Rows(
        params=[(*k, v) for k, v in sorted(param_rows.items())],
        metrics=metric_rows,
        latest=[(r[0], r[1], r[3], r[2], r[4], r[5]) for r in latest.values()],
        tags=[(*k, v) for k, v in sorted(tag_rows.items())],
        names=[(r, v) for (r, k), v in sorted(tag_rows.items()) if k == RUN_NAME_TAG],
    )


_ORDER = operator.itemgetter(0, 1, 3, 2, 4)


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
