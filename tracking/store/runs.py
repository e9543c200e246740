"""SQL for runs: rows, lifecycle, and loading pages of runs with their data in one statement."""

import functools
import json
from collections.abc import Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tracking.entities import RunInfo, json_double
from tracking.store import sqlite_reads
from tracking.store.tables import runs


async def run_state(conn: AsyncConnection, run_id: str) -> Any:
    """The run's lifecycle and experiment, or None when it does not exist."""
    result = await conn.execute(
        sa.select(runs.c.run_uuid, runs.c.experiment_id, runs.c.lifecycle_stage).where(
            runs.c.run_uuid == run_id
        )
    )
    return result.first()


async def existing_run_ids(conn: AsyncConnection, ids: Sequence[str]) -> set[str]:
    rows = await conn.execute(sa.select(runs.c.run_uuid).where(runs.c.run_uuid.in_(list(ids))))
    return set(rows.scalars())


async def update_run(conn: AsyncConnection, run_id: str, **values: Any) -> None:
    await conn.execute(sa.update(runs).where(runs.c.run_uuid == run_id).values(**values))


# RunInfo's field order; rows are unpacked by position (named Row access is slow in bulk).
INFO_COLUMNS = (
    runs.c.run_uuid,
    runs.c.experiment_id,
    runs.c.name,
    runs.c.user_id,
    runs.c.status,
    runs.c.start_time,
    runs.c.end_time,
    runs.c.artifact_uri,
    runs.c.lifecycle_stage,
)


async def run_infos(conn: AsyncConnection, ids: Sequence[str]) -> dict[str, RunInfo]:
    rows = await conn.execute(sa.select(*INFO_COLUMNS).where(runs.c.run_uuid.in_(ids)))
    return {row[0]: RunInfo(*row) for row in rows}


async def driver(conn: AsyncConnection) -> Any:
    """The DB-API driver's own connection (asyncpg or aiosqlite) under a SQLAlchemy one.

    Hot read paths fetch through it: SQLAlchemy's async layer costs a few hundred
    microseconds per statement and builds a Row per tuple, more than the queries themselves.
    """
    raw = await conn.get_raw_connection()
    return raw.driver_connection


async def fetch(conn: AsyncConnection, sql: str, *args: Any) -> Sequence[Any]:
    """Rows of a driver-level statement: `$n` parameters on PostgreSQL, `?` on SQLite."""
    native = await driver(conn)
    if conn.dialect.name == "postgresql":
        return await native.fetch(sql, *args)
    async with sqlite_reads.turn():
        return await native.execute_fetchall(sql, args)


def in_ids(dialect: str, column: str, kind: str = "text") -> str:
    """`column` is one of the ids in the statement's one array parameter."""
    if dialect == "postgresql":
        return f"{column} = ANY($1::{kind}[])"
    return f"{column} IN (SELECT value FROM json_each(?1))"


def ids_arg(conn: AsyncConnection, ids: Sequence[Any]) -> Any:
    return list(ids) if conn.dialect.name == "postgresql" else json.dumps(list(ids))


_INFO, _METRIC, _DATASET, _INPUT_TAG, _MODEL_IN, _MODEL_OUT = range(6)
# The row's column types; a None in a branch below is a NULL of its position's type.
_TYPES = ("INTEGER",) + ("TEXT",) * 8 + ("BIGINT",) * 3 + ("DOUBLE PRECISION", "BOOLEAN")
# (FROM, the run id column, the row) of each kind, in kind order. A run's params and tags ride
# on its info row as two JSON arrays (see _key_values).
_BRANCHES: tuple[tuple[str, str, tuple[str | None, ...]], ...] = (
    ("runs", "run_uuid", ("0", "run_uuid", '"name"', "user_id", "status", "artifact_uri",
     "lifecycle_stage", "{params}", "{tags}", "experiment_id", "start_time", "end_time", None,
     None)),
    ("latest_metrics", "run_uuid", ("1", "run_uuid", '"key"', None, None, None, None, None, None,
     '"timestamp"', '"step"', None, '"value"', "is_nan")),
    ("dataset_inputs i JOIN datasets d ON d.dataset_uuid = i.dataset_uuid", "i.run_uuid",
     ("2", "i.run_uuid", 'd."name"', "d.digest", "i.input_uuid", "d.source_type", "d.source",
      'd."schema"', "d.profile", *(None,) * 5)),
    ("input_tags t JOIN dataset_inputs i ON i.input_uuid = t.input_uuid", "i.run_uuid",
     ("3", "i.run_uuid", "t.input_uuid", 't."name"', 't."value"', *(None,) * 9)),
    ("run_model_inputs", "run_uuid", ("4", "run_uuid", "model_id", *(None,) * 11)),
    ("run_model_outputs", "run_uuid", ("5", "run_uuid", "model_id", *(None,) * 6, '"step"',
     *(None,) * 4)),
)  # fmt: skip


