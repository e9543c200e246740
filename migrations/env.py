"""Alembic environment: async engine, URL from Settings, one migrator at a time."""

import asyncio

import sqlalchemy as sa
from alembic import context
from sqlalchemy.engine import Connection

from tracking.config import from_env
from tracking.store.engine import make_engine
from tracking.store.tables import metadata

# Any 64-bit constant shared by every process that migrates this database.
MIGRATION_LOCK_KEY = 7_262_011_953_031_552_001


def _url() -> str:
    return context.config.attributes.get("url") or from_env().backend_store_uri


def _migrate(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Several processes may run `db upgrade` at once: the first migrates, the rest wait
            # for its commit and then find nothing left to do.
            connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
            )
        context.run_migrations()


async def _run() -> None:
    # The writer engine begins IMMEDIATE on SQLite, which serialises concurrent migrators too.
    engine = make_engine(_url(), pool_size=1, writer=True)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_migrate)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("Offline (--sql) migrations are not supported; run against a database.")
asyncio.run(_run())
