"""SQL for a run's tags outside the merged write path, and how metric values are stored."""

import math
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tracking.entities import FLOAT_MAX
from tracking.store.dialect import upsert
from tracking.store.tables import tags


async def upsert_tags(conn: AsyncConnection, run_id: str, items: Sequence[tuple[str, str]]) -> None:
    if not items:
        return
    # Last writer wins; a batch naming one key twice keeps the last value.
    rows = [{"run_uuid": run_id, "key": k, "value": v} for k, v in dict(items).items()]
    await conn.execute(upsert(conn, tags, ["run_uuid", "key"], ["value"]), rows)


async def delete_tag(conn: AsyncConnection, run_id: str, key: str) -> int:
    result = await conn.execute(sa.delete(tags).where(tags.c.run_uuid == run_id, tags.c.key == key))
    return int(result.rowcount)


def stored_value(value: float) -> tuple[float, int]:
    """MLflow's storage form: NaN as (0, is_nan) and infinities as the largest doubles.

    is_nan is 0 or 1, not a bool: sqlite3 binds only exact int, float, str and bytes
    directly and sends anything else (bool, None) through its adapter lookup, which cost
    more than the insert itself (~3 us per value). PostgreSQL casts 0/1 to boolean."""
    if math.isnan(value):
        return 0.0, 1
    if math.isinf(value):
        return (FLOAT_MAX if value > 0 else -FLOAT_MAX), 0
    return value, 0
