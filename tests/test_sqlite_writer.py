"""SQLite's direct writer: run logging committed in one call on the writer's own thread."""

import asyncio
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tracking.entities import Metric
from tracking.errors import InvalidParameterValue, ResourceDoesNotExist
from tracking.store.database import Database
from tracking.store.run_writes import RunWrite, RunWrites
from tracking.store.sqlite_lock import WriterLock
from tracking.store.sqlite_writer import SqliteWriter, database_path
from tracking.store.tables import experiments, latest_metrics, metrics, params, runs

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
KIND = RunWrites()


def _path(backend_uri: str) -> str:
    path = database_path(backend_uri)
    assert path is not None
    return path


async def _new_run(conn: AsyncConnection, run_id: str, stage: str = "active") -> None:
    experiment = await conn.execute(
        experiments.insert().values(
            name=f"e-{run_id}", artifact_location="", lifecycle_stage="active",
            creation_time=0, last_update_time=0,
        )
    )  # fmt: skip
    await conn.execute(
        runs.insert().values(
            run_uuid=run_id, experiment_id=experiment.inserted_primary_key[0], name=run_id,
            user_id="u", status="RUNNING", start_time=0, lifecycle_stage=stage, artifact_uri="",
        )
    )  # fmt: skip


async def _count(db: Database, table: sa.Table) -> int:
    async def op(conn: AsyncConnection) -> int:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar())

    return await db.read(op)


async def test_run_writes_and_other_writes_share_a_batch(backend_uri: str):
    """A batch holding both kinds commits the run logging on the direct writer and the rest on
    the async one; every caller gets its own outcome."""
    db = Database(backend_uri)
    await db.start()
    try:
        await db.write(lambda conn: _new_run(conn, "a"))
        await db.write(lambda conn: _new_run(conn, "gone", stage="deleted"))
        point = Metric("loss", 0.5, 10, 1)
        results = await asyncio.gather(
            db.write(lambda conn: _new_run(conn, "b")),
            db.submit(KIND, RunWrite("a", metrics=[point], params=[("lr", "0.1")])),
            db.submit(KIND, RunWrite("a", params=[("lr", "0.2")])),
            db.submit(KIND, RunWrite("missing", metrics=[point])),
            db.submit(KIND, RunWrite("gone", metrics=[point])),
            return_exceptions=True,
        )
        assert results[:2] == [None, None]
        assert isinstance(results[2], InvalidParameterValue)
        assert isinstance(results[3], ResourceDoesNotExist)
        assert isinstance(results[4], InvalidParameterValue)
        assert await _count(db, runs) == 3
        assert (await _count(db, metrics), await _count(db, latest_metrics)) == (1, 1)
        assert await _count(db, params) == 1

        async def experiment_of_latest(conn: AsyncConnection) -> list[tuple[str, int]]:
            query = sa.select(latest_metrics.c.run_uuid, latest_metrics.c.experiment_id)
            return [tuple(r) for r in (await conn.execute(query)).all()]

        assert await db.read(experiment_of_latest) == [("a", 1)]
    finally:
        await db.close()


class _Statements:
    """A batch kind running each item's SQL on the direct writer: its outcome is the first
    row's first column of the last statement, and a failing statement fails the batch. It
    notes the size of every batch it applies (one per transaction)."""

    def __init__(self) -> None:
        self.batches: list[int] = []

    def apply_sqlite(
        self, conn: sqlite3.Connection, items: list[list[str]], prepared: list[None]
    ) -> list[tuple[bool, object]]:
        self.batches.append(len(items))
        outcomes: list[tuple[bool, object]] = []
        for statements in items:
            row = None
            for sql in statements:
                row = conn.execute(sql).fetchone()
            outcomes.append((True, None if row is None else row[0]))
        return outcomes


