"""Schema migrations: run alembic to head, and check a database is at head before serving."""

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine

import migrations


class SchemaOutdated(RuntimeError):
    pass


def alembic_config(uri: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    config.attributes["url"] = uri
    return config


def upgrade(uri: str) -> None:
    """Blocking: call it off the event loop (alembic's env.py runs its own loop)."""
    command.upgrade(alembic_config(uri), "head")


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("")).get_current_head()


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as conn:
        return await conn.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )


async def check_schema(engine: AsyncEngine, uri: str) -> None:
    current, head = await current_revision(engine), head_revision()
    if current != head:
        state = "has no schema" if current is None else f"is at revision {current}"
        raise SchemaOutdated(
            f"The database {state}; this server needs revision {head}. Run:\n"
            f"  python -m tracking db upgrade --backend-store-uri '{_redact(uri)}'"
        )


def _redact(uri: str) -> str:
    return sa.engine.make_url(uri).render_as_string(hide_password=True)
