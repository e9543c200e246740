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


def _sync_url(uri: str) -> str:
    # Plain sync drivers for inspection: the stdlib sqlite3, psycopg for PostgreSQL.
    url = sa.engine.make_url(uri)
    return (
        url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
        if (url.get_backend_name() == "postgresql")
        else uri
    )


def _alembic(uri: str, action: str, revision: str) -> None:
    getattr(command, action)(migrate.alembic_config(uri), revision)


def test_head_schema_matches_the_tables_the_code_uses(empty_uri: str):
    off_loop(migrate.upgrade, empty_uri)
    engine = sa.create_engine(_sync_url(empty_uri))
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        engine.dispose()
    assert diff == []


def test_0006_backfills_the_experiment_of_latest_metrics_and_downgrades(empty_uri: str):
    off_loop(_alembic, empty_uri, "upgrade", "0005")
    engine = sa.create_engine(_sync_url(empty_uri))
    try:
        with engine.begin() as conn:
            for eid in (1, 2):
                conn.execute(sa.text(
                    "INSERT INTO experiments VALUES (:e, :n, 'x', 'active', 0, 0)"
                ), {"e": eid, "n": f"e{eid}"})  # fmt: skip
            for run, eid in (("a", 1), ("b", 2)):
                conn.execute(sa.text(
                    "INSERT INTO runs (run_uuid, experiment_id, name, user_id, status, start_time,"
                    " lifecycle_stage, artifact_uri) VALUES (:r, :e, :r, 'u', 'RUNNING', 0,"
                    " 'active', 'x')"
                ), {"r": run, "e": eid})  # fmt: skip
                conn.execute(sa.text(
                    "INSERT INTO latest_metrics VALUES (:r, 'm', 0, 0, 0.5, false)"
                ), {"r": run})  # fmt: skip
        off_loop(_alembic, empty_uri, "upgrade", "0006")
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT run_uuid, experiment_id FROM latest_metrics ORDER BY run_uuid")
            ).all()
        assert [tuple(r) for r in rows] == [("a", 1), ("b", 2)]
        off_loop(_alembic, empty_uri, "downgrade", "0005")
        with engine.connect() as conn:
            columns = {c["name"] for c in sa.inspect(conn).get_columns("latest_metrics")}
            count = conn.execute(sa.text("SELECT count(*) FROM latest_metrics")).scalar()
        assert "experiment_id" not in columns
        assert count == 2
    finally:
        engine.dispose()
