"""A lost database is a 503 TEMPORARILY_UNAVAILABLE, and the server recovers without a restart."""

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.conftest import psql
from tracking.errors import TemporarilyUnavailable
from tracking.store.runs import fetch
from tracking.store.tables import experiments


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_lost_connections_are_503_then_recover(api, backend_uri, pg_base_url):
    experiment_id = await api.experiment("before-outage")
    name = backend_uri.rsplit("/", 1)[1]
    psql(pg_base_url, f"ALTER DATABASE {name} ALLOW_CONNECTIONS false")
    psql(
        pg_base_url,
        f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'",
    )
    try:
        status, body = await api.get("/experiments/get", {"experiment_id": experiment_id})
        assert (status, body["error_code"]) == (503, "TEMPORARILY_UNAVAILABLE")
        status, body = await api.post("/experiments/create", {"name": "during-outage"})
        assert (status, body["error_code"]) == (503, "TEMPORARILY_UNAVAILABLE")
    finally:
        psql(pg_base_url, f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")

    data = await api.ok("GET", "/experiments/get", {"experiment_id": experiment_id})
    assert data["experiment"]["name"] == "before-outage"
    created = await api.ok("POST", "/experiments/create", {"name": "after-outage"})
    assert created["experiment_id"]


def _terminate_all(pg_base_url: str, name: str) -> None:
    psql(
        pg_base_url,
        f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'",
    )


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_first_requests_after_a_restart_succeed(api, backend_uri, pg_base_url):
    # What a PostgreSQL restart does to the pool: every pooled connection is dead, new ones work.
    experiment_id = await api.experiment("before-restart")
    await asyncio.gather(
        *(api.ok("GET", "/experiments/get", {"experiment_id": experiment_id}) for _ in range(6))
    )
    _terminate_all(pg_base_url, backend_uri.rsplit("/", 1)[1])
    await asyncio.sleep(0.2)  # let the loop read the closed sockets, as it would between requests

    data = await api.ok("GET", "/experiments/get", {"experiment_id": experiment_id})
    assert data["experiment"]["name"] == "before-restart"
    found = await api.ok("POST", "/experiments/search", {"max_results": 10})
    assert any(e["experiment_id"] == experiment_id for e in found["experiments"])
    created = await api.ok("POST", "/experiments/create", {"name": "after-restart"})
    assert created["experiment_id"]


async def _kill_own_backend(conn: AsyncConnection, *, driver_level: bool) -> None:
    if driver_level:  # the error comes from asyncpg itself, as in the hot read paths
        await fetch(conn, "SELECT pg_terminate_backend(pg_backend_pid())")
    else:
        await conn.execute(sa.text("SELECT pg_terminate_backend(pg_backend_pid())"))


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
@pytest.mark.parametrize("driver_level", [False, True])
async def test_read_losing_its_connection_is_retried_once(database, driver_level):
    db = database
    calls = 0

    async def read(conn: AsyncConnection) -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            await _kill_own_backend(conn, driver_level=driver_level)
        return int((await conn.execute(sa.text("SELECT 41 + 1"))).scalar_one())

    async def always_lost(conn: AsyncConnection) -> int:
        await _kill_own_backend(conn, driver_level=driver_level)
        return 0

    assert await db.read(read) == 42
    assert calls == 2
    with pytest.raises(TemporarilyUnavailable):  # lost twice: 503, not 500
        await db.read(always_lost)
    assert await db.read(lambda conn: _one(conn)) == 1


async def _one(conn: AsyncConnection) -> int:
    return int((await conn.execute(sa.text("SELECT 1"))).scalar_one())


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_write_losing_its_connection_before_commit_is_replayed_once(database):
    db = database
    attempts = 0

    async def write(conn: AsyncConnection) -> None:
        nonlocal attempts
        attempts += 1
        await conn.execute(
            experiments.insert().values(
                name="replayed",
                artifact_location="",
                lifecycle_stage="active",
                creation_time=0,
                last_update_time=0,
            )
        )
        if attempts == 1:
            await _kill_own_backend(conn, driver_level=False)

    await db.write(write)
    assert attempts == 2
    count = await db.read(
        lambda conn: _scalar(
            conn, sa.select(sa.func.count()).where(experiments.c.name == "replayed")
        )
    )
    assert count == 1  # the lost attempt was rolled back by the server


async def _scalar(conn: AsyncConnection, query: Any) -> int:
    return int((await conn.execute(query)).scalar_one())
