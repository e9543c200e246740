"""Group-committed run logging under contention: two writers (as two server processes would be)
logging to the same runs at once, and a deadlock reported by the database being retried."""

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator

import orjson
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tracking.entities import RUN_NAME_TAG, Metric
from tracking.errors import InvalidParameterValue, ResourceDoesNotExist
from tracking.services.experiments import ExperimentService
from tracking.services.metrics import MetricService
from tracking.services.run_data import RunDataService
from tracking.services.runs import RunService
from tracking.store.database import Database
from tracking.store.runs import driver


async def _runs(db: Database, count: int) -> list[str]:
    experiments = ExperimentService(db, "mlflow-artifacts:/", lambda location: None)
    await experiments.ensure_default()
    runs = RunService(db)
    created = [
        await runs.create(experiment_id="0", user_id="u", run_name=None, start_time=1, tags=[])
        for _ in range(count)
    ]
    return [run.info.run_id for run in created]


async def test_two_writers_on_the_same_runs(database, backend_uri):
    first, second = database, Database(backend_uri)
    await second.start()
    try:
        run_ids = await _runs(first, 4)
        writers = [RunDataService(first), RunDataService(second)]

        async def client(number: int) -> None:
            writer = writers[number % 2]
            for step in range(10):
                # Every client touches every run, in a different order each time.
                order = run_ids[number % 4 :] + run_ids[: number % 4]
                for run_id in order:
                    await writer.log_batch(
                        run_id,
                        [Metric("loss", float(number * 100 + step), 0, step)],
                        [(f"p{number}", "same")],
                        [("owner", f"client-{number}"), (RUN_NAME_TAG, f"name-{step}")],
                    )

        await asyncio.gather(*(client(n) for n in range(8)))

        runs = RunService(first)
        for run_id in run_ids:
            run = await runs.get(run_id)
            data = run["data"]
            assert {p["key"] for p in data["params"]} == {f"p{n}" for n in range(8)}
            # The latest value is the one of the greatest (step, timestamp, value): step 9,
            # logged by client 7 with value 709.
            assert data["metrics"] == [{"key": "loss", "value": 709.0, "timestamp": 0, "step": 9}]
            assert run["info"]["run_name"] == "name-9"
            page = await MetricService(first).history(
                run_id, "loss", max_results=None, page_token=None
            )
            assert page.count == len(orjson.loads(page.metrics_json)) == 80
    finally:
        await second.close()


async def test_a_changed_param_fails_only_its_own_request(database):
    (run_id,) = await _runs(database, 1)
    data = RunDataService(database)
    await data.log_param(run_id, "lr", "0.1")
    results = await asyncio.gather(
        data.log_param(run_id, "lr", "0.2"),
        data.log_batch(run_id, [Metric("m", 1.0, 0, 0)], [("lr", "0.1")], []),
        return_exceptions=True,
    )
    assert isinstance(results[0], InvalidParameterValue)
    assert results[1] is None


