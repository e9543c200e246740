"""Hand SQLite's write lock between worker processes without busy-wait sleeps.

When two processes write one SQLite file, the one that finds the lock taken is put to sleep by
SQLite's busy handler in growing steps (1, 2, 5, 10, ... ms) and wakes late; under load that
stretches every write. An exclusive flock() on a sidecar file, taken in a thread before BEGIN
IMMEDIATE, blocks instead and returns the moment the holder releases it. SQLite's own locking
stays in force; this only orders the writers of one host (SQLite cannot span hosts anyway).

A process has two writers (the async one and the direct writer's thread) sharing the lock
file's descriptor, and flock() is held per open file, not per thread: a mutex orders the two
inside the process before either takes the flock.
"""

import asyncio
import fcntl
import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.engine import make_url


def database_file(uri: str) -> str | None:
    """The file a sqlite URI names; None for an in-memory database."""
    database = make_url(uri).database
    if not database or database == ":memory:":
        return None
    return database


def lock_path(uri: str) -> str | None:
    database = database_file(uri)
    return None if database is None else f"{database}-writer.lock"


class WriterLock:
    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None
        self._mutex = threading.Lock()

    def _open(self) -> int:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        return self._fd

    def acquire(self) -> None:
        """Take the lock (blocking): first within the process, then across processes."""
        self._mutex.acquire()
        try:
            fcntl.flock(self._open(), fcntl.LOCK_EX)
        except BaseException:
            self._mutex.release()
            raise

    def release(self) -> None:
        try:
            fcntl.flock(self._open(), fcntl.LOCK_UN)
        finally:
            self._mutex.release()

    @asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        await asyncio.to_thread(self.acquire)
        try:
            yield
        finally:
            self.release()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
