"""SQL that reads metric histories."""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tracking.store.tables import metrics

_POINT = (
    metrics.c.timestamp,
    metrics.c.step,
    metrics.c.value,
    metrics.c.is_nan,
    metrics.c.model_id,
    metrics.c.dataset_name,
    metrics.c.dataset_digest,
)


async def history(
    conn: AsyncConnection, run_id: str, key: str, *, offset: int = 0, limit: int | None = None
) -> Sequence[Any]:
    """One metric's points in MLflow's order: timestamp, step, value."""
    query = (
        sa.select(*_POINT)
        .where(metrics.c.run_uuid == run_id, metrics.c.key == key)
        .order_by(metrics.c.timestamp, metrics.c.step, metrics.c.value)
        .offset(offset)
    )
    if limit is not None:
        query = query.limit(limit)
    return (await conn.execute(query)).all()


async def bulk_history(
    conn: AsyncConnection, run_ids: Sequence[str], key: str, *, limit: int
) -> Sequence[Any]:
    query = (
        sa.select(metrics.c.run_uuid, *_POINT)
        .where(metrics.c.run_uuid.in_(run_ids), metrics.c.key == key)
        .order_by(metrics.c.run_uuid, metrics.c.timestamp, metrics.c.step, metrics.c.value)
        .limit(limit)
    )
    return (await conn.execute(query)).all()


async def sampled_history(
    conn: AsyncConnection,
    run_ids: Sequence[str],
    key: str,
    *,
    max_results: int,
    start_step: int | None,
    end_step: int | None,
) -> Sequence[Any]:
    """Up to max_results evenly spaced points per run, always with each run's first and last.

    Sampling happens in SQL (NTILE buckets, first row of each), so a run with millions of
    points still materialises only about max_results rows.
    """
    filters = [metrics.c.run_uuid.in_(list(run_ids)), metrics.c.key == key]
    if start_step is not None and end_step is not None:
        filters += [metrics.c.step >= start_step, metrics.c.step <= end_step]
    cols = (
        metrics.c.run_uuid,
        metrics.c.step,
        metrics.c.timestamp,
        metrics.c.value,
        metrics.c.is_nan,
    )
    order = [metrics.c.step, metrics.c.timestamp, metrics.c.value, metrics.c.is_nan]
    bucketed = (
        sa.select(
            *cols,
            sa.func.ntile(max_results)
            .over(partition_by=metrics.c.run_uuid, order_by=order)
            .label("bucket"),
            sa.func.row_number()
            .over(partition_by=metrics.c.run_uuid, order_by=[o.desc() for o in order])
            .label("from_end"),
        )
        .where(*filters)
        .subquery()
    )
    b = bucketed.c
    ranked = sa.select(
        b.run_uuid,
        b.step,
        b.timestamp,
        b.value,
        b.is_nan,
        b.from_end,
        sa.func.row_number()
        .over(
            partition_by=[b.run_uuid, b.bucket], order_by=[b.step, b.timestamp, b.value, b.is_nan]
        )
        .label("rn"),
    ).subquery()
    r = ranked.c
    query = (
        sa.select(r.run_uuid, r.step, r.timestamp, r.value, r.is_nan, r.rn, r.from_end)
        .where(sa.or_(r.rn == 1, r.from_end == 1))
        .order_by(r.run_uuid, r.step, r.timestamp, r.value, r.is_nan)
    )
    return (await conn.execute(query)).all()