def _key_values(dialect: str, table: str) -> str:
    """A run's params or tags as one JSON array of {key, value} by key; NULL when it has none.

    Built by the database: a row per param and tag cost Python ~3 us each to fetch and turn
    into a dict (a page of 50 runs with 5 params and 6 tags each: 5.1 ms from SQL to response
    bytes; 3.3 ms with these arrays, parsed by orjson). Metrics stay rows: SQLite prints
    doubles with 15 digits, and a value must come back exactly.
    """
    if dialect == "postgresql":
        # json_agg of the rows themselves: jsonb_build_object per pair cost PostgreSQL 40% more.
        return (
            f'(SELECT json_agg(x ORDER BY x."key")::text FROM (SELECT "key", "value"'
            f" FROM {table} WHERE run_uuid = runs.run_uuid) x)"
        )
    # The subquery's order is the array's: SQLite aggregates rows in the order they come.
    return (
        f"(SELECT NULLIF(json_group_array(json_object('key', k, 'value', v)), '[]') FROM"
        f' (SELECT x."key" AS k, x."value" AS v FROM {table} x'
        f' WHERE x.run_uuid = runs.run_uuid ORDER BY x."key"))'
    )


def _branch_sql(dialect: str, source: str, run_column: str, row: tuple[str | None, ...]) -> str:
    columns = ", ".join(
        f"CAST(NULL AS {kind})" if column is None else column
        for column, kind in zip(row, _TYPES, strict=True)
    ).format(params=_key_values(dialect, "params"), tags=_key_values(dialect, "tags"))
    if dialect != "postgresql":
        return f"SELECT {columns} FROM {source} WHERE {in_ids(dialect, run_column)}"
    # One index probe per id, whatever the statistics say: on a table not analysed yet (a
    # freshly filled database) PostgreSQL answered "= ANY($1)" with a sequential scan of every
    # table (21 ms a page, 93 ms once the generic plan took over); OFFSET 0 keeps the subquery
    # from being flattened back into a join the planner could reorder.
    return (
        "SELECT x.* FROM unnest($1::text[]) AS k(id) CROSS JOIN LATERAL"
        f" (SELECT {columns} FROM {source} WHERE {run_column} = k.id OFFSET 0) AS x"
    )


@functools.cache
def _page_sql(dialect: str) -> str:
    """Every kind of row of a page of runs in one statement: rows are (kind, run_uuid,
    t1..t7, n1..n3, d, b). Sorted by kind, run and (t1, t2), so metrics come back by key,
    dataset inputs by (name, digest) and model links by model id, the orders MLflow answers
    with (params and tags are sorted inside their arrays). PostgreSQL sorts (its collation
    decides); SQLite's BINARY collation is code point order, Python's own, and sorting in
    Python spares SQLite a temporary B-tree."""
    sql = "\nUNION ALL ".join(_branch_sql(dialect, *branch) for branch in _BRANCHES)
    return sql + "\nORDER BY 1, 2, 3, 4" if dialect == "postgresql" else sql


def _sort_key(row: Sequence[Any]) -> tuple[int, str, str, str]:
    # (t1, t2) is unique within a run and kind wherever t2 may be NULL.
    return row[0], row[1], row[2] or "", row[3] or ""


async def _page_rows(conn: AsyncConnection, ids: Sequence[str]) -> Sequence[Any]:
    unique = list(dict.fromkeys(ids))  # one probe per id: a repeated id would repeat rows
    rows = await fetch(conn, _page_sql(conn.dialect.name), ids_arg(conn, unique))
    return rows if conn.dialect.name == "postgresql" else sorted(rows, key=_sort_key)


async def run_dicts(conn: AsyncConnection, ids: Sequence[str]) -> list[dict[str, Any]]:
    """Runs in the order given, as response dicts (Run.to_dict's shape), in one statement.

    Ids that name no run are left out. Dicts are built straight from the driver's tuples: an
    entity per run, metric and dataset cost more than fetching them.
    """
    if not ids:
        return []
    out: dict[str, dict[str, Any]] = {}
    inputs: dict[str, dict[str, Any]] = {}
    nan = float("nan")
    for kind, run_id, t1, t2, t3, t4, t5, t6, t7, n1, n2, n3, d, b in await _page_rows(conn, ids):
        if kind == _INFO:
            info: dict[str, Any] = {
                "run_id": run_id,
                "run_uuid": run_id,
                "run_name": t1,
                "experiment_id": str(n1),
                "user_id": t2,
                "status": t3,
                "start_time": n2,
                "artifact_uri": t4,
                "lifecycle_stage": t5,
            }
            if n3 is not None:
                info["end_time"] = n3
            data: dict[str, Any] = {}
            if t6 is not None:
                data["params"] = orjson.loads(t6)
            if t7 is not None:
                data["tags"] = orjson.loads(t7)
            out[run_id] = {"info": info, "data": data, "inputs": {}, "outputs": {}}
            continue
        run = out.get(run_id)
        if run is None:
            continue
        if kind == _METRIC:
            value = json_double(nan if b else d)
            run["data"].setdefault("metrics", []).append(
                {"key": t1, "value": value, "timestamp": n1, "step": n2}
            )
        elif kind == _DATASET:
            dataset: dict[str, Any] = {"name": t1, "digest": t2, "source_type": t4, "source": t5}
            if t6 is not None:
                dataset["schema"] = t6
            if t7 is not None:
                dataset["profile"] = t7
            inputs[t3] = {"dataset": dataset}
            run["inputs"].setdefault("dataset_inputs", []).append(inputs[t3])
        elif kind == _INPUT_TAG:
            linked = inputs.get(t1)
            if linked is not None:
                linked.setdefault("tags", []).append({"key": t2, "value": t3})
        elif kind == _MODEL_IN:
            run["inputs"].setdefault("model_inputs", []).append({"model_id": t1})
        else:
            run["outputs"].setdefault("model_outputs", []).append({"model_id": t1, "step": n1})
    return [out[i] for i in ids if i in out]
