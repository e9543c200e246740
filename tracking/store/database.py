"""Read and write access to the database; writes are group-committed.

Concurrent writes are coalesced into one transaction and every caller is answered only after
that transaction has committed: one fsync serves many requests, with full durability.

A write is an item of a batch kind. Generic operations (a coroutine taking a connection) run one
after another; if one fails, the transaction is rolled back and the batch replayed with each
operation in its own SAVEPOINT, so a failure never undoes another request's changes. Kinds that
know how to merge (RunWrites) apply all their items with a few set-based statements. On a SQLite
file, kinds that can also run on sqlite3 itself (`apply_sqlite`) are queued to the direct
writer's thread, which group-commits them itself (store/sqlite_writer.py); the rest go through
the async writer.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tracking.errors import MlflowError, TemporarilyUnavailable
from tracking.store.db_errors import is_disconnect, is_retryable, is_unavailable, translate
from tracking.store.engine import is_sqlite, make_engine
from tracking.store.outcomes import settle
from tracking.store.sqlite_lock import WriterLock, lock_path
from tracking.store.sqlite_writer import SqliteWriter, database_path, supports_sqlite

T = TypeVar("T")
Operation = Callable[[AsyncConnection], Awaitable[Any]]

log = logging.getLogger(__name__)

_MAX_ATTEMPTS = 5


class BatchKind(Protocol):
    async def apply(
        self, conn: AsyncConnection, items: list[Any], careful: bool
    ) -> list[tuple[bool, Any]]:
        """Outcomes per item: (True, result) or (False, exception)."""
        ...


class _OperationFailed(Exception):
    def __init__(self, index: int, error: BaseException) -> None:
        self.index = index
        self.error = error


class Operations:
    """Generic write operations, optimistic first and savepoint-isolated on replay."""

    async def apply(
        self, conn: AsyncConnection, items: list[Operation], careful: bool
    ) -> list[tuple[bool, Any]]:
        outcomes: list[tuple[bool, Any]] = []
        for index, op in enumerate(items):
            if not careful:
                try:
                    outcomes.append((True, await op(conn)))
                except Exception as exc:
                    if is_retryable(exc) or is_unavailable(exc):
                        raise
                    raise _OperationFailed(index, exc) from exc
                continue
            savepoint = await conn.begin_nested()
            try:
                value = await op(conn)
            except Exception as exc:
                if is_retryable(exc) or is_unavailable(exc):
                    raise  # the whole batch is retried or failed
                await savepoint.rollback()
                outcomes.append((False, exc))
                continue
            await savepoint.commit()
            outcomes.append((True, value))
        return outcomes


OPERATIONS = Operations()


class _Pending:
    __slots__ = ("future", "item", "kind")

    def __init__(self, kind: BatchKind, item: Any, future: asyncio.Future[Any]) -> None:
        self.kind = kind
        self.item = item
        self.future = future


class Database:
    def __init__(self, uri: str, *, pool_size: int = 8, max_batch_ops: int = 256) -> None:
        self.reader: AsyncEngine = make_engine(uri, pool_size=pool_size)
        sqlite = is_sqlite(self.reader)
        # SQLite has one writer at a time anyway: a dedicated connection that begins IMMEDIATE.
        self.writer: AsyncEngine = (
            make_engine(uri, pool_size=1, writer=True) if sqlite else self.reader
        )
        path = lock_path(uri) if sqlite else None
        self._writer_lock = WriterLock(path) if path else None
        file = database_path(uri) if sqlite else None
        self._sqlite_writer = (
            SqliteWriter(file, self._writer_lock, max_batch=max_batch_ops)
            if file and self._writer_lock
            else None
        )
        self.max_batch_ops = max_batch_ops
        self._queue: list[_Pending] = []
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def dialect(self) -> str:
        return self.reader.dialect.name

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="group-commit")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for pending in self._queue:
            if not pending.future.done():
                pending.future.set_exception(TemporarilyUnavailable("Server is shutting down"))
        self._queue.clear()
        if self._sqlite_writer is not None:
            await self._sqlite_writer.close()
        await self.reader.dispose()
        if self.writer is not self.reader:
            await self.writer.dispose()
        if self._writer_lock is not None:
            self._writer_lock.close()

    async def read(self, fn: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        try:
            try:
                return await self._read_once(fn)
            except _Disconnected as lost:
                # The pool has no pre-ping (a round trip per request): a connection the database
                # dropped is found when used. A read is safe to run again, once, on a new one.
                log.info("read lost its connection (%s); retrying once", lost.error)
                try:
                    return await self._read_once(fn)
                except _Disconnected as again:
                    raise again.error from again
        except MlflowError:
            raise
        except Exception as exc:
            raise translate(exc) from exc

    async def _read_once(self, fn: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        async with self.reader.connect() as conn:
            try:
                return await fn(conn)
            except Exception as exc:
                if not is_disconnect(exc):
                    raise
                await _invalidate(conn, exc)
                raise _Disconnected(exc) from exc

    async def write(self, fn: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        result: T = await self.submit(OPERATIONS, fn)
        return result

    async def submit(self, kind: BatchKind, item: Any) -> Any:
        future: asyncio.Future[Any]
        if self._sqlite_writer is not None and supports_sqlite(kind):
            future = self._sqlite_writer.submit(kind, item)
        else:
            future = asyncio.get_running_loop().create_future()
            self._queue.append(_Pending(kind, item, future))
            self._wakeup.set()
        # Shielded: a client that goes away does not cancel a write others are batched with.
        return await asyncio.shield(future)

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                batch = self._queue[: self.max_batch_ops]
                del self._queue[: self.max_batch_ops]
                await self._commit_batch(batch)

    async def _commit_batch(self, batch: list[_Pending]) -> None:
        careful = False
        attempt = 0
        while True:
            attempt += 1
            try:
                outcomes = await self._execute(batch, careful)
            except _OperationFailed as failed:
                if len(batch) == 1:
                    # Its transaction was rolled back; nothing else shared it.
                    batch[0].future.set_exception(failed.error)
                    return
                careful = True  # replay with every operation in its own savepoint
                continue
            except _Disconnected as lost:
                # Lost before COMMIT was sent: the database rolled the transaction back, so the
                # batch is replayed on a new connection like a serialization failure. (A loss
                # during COMMIT is not retried: it may have committed.)
                if attempt < _MAX_ATTEMPTS:
                    log.info("write batch lost its connection before commit (%s)", lost.error)
                    await asyncio.sleep(0.005 * attempt)
                    continue
                self._fail(batch, lost.error)
                return
            except Exception as exc:
                if is_retryable(exc) and attempt < _MAX_ATTEMPTS:
                    await asyncio.sleep(0.005 * attempt)
                    continue
                self._fail(batch, exc)
                return
            for pending, outcome in zip(batch, outcomes, strict=True):
                settle(pending.future, outcome)
            return

    def _fail(self, batch: list[_Pending], exc: BaseException) -> None:
        error = translate(exc)
        if not isinstance(exc, MlflowError):
            log.warning("write batch of %d failed: %s", len(batch), exc)
        for pending in batch:
            if not pending.future.done():
                pending.future.set_exception(error)

    def _exclusive(self) -> contextlib.AbstractAsyncContextManager[None]:
        if self._writer_lock is None:
            return contextlib.nullcontext()
        return self._writer_lock.held()

    async def _execute(self, batch: list[_Pending], careful: bool) -> list[tuple[bool, Any]]:
        groups: dict[int, tuple[BatchKind, list[int]]] = {}
        for index, pending in enumerate(batch):
            groups.setdefault(id(pending.kind), (pending.kind, []))[1].append(index)
        outcomes: list[tuple[bool, Any]] = [(False, None)] * len(batch)
        committing = False
        # Kinds working through SQLAlchemy first: they begin its transaction, which kinds
        # working on the driver's connection (RunWrites on PostgreSQL) then join instead of
        # committing on their own.
        ordered = sorted(groups.values(), key=lambda group: _driver_level(group[0]))
        async with self._exclusive(), self.writer.connect() as conn:
            try:
                async with conn.begin():
                    for kind, indexes in ordered:
                        # A lone item needs no savepoint: its failure rolls back only itself.
                        results = await kind.apply(
                            conn, [batch[i].item for i in indexes], careful and len(batch) > 1
                        )
                        for index, result in zip(indexes, results, strict=True):
                            outcomes[index] = result
                    if len(batch) == 1 and not outcomes[0][0]:
                        await conn.rollback()
                    committing = True  # leaving the block sends COMMIT
            except Exception as exc:
                if committing or not is_disconnect(exc):
                    raise
                await _invalidate(conn, exc)
                raise _Disconnected(exc) from exc
        return outcomes


def _driver_level(kind: BatchKind) -> bool:
    return bool(getattr(kind, "driver_level", False))


class _Disconnected(Exception):
    """The connection was lost while no commit was in flight; its connection is invalidated."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


async def _invalidate(conn: AsyncConnection, exc: BaseException) -> None:
    # SQLAlchemy invalidates on the disconnects it sees; a driver-level read's error it never saw.
    if not conn.invalidated:
        with contextlib.suppress(Exception):
            await conn.invalidate(exc if isinstance(exc, Exception) else None)
