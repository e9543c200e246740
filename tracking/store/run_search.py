"""search_runs as SELECTs of run ids: filters as correlated EXISTS, orders as outer joins.

A search ordered first by a metric runs in two parts. The runs with a (non-NaN) value of that
metric come first in MLflow's order, and they are read by walking latest_metrics' index on
(experiment_id, key, is_nan, value) in order, so a page costs about offset + limit index steps
instead of a sort of every candidate run. Only when the page reaches past them does the second
part (runs with NaN or no value) run, as the general statement with that condition added.

Statements are compiled once per query shape and run on the driver's own connection; the
ranked part's pieces live in run_search_ranked.py.
"""

import functools
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tracking.entities import DATASET_CONTEXT_TAG
from tracking.errors import InvalidParameterValue
from tracking.search.comparators import compare
from tracking.search.filters import Comparison
from tracking.search.ordering import OrderKey, parse_run_order_by
from tracking.search.run_filters import parse_run_filter
from tracking.store.driver_sql import DriverStatement, driver_statement, run_statement
from tracking.store.run_search_ranked import (
    ALL,
    BOUND,
    RANKED,
    RANKED_COUNT,
    TIES,
    UNRANKED,
    Found,
    after,
    bound_statement,
    has_value,
    not_before,
    outer_only,
    ranked_rows,
    resume_point,
    valued,
)
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
    if part == BOUND:
        return bound_statement(dialect, keys[0], ids, seeking)
    where = [
        runs.c.lifecycle_stage.in_(stages),
        *(run_filter(c) for c in clauses),
    ]
    columns: list[sa.ColumnElement[Any]] = [runs.c.run_uuid]
    if part in (RANKED, RANKED_COUNT):
        first = keys[0]
        ranked = latest_metrics.alias("ranked")
        joined = ranked.join(runs, runs.c.run_uuid == outer_only(ranked.c.run_uuid, dialect))
        source, terms = run_ordering(keys[1:], joined)
        value = ranked.c.value
        terms.insert(0, value.asc() if first.ascending else value.desc())
        columns += [value, runs.c.start_time]
        where += [ranked.c.experiment_id.in_(ids), *valued(ranked, first.key)]
        if seeking:
            where += after(value, first.ascending)
        if window:
            where.append(not_before(value, not first.ascending, "window_bound"))
    else:
        source, terms = run_ordering(keys)
        where.append(runs.c.experiment_id.in_(ids))
        if part == UNRANKED:
            where.append(~has_value(keys[0].key))
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
    resume = resume_point(seek, first)
    if resume is not None:
        values.update(seek_value=resume[0], seek_start=resume[1], seek_run=resume[2])
    rows = await ranked_rows(fetch_part, resume is not None, 0 if resume else offset, limit)
    seekable = keys[1:] == TIES
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
