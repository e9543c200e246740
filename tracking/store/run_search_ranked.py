"""The parts of a run search ordered first by a metric (see run_search.search_run_ids).

The runs with a (non-NaN) value of that metric come first in MLflow's order, and they are read
by walking latest_metrics' index on (experiment_id, key, is_nan, value) in order, inside a
window of values so the work stays bounded whatever plan the database picks; a page token can
carry where the previous page ended ("seek") so a deep page starts there.
"""

import math
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.sql.elements import UnaryExpression
from sqlalchemy.sql.operators import custom_op

from tracking.errors import InvalidParameterValue
from tracking.search.ordering import OrderKey
from tracking.store.driver_sql import DriverStatement, driver_statement
from tracking.store.tables import latest_metrics, runs

# The parts of a search ordered first by a metric; "all" is any other search.
ALL, RANKED, RANKED_COUNT, UNRANKED, BOUND = "all", "ranked", "ranked-count", "unranked", "bound"
# MLflow's tie-breaks; a metric followed by only these can resume a page after a known run.
TIES = (OrderKey("attribute", "start_time", False), OrderKey("attribute", "run_id", True))


class Found(NamedTuple):
    run_id: str
    # Where a page starting after this run resumes without OFFSET (see `after` below), if it can.
    seek: list[Any] | None


def valued(table: sa.FromClause, key: str) -> list[sa.ColumnElement[bool]]:
    """Rows of `table` (latest_metrics or an alias) holding a non-NaN value of the key."""
    return [table.c.key == key, table.c.is_nan == sa.false()]


def has_value(key: str) -> sa.ColumnElement[bool]:
    """The run has a non-NaN value of the metric `key`."""
    return sa.exists().where(
        latest_metrics.c.run_uuid == runs.c.run_uuid, *valued(latest_metrics, key)
    )


def outer_only(column: sa.ColumnElement[Any], dialect: sa.Dialect) -> sa.ColumnElement[Any]:
    """On SQLite, `column` behind a unary + (SQLite's way to keep a term off an index).

    Left to itself SQLite scans runs and probes each one's value by primary key, which sorts
    every run again; kept off that key, it walks the (experiment_id, key, is_nan, value) index
    in order as PostgreSQL's planner does on its own.
    """
    if dialect.name != "sqlite":
        return column
    return UnaryExpression(column, operator=custom_op("+"), type_=column.type)


def not_before(
    value: sa.ColumnElement[float], ascending: bool, name: str
) -> sa.ColumnElement[bool]:
    """`value` is at or after the bound parameter `name` in the order's direction."""
    bound = sa.bindparam(name, 0.0, type_=sa.Double)
    return value >= bound if ascending else value <= bound


def after(value: sa.ColumnElement[float], ascending: bool) -> list[sa.ColumnElement[bool]]:
    """Rows after (seek_value, seek_start, seek_run) in (value, start_time DESC, run_uuid)
    order; the first, redundant condition bounds the index walk."""
    v = sa.bindparam("seek_value", 0.0, type_=sa.Double)
    start = sa.bindparam("seek_start", 0, type_=sa.BigInteger)
    run = sa.bindparam("seek_run", "", type_=sa.String)
    beyond = value > v if ascending else value < v
    tie = sa.or_(
        runs.c.start_time < start, sa.and_(runs.c.start_time == start, runs.c.run_uuid > run)
    )
    return [not_before(value, ascending, "seek_value"), sa.or_(beyond, sa.and_(value == v, tie))]


def bound_statement(
    dialect: sa.Dialect, first: OrderKey, ids: sa.BindParameter[Any], seeking: bool
) -> DriverStatement:
    """The key's value `offset` entries into the index (from the seek value when seeking)."""
    value = latest_metrics.c.value
    stmt = sa.select(value).where(
        latest_metrics.c.experiment_id.in_(ids), *valued(latest_metrics, first.key)
    )
    if seeking:
        stmt = stmt.where(not_before(value, first.ascending, "seek_value"))
    stmt = (
        stmt.order_by(value.asc() if first.ascending else value.desc())
        .offset(sa.bindparam("offset", 0, type_=sa.BigInteger))
        .limit(1)
    )
    return driver_statement(stmt, dialect)


def resume_point(seek: Any, first: OrderKey) -> tuple[float, int, str] | None:
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


async def ranked_rows(
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
