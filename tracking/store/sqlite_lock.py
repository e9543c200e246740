"""Hand SQLite's write lock between worker processes without busy-wait sleeps.

When two processes write one SQLite file, the one that finds the lock taken is put to sleep by
SQLite's busy handler in growing steps (1, 2, 5, 10, ... ms) and wakes late; under load that
stretches every write. An exclusive flock() on a sidecar file, taken in a thread before BEGIN
IMMEDIATE, blocks instead and returns the moment the holder releases it. SQLite's own locking
stays in force; this only orders the writers of one host (SQLite cannot span hosts anyway).
"""

import asyncio
import fcntl
import os
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

    def _open(self) -> int:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        return self._fd

    def fileno(self) -> int:
        """The lock file's descriptor, for a thread that takes the lock with flock() itself."""
        return self._open()

    @asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        fd = self._open()
        await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
