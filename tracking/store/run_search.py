"""search_runs as SELECTs of run ids: filters as correlated EXISTS, orders as outer joins.

A search ordered first by a metric runs in two parts. The runs with a (non-NaN) value of that
metric come first in MLflow's order, and they are read by walking latest_metrics' index on
(experiment_id, key, is_nan, value) in order, so a page costs about offset + limit index steps
instead of a sort of every candidate run. Only when the page reaches past them does the second
part (runs with NaN or no value) run, as the general statement with that condition added.

Statements are compiled once per query shape and run on the driver's own connection.
"""

import functools
import math
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, NamedTuple, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import UnaryExpression
from sqlalchemy.sql.operators import custom_op

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
    keys: tuple[OrderKey, ...], source: sa.FromClause = runs
) -> tuple[sa.FromClause, list[sa.ColumnElement[Any]]]:
    """The FROM (`source` plus one outer join per metric/param/tag key) and ORDER BY terms.

    Like MLflow, each key sorts first on a "missing" class so that runs without the value come
    last in either direction, and NaN metrics sit between the numbers and the missing ones.
    """
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


# The parts of a search ordered first by a metric; "all" is any other search.
ALL, RANKED, RANKED_COUNT, UNRANKED, BOUND = "all", "ranked", "ranked-count", "unranked", "bound"
# MLflow's tie-breaks; a metric followed by only these can resume a page after a known run.
_TIES = (OrderKey("attribute", "start_time", False), OrderKey("attribute", "run_id", True))


class Found(NamedTuple):
    run_id: str
    # Where a page starting after this run resumes without OFFSET (see `after` below), if it can.
    seek: list[Any] | None


def _has_value(key: str) -> sa.ColumnElement[bool]:
    return _exists(
        latest_metrics.c.run_uuid == runs.c.run_uuid,
        latest_metrics.c.key == key,
        latest_metrics.c.is_nan == sa.false(),
    )


def _outer_only(column: sa.ColumnElement[Any], dialect: sa.Dialect) -> sa.ColumnElement[Any]:
    """On SQLite, `column` behind a unary + (SQLite's way to keep a term off an index).

    Left to itself SQLite scans runs and probes each one's value by primary key, which sorts
    every run again; kept off that key, it walks the (experiment_id, key, is_nan, value) index
    in order as PostgreSQL's planner does on its own.
    """
    if dialect.name != "sqlite":
        return column
    return UnaryExpression(column, operator=custom_op("+"), type_=column.type)


def _not_before(
    value: sa.ColumnElement[float], ascending: bool, name: str
) -> sa.ColumnElement[bool]:
    """`value` is at or after the bound parameter `name` in the order's direction."""
    bound = sa.bindparam(name, 0.0, type_=sa.Double)
    return value >= bound if ascending else value <= bound


def _after(value: sa.ColumnElement[float], ascending: bool) -> list[sa.ColumnElement[bool]]:
    """Rows after (seek_value, seek_start, seek_run) in (value, start_time DESC, run_uuid)
    order; the first, redundant condition bounds the index walk."""
    v = sa.bindparam("seek_value", 0.0, type_=sa.Double)
    start = sa.bindparam("seek_start", 0, type_=sa.BigInteger)
    run = sa.bindparam("seek_run", "", type_=sa.String)
    beyond = value > v if ascending else value < v
    tie = sa.or_(
        runs.c.start_time < start, sa.and_(runs.c.start_time == start, runs.c.run_uuid > run)
    )
    return [_not_before(value, ascending, "seek_value"), sa.or_(beyond, sa.and_(value == v, tie))]


def _bound_statement(
    dialect: sa.Dialect, first: OrderKey, ids: sa.BindParameter[Any], seeking: bool
) -> DriverStatement:
    """The key's value `offset` entries into the index (from the seek value when seeking)."""
    value = latest_metrics.c.value
    stmt = sa.select(value).where(
        latest_metrics.c.experiment_id.in_(ids),
        latest_metrics.c.key == first.key,
        latest_metrics.c.is_nan == sa.false(),
    )
    if seeking:
        stmt = stmt.where(_not_before(value, first.ascending, "seek_value"))
    stmt = (
        stmt.order_by(value.asc() if first.ascending else value.desc())
        .offset(sa.bindparam("offset", 0, type_=sa.BigInteger))
        .limit(1)
    )
    return driver_statement(stmt, dialect)


