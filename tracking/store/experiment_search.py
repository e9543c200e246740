"""search_experiments: one SELECT of a page of experiments in MLflow's order, then their tags;
and the version of the experiments' data that a cached page is checked against."""

import functools
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tracking.search.comparators import compare
from tracking.search.experiment_filters import parse_experiment_filter
from tracking.search.filters import Comparison
from tracking.search.ordering import parse_experiment_order_by
from tracking.store.driver_sql import DriverStatement, driver_statement, run_statement
from tracking.store.experiments import experiment_dicts
from tracking.store.run_search import stages_for
from tracking.store.runs import fetch
from tracking.store.tables import experiment_tags, experiments


def experiment_filter(c: Comparison) -> sa.ColumnElement[bool]:
    if c.kind == "attribute":
        return compare(experiments.c[c.key], c.op, c.value)
    owned = (
        experiment_tags.c.experiment_id == experiments.c.experiment_id,
        experiment_tags.c.key == c.key,
    )
    if c.op == "IS NULL":
        return ~sa.exists().where(*owned)
    if c.op == "IS NOT NULL":
        return sa.exists().where(*owned)
    return sa.exists().where(*owned, compare(experiment_tags.c.value, c.op, c.value))


@functools.lru_cache(maxsize=256)
def _search_statement(
    dialect: sa.Dialect, filter_string: str | None, view_type: str, order_by: tuple[str, ...]
) -> DriverStatement:
    stages = stages_for(view_type)
    clauses = parse_experiment_filter(filter_string)
    terms: list[sa.ColumnElement[Any]] = [
        experiments.c[k.key].asc() if k.ascending else experiments.c[k.key].desc()
        for k in parse_experiment_order_by(list(order_by))
    ]
    e = experiments.c
    stmt = (
        sa.select(
            e.experiment_id,
            e.name,
            e.artifact_location,
            e.lifecycle_stage,
            e.creation_time,
            e.last_update_time,
        )
        .where(
            experiments.c.lifecycle_stage.in_(stages),
            *(experiment_filter(c) for c in clauses),
        )
        .order_by(*terms)
        .offset(sa.bindparam("offset", 0, type_=sa.BigInteger))
        .limit(sa.bindparam("limit", 0, type_=sa.BigInteger))
    )
    return driver_statement(stmt, dialect)


async def search_experiments(
    conn: AsyncConnection,
    *,
    filter_string: str | None,
    view_type: str,
    order_by: list[str],
    offset: int,
    limit: int,
) -> list[dict[str, Any]]:
    """One page of matching experiments (default creation_time DESC, experiment_id ASC), as
    `Experiment.to_dict()` gives them."""
    statement = _search_statement(conn.dialect, filter_string, view_type, tuple(order_by))
    rows = await run_statement(conn, statement, offset=offset, limit=limit)
    return await experiment_dicts(conn, rows)


_VERSION_SQL = "SELECT version FROM data_versions WHERE name = 'experiments'"


async def experiments_version(conn: AsyncConnection) -> int | None:
    """The experiments' data version (migration 0008): it changes in the same transaction as
    any change to experiments or their tags. Read it before the page it validates, so that
    the page is at least as new as the version it is kept under."""
    rows = await fetch(conn, _VERSION_SQL)
    return int(rows[0][0]) if rows else None
