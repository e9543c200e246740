"""The alembic migrations against the table definitions the code uses, on both backends."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from tests.conftest import off_loop, psql
from tracking.store import migrate
from tracking.store.engine import make_engine
from tracking.store.tables import metadata


@pytest.fixture
def empty_uri(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A database with no schema at all."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    base = request.getfixturevalue("pg_base_url")
    name = f"migrations_{os.getpid()}_{request.node.name.split('[')[1].rstrip(']')}"
    psql(base, f"DROP DATABASE IF EXISTS {name}")
    psql(base, f"CREATE DATABASE {name}")
    yield f"{base}/{name}"
    psql(base, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _alembic(uri: str, action: str, revision: str) -> None:
    getattr(command, action)(migrate.alembic_config(uri), revision)


async def test_head_schema_matches_the_tables_the_code_uses(empty_uri: str):
    off_loop(migrate.upgrade, empty_uri)
    engine = make_engine(empty_uri)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
            )
    finally:
        await engine.dispose()
    assert diff == []


def _seed_0005(sync: sa.Connection) -> None:
    for eid in (1, 2):
        sync.execute(
            sa.text("INSERT INTO experiments VALUES (:e, :n, 'x', 'active', 0, 0)"),
            {"e": eid, "n": f"e{eid}"},
        )
    for run, eid in (("a", 1), ("b", 2)):
        sync.execute(sa.text(
            "INSERT INTO runs (run_uuid, experiment_id, name, user_id, status, start_time,"
            " lifecycle_stage, artifact_uri) VALUES (:r, :e, :r, 'u', 'RUNNING', 0, 'active', 'x')"
        ), {"r": run, "e": eid})  # fmt: skip
        sync.execute(
            sa.text("INSERT INTO latest_metrics VALUES (:r, 'm', 0, 0, 0.5, false)"), {"r": run}
        )


async def test_0006_backfills_the_experiment_of_latest_metrics_and_downgrades(empty_uri: str):
    off_loop(_alembic, empty_uri, "upgrade", "0005")
    engine = make_engine(empty_uri)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_seed_0005)
        off_loop(_alembic, empty_uri, "upgrade", "0006")
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    sa.text("SELECT run_uuid, experiment_id FROM latest_metrics ORDER BY run_uuid")
                )
            ).all()
        assert [tuple(r) for r in rows] == [("a", 1), ("b", 2)]
        off_loop(_alembic, empty_uri, "downgrade", "0005")
        await engine.dispose()  # the table changed under any pooled connection
        async with engine.connect() as conn:
            columns = await conn.run_sync(
                lambda sync: {c["name"] for c in sa.inspect(sync).get_columns("latest_metrics")}
            )
            count = (await conn.execute(sa.text("SELECT count(*) FROM latest_metrics"))).scalar()
        assert "experiment_id" not in columns
        assert count == 2
    finally:
        await engine.dispose()


async def test_0008_moves_the_experiments_version_on_changes_and_downgrades(empty_uri: str):
    off_loop(migrate.upgrade, empty_uri)
    engine = make_engine(empty_uri)
    version = sa.text("SELECT version FROM data_versions WHERE name = 'experiments'")
    try:
        async with engine.connect() as conn:
            start = (await conn.execute(version)).scalar_one()
        for change in (
            "INSERT INTO experiments VALUES (7, 'e', 'x', 'active', 0, 0)",
            "INSERT INTO experiment_tags VALUES (7, 'k', 'v')",
            "UPDATE experiment_tags SET value = 'w'",
            "DELETE FROM experiment_tags",
            "UPDATE experiments SET name = 'f' WHERE experiment_id = 7",
            "DELETE FROM experiments WHERE experiment_id = 7",
        ):
            async with engine.begin() as conn:
                await conn.execute(sa.text(change))
            async with engine.connect() as conn:
                now = (await conn.execute(version)).scalar_one()
            assert now != start, change
            start = now
        async with engine.connect() as conn:  # a rolled-back change leaves it alone
            await conn.execute(sa.text("UPDATE experiments SET name = 'g'"))
            await conn.rollback()
            assert (await conn.execute(version)).scalar_one() == start
        off_loop(_alembic, empty_uri, "downgrade", "0007")
        await engine.dispose()
        async with engine.begin() as conn:  # no trigger left to fail on the missing table
            await conn.execute(sa.text("UPDATE experiments SET name = 'h'"))
            tables = await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names())
        assert "data_versions" not in tables
        off_loop(_alembic, empty_uri, "upgrade", "head")
    finally:
        await engine.dispose()
