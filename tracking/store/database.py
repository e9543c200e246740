"""Read and write access to the database; writes are group-committed.

Every write use case is a coroutine function taking a connection. Concurrent writes are
coalesced into one transaction (each in its own SAVEPOINT, so one failing operation does not
undo the others) and every caller is answered only after that transaction has committed. One
fsync then serves many requests: full durability without one commit per request.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tracking.errors import MlflowError, TemporarilyUnavailable
from tracking.store.engine import is_sqlite, make_engine

T = TypeVar("T")
Operation = Callable[[AsyncConnection], Awaitable[Any]]

log = logging.getLogger(__name__)

_RETRYABLE_SQLSTATES = {"40001", "40P01"}  # serialization failure, deadlock detected
_MAX_ATTEMPTS = 5


# SQLSTATE classes that mean "the database cannot serve us right now": connection exceptions,
# insufficient resources, operator intervention (shutdown, restart) and a database that is not
# accepting connections.
_UNAVAILABLE_SQLSTATES = ("08", "53", "57P", "55000")


def _sqlstate(exc: sa.exc.DBAPIError) -> str | None:
    orig = exc.orig
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if state is None:
        state = getattr(getattr(orig, "__cause__", None), "sqlstate", None)
    return state


def is_retryable(exc: BaseException) -> bool:
    if not isinstance(exc, sa.exc.DBAPIError):
        return False
    if _sqlstate(exc) in _RETRYABLE_SQLSTATES:
        return True
    return "database is locked" in str(exc.orig)


def is_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, sa.exc.DBAPIError):
        if exc.connection_invalidated or isinstance(
            exc, sa.exc.OperationalError | sa.exc.InterfaceError
        ):
            return True
        state = _sqlstate(exc)
        return bool(state) and str(state).startswith(_UNAVAILABLE_SQLSTATES)
    return isinstance(exc, OSError | sa.exc.TimeoutError | ConnectionError)


class _Pending:
    __slots__ = ("future", "op")

    def __init__(self, op: Operation, future: asyncio.Future[Any]) -> None:
        self.op = op
        self.future = future


class Database:
    def __init__(self, uri: str, *, pool_size: int = 8, max_batch_ops: int = 256) -> None:
        self.reader: AsyncEngine = make_engine(uri, pool_size=pool_size)
        sqlite = is_sqlite(self.reader)
        # SQLite has one writer at a time anyway: a dedicated connection that begins IMMEDIATE.
        self.writer: AsyncEngine = (
            make_engine(uri, pool_size=1, writer=True) if sqlite else self.reader
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
        await self.reader.dispose()
        if self.writer is not self.reader:
            await self.writer.dispose()

    async def read(self, fn: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        try:
            async with self.reader.connect() as conn:
                return await fn(conn)
        except MlflowError:
            raise
        except Exception as exc:
            raise _translate(exc) from exc

    async def write(self, fn: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(fn, future))
        self._wakeup.set()
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
        for attempt in range(1, _MAX_ATTEMPTS + 1):
            try:
                outcomes = await self._execute(batch)
            except Exception as exc:
                if is_retryable(exc) and attempt < _MAX_ATTEMPTS:
                    await asyncio.sleep(0.005 * attempt)
                    continue
                error = _translate(exc)
                if not isinstance(exc, MlflowError):
                    log.warning("write batch of %d failed: %s", len(batch), exc)
                for pending in batch:
                    if not pending.future.done():
                        pending.future.set_exception(error)
                return
            for pending, (ok, value) in zip(batch, outcomes, strict=True):
                if pending.future.done():
                    continue
                if ok:
                    pending.future.set_result(value)
                else:
                    pending.future.set_exception(value)
            return

    async def _execute(self, batch: list[_Pending]) -> list[tuple[bool, Any]]:
        outcomes: list[tuple[bool, Any]] = []
        async with self.writer.connect() as conn, conn.begin():
            if len(batch) == 1:
                # No savepoint needed: a failing lone operation rolls back its own transaction.
                outcomes.append((True, await batch[0].op(conn)))
                return outcomes
            for pending in batch:
                savepoint = await conn.begin_nested()
                try:
                    value = await pending.op(conn)
                except Exception as exc:
                    if is_retryable(exc) or is_unavailable(exc):
                        raise  # the whole batch is retried or failed
                    await savepoint.rollback()
                    outcomes.append((False, exc))
                    continue
                await savepoint.commit()
                outcomes.append((True, value))
        return outcomes


def _translate(exc: BaseException) -> BaseException:
    if isinstance(exc, MlflowError):
        return exc
    if is_unavailable(exc):
        return TemporarilyUnavailable(f"Database temporarily unavailable: {type(exc).__name__}")
    return exc
