"""SQLite write transactions run whole in one thread, on a plain sqlite3 connection.

Through SQLAlchemy's async layer every statement is a round trip between the event loop and
aiosqlite's thread, and each leg waits for a busy loop to come round: a group commit of
log-metric requests held SQLite's write lock for ~8 ms, of which the commit itself is ~0.2 ms.
Batch kinds that can run on sqlite3 directly (`apply_sqlite`) are handed to this writer's
thread as one call: lock, BEGIN IMMEDIATE, the statements, COMMIT, unlock; the loop waits once.
Same file, same pragmas (WAL, synchronous=FULL), same cross-process lock as the async writer.
"""

import asyncio
import contextlib
import fcntl
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import sqlalchemy as sa

from tracking.store.engine import SQLITE_PRAGMAS
from tracking.store.sqlite_lock import WriterLock, database_file

T = TypeVar("T")


def database_path(uri: str) -> str | None:
    """The file behind a sqlite URI that a second, plain connection can open; None for an
    in-memory database (not shareable) or a `file:` URI (its options would be lost)."""
    database = database_file(uri)
    return None if database is None or database.startswith("file:") else database


class SqliteWriter:
    def __init__(self, path: str, lock: WriterLock) -> None:
        self.path = path
        self.lock = lock
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="sqlite-writer")
        self._conn: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            for pragma in SQLITE_PRAGMAS:
                conn.execute(pragma)
            self._conn = conn
        return self._conn

    def _transaction(self, body: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._connection()
        fd = self.lock.fileno()
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = body(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return result
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    async def run(self, body: Callable[[sqlite3.Connection], T]) -> T:
        """`body` inside one committed transaction; raises (rolled back) if it raises.

        sqlite3's errors come back as SQLAlchemy's, as the async writer's do, so the group
        commit's retry and error mapping treat both writers alike."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, self._transaction, body)
        except sqlite3.Error as exc:
            raise sa.exc.DBAPIError.instance(None, None, exc, sqlite3.Error) from exc

    def _close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._close)
        self._executor.shutdown(wait=True)


def supports_sqlite(kind: Any) -> bool:
    return callable(getattr(kind, "apply_sqlite", None))
