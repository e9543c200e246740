"""SQLite's group commit for run logging: a writer thread that gathers its batch under the lock.

Through SQLAlchemy's async layer every statement is a round trip between the event loop and
aiosqlite's thread, and each leg waits for a busy loop to come round. Batch kinds that can run
on sqlite3 directly (`apply_sqlite`) are instead queued to this writer's own thread, which
commits them whole: lock, BEGIN IMMEDIATE, the statements, COMMIT, unlock; the loop is told
once per batch.

The thread takes what is queued, prepares it (`prepare_sqlite`: the Python work of turning
requests into rows) and only then waits for the lock; once it holds the lock it takes what
arrived meanwhile too, prepares that, and writes both. Worker processes share one SQLite
writer, so while one commits the others' requests pile up: gathered under the lock they join
the next transaction instead of waiting for one more. Per transaction, the lock is held only
for SQLite's own work and one fsync.

Same file, same pragmas (WAL, synchronous=FULL), same lock as the async writer (WriterLock:
one writer per process, one process at a time).
"""

import asyncio
import collections
import contextlib
import logging
import sqlite3
import threading
import time
from typing import Any

import sqlalchemy as sa

from tracking.store.db_errors import is_sqlite_busy, translate
from tracking.store.engine import SQLITE_PRAGMAS
from tracking.store.outcomes import Outcome, settle
from tracking.store.sqlite_lock import WriterLock, database_file

log = logging.getLogger(__name__)

_MAX_ATTEMPTS = 5


def database_path(uri: str) -> str | None:
    """The file behind a sqlite URI that a second, plain connection can open; None for an
    in-memory database (not shareable) or a `file:` URI (its options would be lost)."""
    database = database_file(uri)
    return None if database is None or database.startswith("file:") else database


def supports_sqlite(kind: Any) -> bool:
    return callable(getattr(kind, "apply_sqlite", None))


class _Queued:
    __slots__ = ("future", "item", "kind", "prepared")

    def __init__(self, kind: Any, item: Any, future: asyncio.Future[Any]) -> None:
        self.kind = kind
        self.item = item
        self.future = future
        self.prepared: Any = None


class SqliteWriter:
    def __init__(
        self,
        path: str,
        lock: WriterLock,
        *,
        max_batch: int = 256,
    ) -> None:
        self.path = path
        self.lock = lock
        self.max_batch = max_batch
        self._queue: collections.deque[_Queued] = collections.deque()
        self._wakeup = threading.Event()
        self._closing = False
        self._conn: sqlite3.Connection | None = None
        self._thread = threading.Thread(target=self._serve, name="sqlite-writer", daemon=True)

    def submit(self, kind: Any, item: Any) -> asyncio.Future[Any]:
        """Queue one item of a kind with `apply_sqlite`; the future is settled on the calling
        loop once its transaction has committed (or failed)."""
        if self._closing:
            raise RuntimeError("the SQLite writer is closed")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if not self._thread.is_alive():
            # Started by the first write, not with the Database: a server that only reads
            # served cached experiment pages ~5% slower with the idle thread (A/B, 3 rounds).
            self._thread.start()
        self._queue.append(_Queued(kind, item, future))
        self._wakeup.set()
        return future

    async def close(self) -> None:
        """Commit what is queued, then stop the thread and close its connection."""
        self._closing = True
        self._wakeup.set()
        if self._thread.is_alive():
            await asyncio.to_thread(self._thread.join)

    def _serve(self) -> None:
        try:
            while True:
                self._wakeup.wait()
                self._wakeup.clear()
                while self._queue:
                    try:
                        self._commit(self._take(self.max_batch))
                    except Exception:  # never let the thread die: later writes would hang
                        log.exception("SQLite writer failed outside a transaction")
                if self._closing and not self._queue:
                    return
        finally:
            if self._conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.close()

    def _take(self, limit: int) -> list[_Queued]:
        batch: list[_Queued] = []
        while self._queue and len(batch) < limit:
            queued = self._queue.popleft()
            prepare = getattr(queued.kind, "prepare_sqlite", None)
            try:
                queued.prepared = None if prepare is None else prepare(queued.item)
            except Exception as exc:  # a bug in preparing one item fails that item alone
                _settle([queued], None, exc)
                continue
            batch.append(queued)
        return batch

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            for pragma in SQLITE_PRAGMAS:
                conn.execute(pragma)
            self._conn = conn
        return self._conn

    def _commit(self, batch: list[_Queued]) -> None:
        attempt = 0
        while True:
            attempt += 1
            try:
                outcomes = self._transaction(batch, gather=attempt == 1)
            except sqlite3.Error as exc:
                if is_sqlite_busy(exc) and attempt < _MAX_ATTEMPTS:
                    time.sleep(0.005 * attempt)
                    continue
                error = sa.exc.DBAPIError.instance(None, None, exc, sqlite3.Error)
                log.warning("SQLite write batch of %d failed: %s", len(batch), exc)
                _settle(batch, None, translate(error))
                return
            except Exception as exc:
                log.warning("SQLite write batch of %d failed: %s", len(batch), exc)
                _settle(batch, None, translate(exc))
                return
            _settle(batch, outcomes, None)
            return

    def _transaction(self, batch: list[_Queued], gather: bool) -> list[Outcome]:
        """One transaction for `batch`, extended in place by what queued while the lock was
        awaited (on the first attempt); the outcome of every item, in order."""
        conn = self._connection()
        self.lock.acquire()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                if gather:
                    batch.extend(self._take(self.max_batch - len(batch)))
                outcomes = _apply(conn, batch)
                conn.execute("COMMIT")
            except BaseException:
                # SQLite ends some failed transactions itself; a failed COMMIT leaves it open.
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            return outcomes
        finally:
            self.lock.release()


def _apply(conn: sqlite3.Connection, batch: list[_Queued]) -> list[Outcome]:
    groups: dict[int, list[int]] = {}
    for index, queued in enumerate(batch):
        groups.setdefault(id(queued.kind), []).append(index)
    outcomes: list[Outcome] = [(False, None)] * len(batch)
    for indexes in groups.values():
        kind = batch[indexes[0]].kind
        items = [batch[i].item for i in indexes]
        prepared = [batch[i].prepared for i in indexes]
        for index, outcome in zip(indexes, kind.apply_sqlite(conn, items, prepared), strict=True):
            outcomes[index] = outcome
    return outcomes


def _settle(
    batch: list[_Queued], outcomes: list[Outcome] | None, error: BaseException | None
) -> None:
    """Hand each item's outcome (or the batch's error) to the loop its caller waits on."""
    by_loop: dict[int, tuple[asyncio.AbstractEventLoop, list[tuple[_Queued, Outcome]]]] = {}
    for index, queued in enumerate(batch):
        outcome = (False, error) if outcomes is None else outcomes[index]
        loop = queued.future.get_loop()
        by_loop.setdefault(id(loop), (loop, []))[1].append((queued, outcome))
    for loop, settled in by_loop.values():
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody is waiting
            loop.call_soon_threadsafe(_set_outcomes, settled)


def _set_outcomes(settled: list[tuple[_Queued, Outcome]]) -> None:
    for queued, outcome in settled:
        settle(queued.future, outcome)
