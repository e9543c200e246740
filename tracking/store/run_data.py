"""SQL for a run's tags outside the merged write path, and how metric values are stored."""

import math

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tracking.entities import FLOAT_MAX
from tracking.store.tables import tags


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
