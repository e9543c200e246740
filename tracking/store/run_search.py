"""search_runs as one SELECT of run ids: filters as correlated EXISTS, orders as outer joins.

The statement is compiled once per query shape and run on the driver's own connection.
"""

import functools
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tracking.entities import DATASET_CONTEXT_TAG
from tracking.errors import InvalidParameterValue
from tracking.search.comparators import compare
from tracking.search.filters import Comparison
from tracking.search.ordering import OrderKey, parse_run_order_by
from tracking.search.run_filters import parse_run_filter
from tracking.store.runs import fetch
from tracking.store.tables import (
    dataset_inputs,
    datasets,
    input_tags,
    latest_metrics,
    params,
    runs,
    tags,
)

VIEW_STAGES = {
    "ACTIVE_ONLY": ("active",),
    "DELETED_ONLY": ("deleted",),
    "ALL": ("active", "deleted"),
}
_ATTRIBUTE_COLUMNS = {
    "run_id": runs.c.run_uuid,
    # runs.name is kept in step with the mlflow.runName tag, so it answers run_name alone.
    "run_name": runs.c.name,
    "status": runs.c.status,
    "user_id": runs.c.user_id,
    "artifact_uri": runs.c.artifact_uri,
    "start_time": runs.c.start_time,
    "end_time": runs.c.end_time,
}
_KEYED_TABLES = {"metric": latest_metrics, "param": params, "tag": tags}


def stages_for(view_type: str) -> tuple[str, ...]:
    try:
        return VIEW_STAGES[view_type]
    except KeyError:
        raise InvalidParameterValue(f"Invalid view_type '{view_type}'") from None


