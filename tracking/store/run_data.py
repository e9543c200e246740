"""SQL that writes a run's params, tags and metrics as set-based statements."""

import math
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tracking.entities import FLOAT_MAX, Metric
from tracking.store.dialect import insert_for, insert_ignore, upsert
from tracking.store.tables import latest_metrics, metrics, params, tags


async def insert_params(
    conn: AsyncConnection, run_id: str, items: Sequence[tuple[str, str]]
) -> dict[str, str]:
    """Insert params that are new; return the stored value of every key that differs."""
    if not items:
        return {}
    await conn.execute(
        insert_ignore(conn, params),
        [{"run_uuid": run_id, "key": k, "value": v} for k, v in items],
    )
    wanted = dict(items)
    stored = await conn.execute(
        sa.select(params.c.key, params.c.value).where(
            params.c.run_uuid == run_id, params.c.key.in_(list(wanted))
        )
    )
    return {key: value for key, value in stored.all() if wanted[key] != value}


async def upsert_tags(conn: AsyncConnection, run_id: str, items: Sequence[tuple[str, str]]) -> None:
    if not items:
        return
    # Last writer wins; a batch naming one key twice keeps the last value.
    rows = [{"run_uuid": run_id, "key": k, "value": v} for k, v in dict(items).items()]
    await conn.execute(upsert(conn, tags, ["run_uuid", "key"], ["value"]), rows)


async def delete_tag(conn: AsyncConnection, run_id: str, key: str) -> int:
    result = await conn.execute(sa.delete(tags).where(tags.c.run_uuid == run_id, tags.c.key == key))
    return int(result.rowcount)


def stored_value(value: float) -> tuple[float, bool]:
    """MLflow's storage form: NaN as (0, is_nan) and infinities as the largest doubles."""
    if math.isnan(value):
        return 0.0, True
    if math.isinf(value):
        return (FLOAT_MAX if value > 0 else -FLOAT_MAX), False
    return value, False


async def insert_metrics(conn: AsyncConnection, run_id: str, points: Sequence[Metric]) -> None:
    if not points:
        return
    rows = []
    latest: dict[str, dict[str, object]] = {}
    for point in points:
        value, is_nan = stored_value(point.value)
        row = {
            "run_uuid": run_id,
            "key": point.key,
            "timestamp": point.timestamp,
            "step": point.step,
            "value": value,
            "is_nan": is_nan,
            "model_id": point.model_id,
            "dataset_name": point.dataset_name,
            "dataset_digest": point.dataset_digest,
        }
        rows.append(row)
        best = latest.get(point.key)
        if best is None or _order(row) > _order(best):
            latest[point.key] = row
    # Identical (key, timestamp, step, value) points are stored once, as MLflow does.
    await conn.execute(insert_ignore(conn, metrics), rows)
    await _raise_latest(conn, list(latest.values()))


def _order(row: dict[str, object]) -> tuple[int, int, float]:
    return (row["step"], row["timestamp"], row["value"])  # type: ignore[return-value]


async def _raise_latest(conn: AsyncConnection, rows: list[dict[str, object]]) -> None:
    """Keep latest_metrics at the greatest (step, timestamp, value) per key."""
    stmt = insert_for(conn, latest_metrics)
    current = sa.tuple_(latest_metrics.c.step, latest_metrics.c.timestamp, latest_metrics.c.value)
    incoming = sa.tuple_(stmt.excluded.step, stmt.excluded.timestamp, stmt.excluded.value)
    stmt = stmt.on_conflict_do_update(
        index_elements=["run_uuid", "key"],
        set_={c: stmt.excluded[c] for c in ("step", "timestamp", "value", "is_nan")},
        where=incoming > current,
    )
    await conn.execute(
        stmt,
        [
            {k: r[k] for k in ("run_uuid", "key", "step", "timestamp", "value", "is_nan")}
            for r in rows
        ],
    )
