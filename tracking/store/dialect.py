"""Dialect-specific statements that SQLite and PostgreSQL spell the same way in SQLAlchemy."""

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


def insert_for(conn: AsyncConnection, table: sa.Table) -> Any:
    """An INSERT that supports ON CONFLICT on this connection's dialect."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def insert_ignore(conn: AsyncConnection, table: sa.Table) -> Any:
    return insert_for(conn, table).on_conflict_do_nothing()


def upsert(conn: AsyncConnection, table: sa.Table, keys: list[str], update: list[str]) -> Any:
    stmt = insert_for(conn, table)
    return stmt.on_conflict_do_update(
        index_elements=keys, set_={col: stmt.excluded[col] for col in update}
    )