def _exists(*where: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
    return sa.exists().where(*where)


def _keyed_filter(c: Comparison) -> sa.ColumnElement[bool]:
    table = _KEYED_TABLES[c.kind]
    owned = (table.c.run_uuid == runs.c.run_uuid, table.c.key == c.key)
    if c.op in ("IS NULL", "IS NOT NULL"):
        found = _exists(*owned)
        return ~found if c.op == "IS NULL" else found
    matches = compare(table.c.value, c.op, c.value)
    if c.kind == "metric":
        # NaN is stored as value=0, is_nan=true. Every comparison with NaN is false except
        # "!=", so the placeholder 0 must never satisfy a numeric filter.
        nan = table.c.is_nan == sa.true()
        matches = sa.or_(matches, nan) if c.op == "!=" else sa.and_(matches, ~nan)
    return _exists(*owned, matches)


def _dataset_filter(c: Comparison) -> sa.ColumnElement[bool]:
    if c.key == "context":
        return _exists(
            dataset_inputs.c.run_uuid == runs.c.run_uuid,
            input_tags.c.input_uuid == dataset_inputs.c.input_uuid,
            input_tags.c.name == DATASET_CONTEXT_TAG,
            compare(input_tags.c.value, c.op, c.value),
        )
    return _exists(
        dataset_inputs.c.run_uuid == runs.c.run_uuid,
        datasets.c.dataset_uuid == dataset_inputs.c.dataset_uuid,
        compare(datasets.c[c.key], c.op, c.value),
    )


def run_filter(c: Comparison) -> sa.ColumnElement[bool]:
    """One clause as a WHERE condition on `runs`; each clause is independent of the others."""
    if c.kind == "attribute":
        return compare(_ATTRIBUTE_COLUMNS[c.key], c.op, c.value)
    if c.kind == "dataset":
        return _dataset_filter(c)
    return _keyed_filter(c)


def run_ordering(
    keys: tuple[OrderKey, ...],
) -> tuple[sa.FromClause, list[sa.ColumnElement[Any]]]:
    """The FROM (runs plus one outer join per metric/param/tag key) and ORDER BY terms.

    Like MLflow, each key sorts first on a "missing" class so that runs without the value come
    last in either direction, and NaN metrics sit between the numbers and the missing ones.
    """
    source: sa.FromClause = runs
    terms: list[sa.ColumnElement[Any]] = []
    for i, k in enumerate(keys):
        if k.kind == "attribute":
            value: sa.ColumnElement[Any] = _ATTRIBUTE_COLUMNS[k.key]
            missing = sa.case((value.is_(None), 1), else_=0)
        else:
            joined = _KEYED_TABLES[k.kind].alias(f"order_{i}")
            source = source.outerjoin(
                joined, sa.and_(joined.c.run_uuid == runs.c.run_uuid, joined.c.key == k.key)
            )
            value = joined.c.value
            if k.kind == "metric":
                missing = sa.case((joined.c.is_nan == sa.true(), 1), (value.is_(None), 2), else_=0)
            else:
                missing = sa.case((value.is_(None), 1), else_=0)
        if k.kind != "attribute" or k.key == "end_time":
            terms.append(missing)  # the other attribute columns are NOT NULL
        terms.append(value.asc() if k.ascending else value.desc())
    return source, terms


class DriverStatement(NamedTuple):
    """A statement compiled once for the driver: SQL text, parameter order, default values
    (already through the dialect's bind processors) and the processor of each position."""

    sql: str
    names: tuple[str, ...]
    defaults: dict[str, Any]
    processors: tuple[Callable[[Any], Any] | None, ...]

    def args(self, **values: Any) -> list[Any]:
        """Positional arguments, `values` overriding the defaults (e.g. ids, offset, limit)."""
        defaults = self.defaults
        out = []
        for name, process in zip(self.names, self.processors, strict=True):
            if name not in values:
                out.append(defaults[name])
            else:
                value = values[name]
                out.append(value if process is None else process(value))
        return out


def driver_statement(stmt: sa.Select[Any], dialect: sa.Dialect) -> DriverStatement:
    """`stmt` compiled for the driver (`$n` on asyncpg, `?` on sqlite3), IN lists expanded,
    with the dialect's bind processors (e.g. SQLite's float coercion of a DOUBLE literal)."""
    compiled = stmt.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    # Scalar binds only (no tuple IN), so each processor is a plain callable.
    known = cast(dict[str, Callable[[Any], Any]], compiled._bind_processors)
    names = tuple(compiled.positiontup or ())

    def processor(name: str) -> Callable[[Any], Any] | None:
        if name in known:
            return known[name]
        # An expanded IN list binds name_1, name_2, ...: the processor is its parameter's.
        base = name.rpartition("_")[0]
        bind = compiled.binds.get(base)
        return known.get(base) if bind is not None and bind.expanding else None

    processors = tuple(processor(n) for n in names)
    defaults = dict(compiled.params)
    for name, process in zip(names, processors, strict=True):
        if process is not None and defaults.get(name) is not None:
            defaults[name] = process(defaults[name])
    return DriverStatement(compiled.string, names, defaults, processors)


async def run_statement(
    conn: AsyncConnection, statement: DriverStatement, **values: Any
) -> Sequence[Any]:
    return await fetch(conn, statement.sql, *statement.args(**values))


@functools.lru_cache(maxsize=512)
def _search_statement(
    dialect: sa.Dialect,
    filter_string: str | None,
    view_type: str,
    order_by: tuple[str, ...],
    experiments: int,
) -> DriverStatement:
    """The compiled search for one (filter, view, order, number of experiments).

    Building and compiling the statement costs more than a simple search itself; clients
    repeat the same few queries (the UI's default, a saved filter), so they are cached.
    """
    stages = stages_for(view_type)
    clauses = parse_run_filter(filter_string)
    source, terms = run_ordering(parse_run_order_by(list(order_by)))
    ids = sa.bindparam(
        "experiment_ids", [0] * experiments, expanding=True, type_=runs.c.experiment_id.type
    )
    stmt = (
        sa.select(runs.c.run_uuid)
        .select_from(source)
        .where(
            runs.c.experiment_id.in_(ids),
            runs.c.lifecycle_stage.in_(stages),
            *(run_filter(c) for c in clauses),
        )
        .order_by(*terms)
        .offset(sa.bindparam("offset", 0, type_=sa.BigInteger))
        .limit(sa.bindparam("limit", 0, type_=sa.BigInteger))
    )
    return driver_statement(stmt, dialect)


async def search_run_ids(
    conn: AsyncConnection,
    *,
    experiment_ids: list[int],
    filter_string: str | None,
    view_type: str,
    order_by: list[str],
    offset: int,
    limit: int,
) -> list[str]:
    """The ids of one page of matching runs, in MLflow's search_runs order."""
    if not experiment_ids:
        # Still validated: a malformed filter is an error even when nothing is searched.
        stages_for(view_type)
        parse_run_filter(filter_string)
        parse_run_order_by(order_by)
        return []
    statement = _search_statement(
        conn.dialect, filter_string, view_type, tuple(order_by), len(experiment_ids)
    )
    values = {f"experiment_ids_{i}": e for i, e in enumerate(experiment_ids, start=1)}
    rows = await run_statement(conn, statement, offset=offset, limit=limit, **values)
    return [row[0] for row in rows]
