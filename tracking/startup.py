"""Getting the database ready before serving: migrate it (SQLite) or verify it (PostgreSQL).

Nothing heavy is imported at module level. With several workers the supervisor only deals out
connections, so it runs this step in a child process and never loads SQLAlchemy, alembic or
aiohttp itself: they cost a process ~40 MB for the server's whole life (PSS of the supervisor
56 -> 15 MB), and every worker imports its own anyway.
"""

import multiprocessing
import sys

from tracking.config import Settings

SCHEMA_OUTDATED = 2  # the exit code `serve` answers an outdated schema with


def prepare(settings: Settings) -> int:
    """Migrate (SQLite, unless told not to) and verify the schema, once, before any worker
    starts: 0, or SCHEMA_OUTDATED with the reason on stderr."""
    import asyncio

    from tracking.store import migrate

    try:
        if settings.should_migrate:
            migrate.upgrade(settings.backend_store_uri)
        asyncio.run(_check(settings))
    except migrate.SchemaOutdated as exc:
        print(exc, file=sys.stderr)
        return SCHEMA_OUTDATED
    return 0


async def _check(settings: Settings) -> None:
    from tracking.store import migrate
    from tracking.store.engine import make_engine

    engine = make_engine(settings.backend_store_uri, pool_size=1)
    try:
        await migrate.check_schema(engine, settings.backend_store_uri)
    finally:
        await engine.dispose()


def prepare_in_child(settings: Settings) -> int:
    """`prepare` in a process of its own; its exit code (1 if it died of a signal)."""
    process = multiprocessing.get_context("spawn").Process(
        target=_prepare_and_exit, args=(settings,), name="prepare"
    )
    process.start()
    process.join()
    code = process.exitcode
    return code if code is not None and code >= 0 else 1


def _prepare_and_exit(settings: Settings) -> None:
    sys.exit(prepare(settings))
