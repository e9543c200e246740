"""One fresh database per (server, backend): a new SQLite file or a new PostgreSQL database."""

from __future__ import annotations

import contextlib
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from benchmarks.postgres import PostgresCluster

BACKENDS = ("sqlite", "postgres")


@dataclass(frozen=True)
class Database:
    backend: str
    sqlite_path: Path | None = None
    cluster: PostgresCluster | None = None
    pg_name: str = ""

    def sqlalchemy_url(self) -> str:
        """MLflow's and our spelling (SQLAlchemy; postgresql:// means psycopg v3 for MLflow)."""
        if self.sqlite_path is not None:
            return f"sqlite:///{self.sqlite_path}"  # absolute path -> four slashes
        assert self.cluster is not None
        return self.cluster.url(self.pg_name)

    def go_url(self) -> str:
        """FastTrackML's spelling: sqlite://<path> (three slashes would be an authority) and postgres://."""
        if self.sqlite_path is not None:
            return f"sqlite://{self.sqlite_path}"
        assert self.cluster is not None
        return self.cluster.url(self.pg_name, scheme="postgres") + "?sslmode=disable"

    def asyncpg_dsn(self) -> str:
        assert self.cluster is not None
        return self.cluster.url(self.pg_name)


@contextlib.contextmanager
def fresh_database(
    backend: str, label: str, scratch: Path, cluster: PostgresCluster | None
) -> Iterator[Database]:
    """Yield an empty database and delete it afterwards (the disk holds several GB otherwise)."""
    serial = uuid.uuid4().hex[:8]
    if backend == "sqlite":
        folder = scratch / f"sqlite-{label}-{serial}"
        folder.mkdir(parents=True, exist_ok=True)
        try:
            yield Database(backend, sqlite_path=folder / "tracking.db")
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    if cluster is None:
        raise ValueError("a postgres database needs a running cluster")
    name = f"bench_{label}_{serial}".replace("-", "_")
    cluster.create_database(name)
    try:
        yield Database(backend, cluster=cluster, pg_name=name)
    finally:
        cluster.drop_database(name)