@contextlib.asynccontextmanager
async def _queued_behind_a_lock(
    db: Database, run_id: str, waiters: int, then: str | None = None
) -> AsyncIterator[None]:
    """On PostgreSQL, hold the run's row lock until `waiters` other sessions wait for it, so
    the writers started inside the block all reach the database before any of them may go on;
    `then` is a statement (on :r, the run) the holder runs before it lets them.
    On SQLite the writers simply race: its one writer at a time serialises them anyway."""
    if db.dialect != "postgresql":
        yield
        return
    async with db.reader.connect() as holder, db.reader.connect() as watcher:
        await holder.execute(
            sa.text("SELECT 1 FROM runs WHERE run_uuid = :r FOR UPDATE"), {"r": run_id}
        )
        yield
        waiting = sa.text(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        for _ in range(500):
            if (await watcher.execute(waiting)).scalar_one() >= waiters:
                break
            await watcher.rollback()  # a fresh snapshot of the activity view each time
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("the writers never queued on the run's lock")
        if then is not None:
            await holder.execute(sa.text(then), {"r": run_id})
        await holder.commit()


async def test_two_processes_changing_one_param_one_wins(database, backend_uri):
    """Two server processes get the same param with different values at the same moment:
    exactly one request succeeds and the other is told the value may not change."""
    other = Database(backend_uri)
    await other.start()
    try:
        (run_id,) = await _runs(database, 1)
        async with _queued_behind_a_lock(database, run_id, waiters=2):
            writes = [
                asyncio.create_task(RunDataService(db).log_param(run_id, "lr", value))
                for db, value in ((database, "0.1"), (other, "0.2"))
            ]
            await asyncio.sleep(0)
        results = await asyncio.gather(*writes, return_exceptions=True)
        failed = [r for r in results if isinstance(r, InvalidParameterValue)]
        assert len(failed) == 1 and results.count(None) == 1, results
        stored = (await RunService(database).get(run_id))["data"]["params"]
        assert stored == [{"key": "lr", "value": ("0.1", "0.2")[results.index(None)]}]
    finally:
        await other.close()


async def test_a_batch_writes_only_for_its_active_runs(database):
    """Requests for an active, a deleted and a missing run committed together: only the first
    writes, the others get their own errors."""
    live, deleted = await _runs(database, 2)
    await RunService(database).delete(deleted)
    data = RunDataService(database)
    results = await asyncio.gather(
        data.log_batch(live, [Metric("m", 1.0, 5, 1)], [], [(RUN_NAME_TAG, "kept")]),
        data.log_batch(deleted, [Metric("m", 2.0, 5, 1)], [], [(RUN_NAME_TAG, "lost")]),
        data.log_metric("0" * 32, Metric("m", 3.0, 5, 1)),
        return_exceptions=True,
    )
    assert results[0] is None
    assert isinstance(results[1], InvalidParameterValue)
    assert isinstance(results[2], ResourceDoesNotExist)
    runs = RunService(database)
    kept = await runs.get(live)
    assert kept["data"]["metrics"] == [{"key": "m", "value": 1.0, "timestamp": 5, "step": 1}]
    assert kept["info"]["run_name"] == "kept"
    lost = await runs.get(deleted)
    assert "metrics" not in lost["data"] and lost["info"]["run_name"] != "lost"


async def test_the_first_sent_of_equally_ranked_points_is_the_latest(database):
    """RunData.metrics shows the point of the greatest (step, timestamp, value); among equals
    (NaN is stored as 0) the first sent, within a batch and against stored points alike.
    Points naming a model are stored with it beside points that do not."""
    nan_first, zero_first = await _runs(database, 2)
    data = RunDataService(database)
    nan, zero = Metric("m", math.nan, 5, 3), Metric("m", 0.0, 5, 3)
    older = Metric("m", 9.0, 9, 2)
    await asyncio.gather(
        data.log_batch(
            nan_first, [older, nan, zero, Metric("x", 1.0, 1, 1, model_id="m-1")], [], []
        ),
        data.log_batch(zero_first, [zero, older, nan, Metric("x", 2.0, 2, 2)], [], []),
    )
    await data.log_batch(nan_first, [zero], [], [])
    runs = RunService(database)

    def latest(run: dict) -> dict:
        return {m["key"]: m["value"] for m in run["data"]["metrics"]}

    assert latest(await runs.get(nan_first)) == {"m": "NaN", "x": 1.0}
    assert latest(await runs.get(zero_first)) == {"m": 0.0, "x": 2.0}
    metrics = MetricService(database)
    history = await metrics.history(nan_first, "x", max_results=None, page_token=None)
    assert [point.get("model_id") for point in orjson.loads(history.metrics_json)] == ["m-1"]
    history = await metrics.history(zero_first, "m", max_results=None, page_token=None)
    assert history.count == 3


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_a_run_deleted_while_a_write_waits_for_it_gets_nothing(database):
    """The write queued on the run's lock sees the run as it is once the lock is released."""
    (run_id,) = await _runs(database, 1)
    delete = "UPDATE runs SET lifecycle_stage = 'deleted' WHERE run_uuid = :r"
    data = RunDataService(database)
    async with _queued_behind_a_lock(database, run_id, waiters=1, then=delete):
        write = asyncio.create_task(data.log_metric(run_id, Metric("m", 1.0, 5, 1)))
        await asyncio.sleep(0)
    with pytest.raises(InvalidParameterValue, match="must be in the 'active' state"):
        await write
    assert "metrics" not in (await RunService(database).get(run_id))["data"]


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_a_deadlock_raised_by_the_driver_is_retried(database):
    attempts = 0

    async def write(conn: AsyncConnection) -> int:
        nonlocal attempts
        attempts += 1
        if attempts == 1:  # asyncpg's own error, not wrapped by SQLAlchemy
            native = await driver(conn)
            await native.execute(
                "DO $$ BEGIN RAISE EXCEPTION 'test' USING ERRCODE = '40P01'; END $$"
            )
        return attempts

    assert await database.write(write) == 2


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_a_batch_mixing_driver_and_sqlalchemy_kinds_commits_once(database):
    """A kind on the driver's own connection (RunWrites on PostgreSQL) runs after the kinds
    going through SQLAlchemy, inside the transaction they began: one batch, one commit. Run
    first, it would commit on its own, before SQLAlchemy sends BEGIN."""
    transactions: dict[str, int] = {}

    class DriverKind:
        driver_level = True

        async def apply(self, conn: AsyncConnection, items: list[None], careful: bool):
            native = await driver(conn)
            transactions["driver"] = await native.fetchval("SELECT txid_current()")
            return [(True, None)] * len(items)

    async def generic(conn: AsyncConnection) -> None:
        found = await conn.execute(sa.text("SELECT txid_current()"))
        transactions["sqlalchemy"] = found.scalar_one()

    # Queued in the same turn of the loop, so the group-commit task takes them as one batch.
    await asyncio.gather(database.submit(DriverKind(), None), database.write(generic))
    assert transactions["driver"] == transactions["sqlalchemy"]