async def test_a_failing_transaction_rolls_back_and_releases_the_lock(backend_uri: str):
    path = _path(backend_uri)
    lock = WriterLock(f"{path}-writer.lock")
    writer = SqliteWriter(path, lock)
    kind = _Statements()
    insert = (
        "INSERT INTO experiments (name, artifact_location, lifecycle_stage, creation_time,"
        " last_update_time) VALUES ('half', '', 'active', 0, 0)"
    )
    try:
        with pytest.raises(sa.exc.IntegrityError, match="NOT NULL"):
            await writer.submit(kind, [insert, "INSERT INTO experiments (name) VALUES (NULL)"])
        # Would block forever if the lock had been kept.
        count = writer.submit(kind, ["SELECT count(*) FROM experiments"])
        assert await asyncio.wait_for(count, timeout=10) == 0
        # A COMMIT that fails (a deferred foreign key) leaves SQLite's transaction open: it is
        # rolled back, and the next batch begins afresh.
        orphan = "INSERT INTO tags (run_uuid, key, value) VALUES ('no-such-run', 'k', 'v')"
        with pytest.raises(sa.exc.IntegrityError, match="FOREIGN KEY"):
            await writer.submit(kind, ["PRAGMA defer_foreign_keys = ON", insert, orphan])
        count = writer.submit(kind, ["SELECT count(*) FROM experiments"])
        assert await asyncio.wait_for(count, timeout=10) == 0
    finally:
        await writer.close()
        lock.close()


async def test_requests_queued_while_the_lock_is_held_join_one_transaction(backend_uri: str):
    """While another process holds the write lock, queued items wait; once it is free they
    commit together, and every caller gets its own outcome."""
    path = _path(backend_uri)
    other = WriterLock(f"{path}-writer.lock")  # another process's descriptor: its own flock
    lock = WriterLock(f"{path}-writer.lock")
    writer = SqliteWriter(path, lock)
    kind = _Statements()
    try:
        await asyncio.to_thread(other.acquire)
        first = writer.submit(kind, ["SELECT 1"])
        await asyncio.sleep(0.2)  # the writer has taken `first` and waits for the lock
        rest = [writer.submit(kind, [f"SELECT {n}"]) for n in range(2, 6)]
        await asyncio.sleep(0.1)
        assert not first.done()
        other.release()
        assert await asyncio.wait_for(asyncio.gather(first, *rest), timeout=10) == [1, 2, 3, 4, 5]
        assert kind.batches == [5]
    finally:
        await writer.close()
        lock.close()
        other.close()


async def test_commits_are_visible_to_other_connections_and_processes(backend_uri: str):
    db = Database(backend_uri)
    await db.start()
    try:
        await db.write(lambda conn: _new_run(conn, "a"))
        await db.submit(KIND, RunWrite("a", tags=[("mlflow.runName", "renamed")]))
    finally:
        await db.close()
    with sqlite3.connect(_path(backend_uri)) as conn:
        assert conn.execute("SELECT name FROM runs").fetchall() == [("renamed",)]
        assert conn.execute("SELECT key, value FROM tags").fetchall() == [
            ("mlflow.runName", "renamed")
        ]


def test_only_files_get_a_direct_writer(tmp_path: Path, backend_uri: str):
    assert database_path(f"sqlite:///{tmp_path / 'x.db'}") == str(tmp_path / "x.db")
    assert database_path("sqlite://") is None
    assert database_path("sqlite:///:memory:") is None


async def test_the_async_writer_applies_run_writes_as_the_direct_one_does(database: Database):
    """RunWrites.apply on SQLite (the SQLAlchemy path, for databases the direct writer cannot
    open, such as `file:` URIs): same checks, same rows."""
    await database.write(lambda conn: _new_run(conn, "a"))
    point = Metric("loss", 0.5, 10, 1)
    items = [
        RunWrite("a", metrics=[point], params=[("lr", "0.1")], tags=[("mlflow.runName", "new")]),
        RunWrite("a", params=[("lr", "0.2")]),
        RunWrite("missing", metrics=[point]),
    ]
    async with database.writer.connect() as conn, conn.begin():
        outcomes = await KIND.apply(conn, items, False)
    assert outcomes[0] == (True, None)
    assert isinstance(outcomes[1][1], InvalidParameterValue)
    assert isinstance(outcomes[2][1], ResourceDoesNotExist)
    assert [ok for ok, _ in outcomes] == [True, False, False]
    assert (await _count(database, metrics), await _count(database, latest_metrics)) == (1, 1)
    assert await _count(database, params) == 1

    async def name(conn: AsyncConnection) -> str:
        return str((await conn.execute(sa.select(runs.c.name))).scalar_one())

    assert await database.read(name) == "new"
