"""SQLite reads of one process take turns: their statements never fetch at the same time."""

import asyncio

import aiosqlite
import pytest

from tracking.store.runs import fetch

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


async def test_concurrent_reads_fetch_one_at_a_time_and_all_answer(database, monkeypatch):
    fetching = 0
    most = 0
    original = aiosqlite.Connection.execute_fetchall

    async def watched(self, sql, parameters=None):
        nonlocal fetching, most
        fetching += 1
        most = max(most, fetching)
        try:
            await asyncio.sleep(0.005)  # without turns, every other read would start meanwhile
            return await original(self, sql, parameters)
        finally:
            fetching -= 1

    monkeypatch.setattr(aiosqlite.Connection, "execute_fetchall", watched)

    async def read(number: int) -> int:
        rows = await database.read(lambda conn: fetch(conn, "SELECT ? * 2", number))
        return int(rows[0][0])

    assert await asyncio.gather(*(read(n) for n in range(8))) == [n * 2 for n in range(8)]
    assert most == 1


async def test_a_failed_read_gives_the_turn_back(database):
    with pytest.raises(Exception, match="no such table"):
        await database.read(lambda conn: fetch(conn, "SELECT * FROM no_such_table"))
    rows = await asyncio.wait_for(database.read(lambda conn: fetch(conn, "SELECT 1")), 5)
    assert rows[0][0] == 1
