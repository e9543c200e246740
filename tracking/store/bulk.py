"""Driver-level bulk inserts for the hot write path.

SQLAlchemy's per-row parameter processing costs about as much as SQLite's own insert, so large
row sets bypass it: SQLite gets one executemany of tuples, PostgreSQL one INSERT ... SELECT FROM
unnest() over column arrays (a single round trip whatever the row count). Only our own table and
column names are spliced into the SQL; every value is a bound parameter.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

_PG_ARRAY_TYPES: list[tuple[type[sa.types.TypeEngine[Any]], str]] = [
    (sa.BigInteger, "int8"),
    (sa.Integer, "int8"),
    (sa.Double, "float8"),
    (sa.Float, "float8"),
    (sa.Boolean, "bool"),
    (sa.String, "text"),
]


def _pg_type(column: sa.Column[Any]) -> str:
    for kind, name in _PG_ARRAY_TYPES:
        if isinstance(column.type, kind):
            return name
    raise TypeError(f"no array type for {column}")


def _quote(name: str) -> str:
    return f'"{name}"'


async def insert_rows(
    conn: AsyncConnection,
    table: sa.Table,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    conflict: str = "ON CONFLICT DO NOTHING",
) -> None:
    """Insert rows (tuples in `columns` order) with the given ON CONFLICT clause."""
    if not rows:
        return
    names = ", ".join(_quote(c) for c in columns)
    if conn.dialect.name == "postgresql":
        arrays = ", ".join(
            f"${i}::{_pg_type(table.c[c])}[]" for i, c in enumerate(columns, start=1)
        )
        sql = (
            f"INSERT INTO {_quote(table.name)} ({names}) SELECT * FROM unnest({arrays}) {conflict}"
        )
        await conn.exec_driver_sql(sql, tuple(list(col) for col in zip(*rows, strict=True)))
        return
    await conn.exec_driver_sql(sqlite_insert_sql(table, columns, conflict), list(rows))


def sqlite_insert_sql(table: sa.Table, columns: Sequence[str], conflict: str) -> str:
    """One row's INSERT with `?` marks, for executemany on SQLite."""
    names = ", ".join(_quote(c) for c in columns)
    marks = ", ".join("?" for _ in columns)
    return f"INSERT INTO {_quote(table.name)} ({names}) VALUES ({marks}) {conflict}"


def upsert_clause(table: sa.Table, keys: Sequence[str], updates: Sequence[str]) -> str:
    sets = ", ".join(f"{_quote(c)} = EXCLUDED.{_quote(c)}" for c in updates)
    return f"ON CONFLICT ({', '.join(_quote(k) for k in keys)}) DO UPDATE SET {sets}"
