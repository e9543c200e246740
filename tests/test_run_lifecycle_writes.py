"""Run creates and updates as batch kinds: a batch of them is checked and written together, on
SQLite's direct writer (apply_sqlite) and through SQLAlchemy (apply), each item getting its own
outcome and a refused item writing nothing."""

import asyncio
import sqlite3
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tracking.entities import DELETED, RUN_NAME_TAG, RunInfo
from tracking.errors import InvalidParameterValue, ResourceDoesNotExist
from tracking.services.experiments import ExperimentService
from tracking.services.runs import RUN_CREATES, RUN_UPDATES, RunService
from tracking.store.database import Database
from tracking.store.outcomes import Outcome
from tracking.store.run_lifecycle import NewRun, RunChange
from tracking.store.sqlite_writer import database_path
from tracking.store.tables import runs, tags


@pytest.fixture(params=["apply", "apply_sqlite"])
def path(request: pytest.FixtureRequest, backend: str) -> str:
    if request.param == "apply_sqlite" and backend != "sqlite":
        pytest.skip("the direct writer is SQLite's")
    return str(request.param)


async def _apply(db: Database, uri: str, path: str, kind: Any, items: list[Any]) -> list[Outcome]:
    """One batch of `items`, committed through `path`."""
    if path == "apply":
        async with db.writer.connect() as conn, conn.begin():
            outcomes: list[Outcome] = await kind.apply(conn, items, False)
        return outcomes
    file = database_path(uri)
    assert file is not None
    conn = sqlite3.connect(file, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        outcomes = kind.apply_sqlite(conn, items, [None] * len(items))
        conn.execute("COMMIT")
    finally:
        conn.close()
    return outcomes


async def _experiments(db: Database) -> tuple[int, int]:
    """(an active experiment, a deleted one)."""
    service = ExperimentService(db, "mlflow-artifacts:/", lambda location: None)
    active = int(await service.create("active", None, []))
    deleted = int(await service.create("deleted", None, []))
    await service.delete(str(deleted))
    return active, deleted


def _new(run_id: str, experiment_id: int, run_tags: tuple[tuple[str, str], ...] = ()) -> NewRun:
    return NewRun(run_id, experiment_id, f"name-{run_id}", "u", 7, run_tags)


async def _create(
    service: RunService,
    experiment_id: int,
    name: str,
    start_time: int = 1,
    run_tags: list[tuple[str, str]] | None = None,
) -> str:
    run = await service.create(
        experiment_id=str(experiment_id),
        user_id="u",
        run_name=name,
        start_time=start_time,
        tags=run_tags or [],
    )
    return run.info.run_id


async def _rows(db: Database, query: Any) -> list[tuple[Any, ...]]:
    async def op(conn: AsyncConnection) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in await conn.execute(query)]

    return await db.read(op)


async def test_a_batch_creates_only_the_runs_its_experiments_accept(
    database: Database, backend_uri: str, path: str
):
    active, deleted = await _experiments(database)
    items = [
        _new("a" * 32, active, (("k", "v"), (RUN_NAME_TAG, "name-" + "a" * 32))),
        _new("b" * 32, deleted, (("k", "lost"),)),
        _new("c" * 32, 987654, ()),
        _new("d" * 32, active, ()),
    ]
    outcomes = await _apply(database, backend_uri, path, RUN_CREATES, items)

    assert [ok for ok, _ in outcomes] == [True, False, False, True]
    info = outcomes[0][1]
    assert info == RunInfo(
        run_id="a" * 32,
        experiment_id=active,
        run_name="name-" + "a" * 32,
        user_id="u",
        status="RUNNING",
        start_time=7,
        end_time=None,
        artifact_uri=f"mlflow-artifacts:/{active}/{'a' * 32}/artifacts",
        lifecycle_stage="active",
    )
    assert isinstance(outcomes[1][1], InvalidParameterValue)
    assert f"The experiment {deleted} must be in the 'active' state" in str(outcomes[1][1])
    assert isinstance(outcomes[2][1], ResourceDoesNotExist)
    assert str(outcomes[2][1]) == "No Experiment with id=987654 exists"
    stored = await _rows(database, sa.select(runs.c.run_uuid).order_by(runs.c.run_uuid))
    assert stored == [("a" * 32,), ("d" * 32,)]
    stored_tags = await _rows(database, sa.select(tags.c.run_uuid, tags.c.key, tags.c.value))
    assert sorted(stored_tags) == [
        ("a" * 32, "k", "v"),
        ("a" * 32, RUN_NAME_TAG, "name-" + "a" * 32),
    ]
    # What the service reads back is what the kind returned.
    got = await RunService(database).get("a" * 32)
    assert got["info"] == info.to_dict()


async def test_changes_in_one_batch_keep_each_others_fields(
    database: Database, backend_uri: str, path: str
):
    """Each change sets only what it names; every caller gets the run as the batch left it.
    A change to a deleted or missing run is refused and writes nothing."""
    service = RunService(database)
    active, _ = await _experiments(database)
    live = await _create(service, active, "first")
    gone = await _create(service, active, "gone")
    await service.delete(gone)
    items = [
        RunChange(live, status="FINISHED"),
        RunChange(gone, status="FAILED", name="lost"),
        RunChange(live, end_time=99),
        RunChange("0" * 32, status="FINISHED"),
        RunChange(live, name="renamed"),
    ]
    outcomes = await _apply(database, backend_uri, path, RUN_UPDATES, items)

    assert [ok for ok, _ in outcomes] == [True, False, True, False, True]
    final = outcomes[0][1]
    assert (final.status, final.end_time, final.run_name) == ("FINISHED", 99, "renamed")
    assert outcomes[2][1] == final and outcomes[4][1] == final
    assert isinstance(outcomes[1][1], InvalidParameterValue)
    assert f"The run {gone} must be in the 'active' state" in str(outcomes[1][1])
    assert isinstance(outcomes[3][1], ResourceDoesNotExist)
    got = await service.get(live)
    assert got["info"] == final.to_dict()
    assert {"key": RUN_NAME_TAG, "value": "renamed"} in got["data"]["tags"]
    deleted = await service.get(gone)
    assert deleted["info"]["status"] == "RUNNING" and deleted["info"]["run_name"] == "gone"
    assert deleted["info"]["lifecycle_stage"] == DELETED


async def test_concurrent_creates_and_updates_through_the_service(database: Database):
    """Many runs created and finished at once (batched as the server batches them): each
    caller gets its own run back, as stored."""
    service = RunService(database)
    active, _ = await _experiments(database)

    async def job(number: int) -> str:
        run_id = await _create(service, active, f"job-{number}", number, [("job", str(number))])
        end = 1000 + number
        info = await service.update(run_id, status="FINISHED", end_time=end, run_name=None)
        assert (info.run_name, info.start_time, info.end_time) == (f"job-{number}", number, end)
        return run_id

    run_ids = await asyncio.gather(*(job(n) for n in range(24)))
    assert len(set(run_ids)) == 24
    for number, run_id in enumerate(run_ids):
        got = await service.get(run_id)
        assert got["info"]["status"] == "FINISHED" and got["info"]["end_time"] == 1000 + number
        assert {"key": "job", "value": str(number)} in got["data"]["tags"]
