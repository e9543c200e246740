"""The storage ceiling: metric rows inserted straight into the database, no HTTP, no ORM.

`python -m benchmarks.raw_inserts --backend postgres|sqlite ...` writes one JSON summary. Rows and
primary key mirror MLflow's `metrics` table; every batch is its own committed transaction.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import asyncpg

from benchmarks.load import Operation, closed_loop

TABLE = "raw_metrics"
COLUMNS = ["key", "value", "timestamp", "run_uuid", "step", "is_nan"]
CREATE = f"""
CREATE TABLE {TABLE} (
    key VARCHAR(250) NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    timestamp BIGINT NOT NULL,
    run_uuid VARCHAR(32) NOT NULL,
    step BIGINT NOT NULL,
    is_nan BOOLEAN NOT NULL,
    PRIMARY KEY (key, timestamp, step, run_uuid, value, is_nan)
)"""
BASE_TS = 1_700_000_000_000


def _rows(run: str, first: int, batch: int) -> list[tuple[Any, ...]]:
    steps = range(first, first + batch)
    return [("loss", 1.0 / (s + 1), BASE_TS + s, run, s, False) for s in steps]


async def postgres(
    dsn: str, method: str, batch: int, clients: int, duration: float, warmup: float
) -> dict[str, Any]:
    setup = await asyncpg.connect(dsn)
    await setup.execute(f"DROP TABLE IF EXISTS {TABLE}")
    await setup.execute(CREATE)
    await setup.close()
    connections = [await asyncpg.connect(dsn) for _ in range(clients)]
    runs = [uuid.uuid4().hex for _ in range(clients)]
    next_step = [0] * clients
    insert = f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) VALUES ($1, $2, $3, $4, $5, $6)"

    async def operation(i: int) -> int:
        rows = _rows(runs[i], next_step[i], batch)
        next_step[i] += batch
        async with connections[i].transaction():
            if method == "copy":
                await connections[i].copy_records_to_table(TABLE, records=rows, columns=COLUMNS)
            else:
                await connections[i].executemany(insert, rows)
        return batch

    try:
        result = await closed_loop(operation, clients, duration, warmup)
    finally:
        await asyncio.gather(*(c.close() for c in connections))
    return result.summary()


async def sqlite(
    path: Path, batch: int, synchronous: str, duration: float, warmup: float
) -> dict[str, Any]:
    # One writer: SQLite serializes writers anyway. WAL + synchronous=FULL = durable commits;
    # NORMAL (what Go's mattn/go-sqlite3 picks by default) skips the fsync per commit.
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute(f"PRAGMA synchronous={synchronous}")
    connection.execute(f"DROP TABLE IF EXISTS {TABLE}")
    connection.execute(CREATE)
    connection.commit()
    run = uuid.uuid4().hex
    next_step = [0]
    insert = f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?)"

    async def operation(i: int) -> int:
        # Blocking on purpose: this process has nothing else to do and one client.
        connection.executemany(insert, _rows(run, next_step[0], batch))
        connection.commit()
        next_step[0] += batch
        return batch

    op: Operation = operation
    try:
        result = await closed_loop(op, 1, duration, warmup)
    finally:
        connection.close()
    return result.summary()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["postgres", "sqlite"], required=True)
    parser.add_argument("--target", required=True, help="asyncpg DSN or SQLite file path")
    parser.add_argument(
        "--method", choices=["copy", "executemany", "executemany-normal"], default="executemany"
    )
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    try:
        if args.backend == "postgres":
            summary = asyncio.run(
                postgres(
                    args.target, args.method, args.batch, args.clients, args.duration, args.warmup
                )
            )
        else:
            synchronous = "NORMAL" if args.method == "executemany-normal" else "FULL"
            summary = asyncio.run(
                sqlite(Path(args.target), args.batch, synchronous, args.duration, args.warmup)
            )
        output: dict[str, Any] = {"status": "ok", **summary}
    except Exception as error:  # reported in the results, the suite goes on
        output = {"status": "error", "reason": f"{type(error).__name__}: {error}"[:2000]}
    Path(args.out).write_text(json.dumps(output))


if __name__ == "__main__":
    main()