@functools.lru_cache(maxsize=512)
def _search_statement(
    dialect: sa.Dialect,
    filter_string: str | None,
    view_type: str,
    order_by: tuple[str, ...],
    experiments: int,
    part: str = ALL,
    seeking: bool = False,
    window: bool = False,
) -> DriverStatement:
    """The compiled search (or one `part` of it) for one (filter, view, order, number of
    experiments); the ranked part optionally after a seek point and inside a value window.

    Building and compiling the statement costs more than a simple search itself; clients
    repeat the same few queries (the UI's default, a saved filter), so they are cached.
    """
    stages = stages_for(view_type)
    clauses = parse_run_filter(filter_string)
    keys = parse_run_order_by(list(order_by))
    ids = sa.bindparam(
        "experiment_ids", [0] * experiments, expanding=True, type_=runs.c.experiment_id.type
    )
    where = [
        runs.c.lifecycle_stage.in_(stages),
        *(run_filter(c) for c in clauses),
    ]
    columns: list[sa.ColumnElement[Any]] = [runs.c.run_uuid]
    if part == BOUND:
        return _bound_statement(dialect, keys[0], ids, seeking)
    if part in (RANKED, RANKED_COUNT):
        first = keys[0]
        ranked = latest_metrics.alias("ranked")
        joined = ranked.join(runs, runs.c.run_uuid == _outer_only(ranked.c.run_uuid, dialect))
        source, terms = run_ordering(keys[1:], joined)
        value = ranked.c.value
        terms.insert(0, value.asc() if first.ascending else value.desc())
        columns += [value, runs.c.start_time]
        where += [
            ranked.c.experiment_id.in_(ids),
            ranked.c.key == first.key,
            ranked.c.is_nan == sa.false(),
        ]
        if seeking:
            where += _after(value, first.ascending)
        if window:
            where.append(_not_before(value, not first.ascending, "window_bound"))
    else:
        source, terms = run_ordering(keys)
        where.append(runs.c.experiment_id.in_(ids))
        if part == UNRANKED:
            where.append(~_has_value(keys[0].key))
    if part == RANKED_COUNT:
        stmt = sa.select(sa.func.count()).select_from(source).where(*where)
        return driver_statement(stmt, dialect)
    stmt = (
        sa.select(*columns)
        .select_from(source)
        .where(*where)
        .order_by(*terms)
        .offset(sa.bindparam("offset", 0, type_=sa.BigInteger))
        .limit(sa.bindparam("limit", 0, type_=sa.BigInteger))
    )
    return driver_statement(stmt, dialect)


def _resume_point(seek: Any, first: OrderKey) -> tuple[float, int, str] | None:
    """The (value, start_time, run_id) a page token's seek names, if it was made for this
    order (a token reused with another order_by falls back to its offset)."""
    if seek is None:
        return None
    if not (
        isinstance(seek, list)
        and len(seek) == 5
        and isinstance(seek[0], str)
        and isinstance(seek[1], bool)
        and isinstance(seek[2], int | float)
        and not isinstance(seek[2], bool)
        and math.isfinite(seek[2])
        and isinstance(seek[3], int)
        and not isinstance(seek[3], bool)
        and -(2**63) <= seek[3] < 2**63
        and isinstance(seek[4], str)
    ):
        raise InvalidParameterValue(f"Invalid page token, seek={seek!r}")
    if [seek[0], seek[1]] != [first.key, first.ascending]:
        return None
    return float(seek[2]), seek[3], seek[4]


async def search_run_ids(
    conn: AsyncConnection,
    *,
    experiment_ids: list[int],
    filter_string: str | None,
    view_type: str,
    order_by: list[str],
    offset: int,
    limit: int,
    seek: Any = None,
) -> list[Found]:
    """One page of matching runs, in MLflow's search_runs order, from `offset` on.

    `seek` is a previous page's last `Found.seek`: when it fits this order the ranked runs
    resume right after that run instead of counting `offset` rows again, so a deep page costs
    what the first one does (`offset` must still be the position it names).
    """
    keys = parse_run_order_by(order_by)
    if not experiment_ids:
        # Still validated: a malformed filter is an error even when nothing is searched.
        stages_for(view_type)
        parse_run_filter(filter_string)
        return []
    shape = (conn.dialect, filter_string, view_type, tuple(order_by), len(experiment_ids))
    values: dict[str, Any] = {
        f"experiment_ids_{i}": e for i, e in enumerate(experiment_ids, start=1)
    }

    async def fetch_part(
        part: str, offset: int, limit: int, *, seeking: bool = False, window: bool = False,
        **extra: Any,
    ) -> Sequence[Any]:  # fmt: skip
        statement = _search_statement(*shape, part, seeking, window)
        return await run_statement(conn, statement, offset=offset, limit=limit, **values, **extra)

    first = keys[0]
    if first.kind != "metric":
        return [Found(row[0], None) for row in await fetch_part(ALL, offset, limit)]
    resume = _resume_point(seek, first)
    if resume is not None:
        values.update(seek_value=resume[0], seek_start=resume[1], seek_run=resume[2])
    rows = await _ranked_rows(fetch_part, resume is not None, 0 if resume else offset, limit)
    seekable = keys[1:] == _TIES
    page = [
        Found(run_id, [first.key, first.ascending, value, start, run_id] if seekable else None)
        for run_id, value, start in rows
    ]
    if len(page) == limit:
        return page
    # The page reaches past the runs with a value: count them unless this page shows where
    # they end, then continue with the others (NaN, then missing) in the general order.
    if page or offset == 0:
        ranked = offset + len(page)
    else:
        counted = await run_statement(conn, _search_statement(*shape, RANKED_COUNT), **values)
        ranked = int(counted[0][0])
    rest = await fetch_part(UNRANKED, max(0, offset - ranked), limit - len(page))
    return page + [Found(row[0], None) for row in rest]


async def _ranked_rows(
    fetch_part: Callable[..., Awaitable[Sequence[Any]]], seeking: bool, skip: int, limit: int
) -> Sequence[Any]:
    """The ranked runs `skip` to `skip + limit`, read inside a window of the key's values.

    The window (the values down to the one `size` index entries on) bounds the work whatever
    plan the database picks: PostgreSQL on a freshly filled, not yet analysed table estimates
    a handful of rows and sorts the whole experiment (76 ms for 5,000 runs) instead of walking
    the index. A window that holds too few matching runs is widened 4x until the page is full
    or the window reaches the last value.
    """
    size = 2 * (skip + limit)
    while True:
        bound = await fetch_part(BOUND, size, 1, seeking=seeking)
        if not bound:
            return await fetch_part(RANKED, skip, limit, seeking=seeking)
        rows = await fetch_part(
            RANKED, skip, limit, seeking=seeking, window=True, window_bound=bound[0][0]
        )
        if len(rows) == limit:
            return rows
        size *= 4
