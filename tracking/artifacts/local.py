"""Artifacts in a local folder, reached only through directory descriptors that never follow links.

Every access walks from the root one segment at a time with O_NOFOLLOW, so a symlink planted
inside the root (or swapped in during a request) cannot lead out of it. Uploads are written to a
staging folder inside the root (same filesystem), fsynced, then renamed into place: a reader sees
the old file or the complete new one, never a partial one.
"""

import asyncio
import contextlib
import errno
import os
import shutil
import stat
import time
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path

from tracking.artifacts.base import CHUNK_BYTES, ArtifactNotFound, FileInfo
from tracking.artifacts.paths import invalid_path
from tracking.errors import InvalidParameterValue

STAGING = ".tracking-partial"
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_NOT_THERE = (errno.ENOENT, errno.ENOTDIR, errno.ELOOP)


def _parts(path: str) -> list[str]:
    parts = path.split("/") if path else []
    if parts and parts[0] == STAGING:
        raise invalid_path()
    return parts


class LocalDownload:
    def __init__(self, fd: int, size: int) -> None:
        self.fd: int | None = fd
        self.size = size

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            while self.fd is not None:
                chunk = await asyncio.to_thread(os.read, self.fd, CHUNK_BYTES)
                if not chunk:
                    break
                yield chunk
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        fd, self.fd = self.fd, None
        if fd is not None:
            os.close(fd)


class LocalRepository:
    def __init__(self, root: str | Path) -> None:
        path = Path(root).expanduser().resolve()
        (path / STAGING).mkdir(parents=True, exist_ok=True)
        self.root = path
        self.uri = str(path)

    # -- directory walking (blocking; run in a thread) --

    def _open_dir(self, parts: list[str], create: bool = False) -> int:
        fd = os.open(self.root, _DIR_FLAGS)
        try:
            for part in parts:
                if create:
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(part, dir_fd=fd)
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = child
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _open_file(self, path: str) -> LocalDownload:
        *dirs, name = _parts(path) or [""]
        if not name:
            raise ArtifactNotFound(path)
        try:
            dir_fd = self._open_dir(dirs)
        except OSError as exc:
            if exc.errno in _NOT_THERE:
                raise ArtifactNotFound(path) from None
            raise
        try:
            # O_NONBLOCK: a FIFO planted in the root must not block a worker thread forever.
            flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
            fd = os.open(name, flags, dir_fd=dir_fd)
        except OSError as exc:
            if exc.errno in _NOT_THERE:
                raise ArtifactNotFound(path) from None
            raise
        finally:
            os.close(dir_fd)
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            raise ArtifactNotFound(path)
        return LocalDownload(fd, info.st_size)

    def _list(self, path: str) -> list[FileInfo]:
        parts = _parts(path)
        try:
            dir_fd = self._open_dir(parts)
        except OSError as exc:
            if exc.errno in _NOT_THERE:
                return []
            raise
        files = []
        try:
            with os.scandir(dir_fd) as entries:
                for entry in entries:
                    if not parts and entry.name == STAGING:
                        continue
                    child = "/".join([*parts, entry.name])
                    if entry.is_dir(follow_symlinks=False):
                        files.append(FileInfo(child, True, None))
                    elif entry.is_file(follow_symlinks=False):
                        size = entry.stat(follow_symlinks=False).st_size
                        files.append(FileInfo(child, False, size))
        finally:
            os.close(dir_fd)
        return sorted(files, key=lambda f: f.path)

    def _delete(self, path: str) -> None:
        *dirs, name = _parts(path) or [""]
        if not name:
            raise InvalidParameterValue("Refusing to delete the artifact root")
        try:
            dir_fd = self._open_dir(dirs)
        except OSError as exc:
            if exc.errno in _NOT_THERE:
                return
            raise
        try:
            try:
                mode = os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode
            except FileNotFoundError:
                return
            if stat.S_ISDIR(mode):
                shutil.rmtree(name, dir_fd=dir_fd)
            else:
                os.unlink(name, dir_fd=dir_fd)
        finally:
            os.close(dir_fd)

    def _commit(self, staged: str, path: str) -> None:
        *dirs, name = _parts(path)
        try:
            dir_fd = self._open_dir(dirs, create=True)
        except OSError as exc:
            if exc.errno in (errno.ENOTDIR, errno.ELOOP, errno.EEXIST):
                message = f"Cannot write '{path}': a parent is not a folder"
                raise InvalidParameterValue(message) from None
            raise
        staging_fd = self._open_dir([STAGING])
        try:
            os.replace(staged, name, src_dir_fd=staging_fd, dst_dir_fd=dir_fd)
            os.fsync(dir_fd)
        except IsADirectoryError:
            raise InvalidParameterValue(f"Cannot write '{path}': it is a folder") from None
        finally:
            os.close(staging_fd)
            os.close(dir_fd)

    def _create_staged(self) -> tuple[str, int]:
        name = uuid.uuid4().hex
        staging_fd = self._open_dir([STAGING], create=True)
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            return name, os.open(name, flags, 0o644, dir_fd=staging_fd)
        finally:
            os.close(staging_fd)

    def _discard_staged(self, name: str) -> None:
        staging_fd = self._open_dir([STAGING])
        try:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name, dir_fd=staging_fd)
        finally:
            os.close(staging_fd)

    def _purge(self, older_than_seconds: float) -> int:
        cutoff = time.time() - older_than_seconds
        removed = 0
        staging_fd = self._open_dir([STAGING], create=True)
        try:
            for name in os.listdir(staging_fd):
                info = os.stat(name, dir_fd=staging_fd, follow_symlinks=False)
                if info.st_mtime < cutoff:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(name, dir_fd=staging_fd)
                        removed += 1
        finally:
            os.close(staging_fd)
        return removed

    # -- the interface --

    async def write(self, path: str, chunks: AsyncIterable[bytes]) -> int:
        if not _parts(path):
            raise invalid_path()
        staged, fd = await asyncio.to_thread(self._create_staged)
        written = 0
        try:
            buffer = bytearray()
            async for chunk in chunks:
                buffer += chunk
                if len(buffer) >= CHUNK_BYTES:
                    written += await asyncio.to_thread(_write_all, fd, bytes(buffer))
                    buffer.clear()
            if buffer:
                written += await asyncio.to_thread(_write_all, fd, bytes(buffer))
            await asyncio.to_thread(os.fsync, fd)
            os.close(fd)
            fd = -1
            await asyncio.to_thread(self._commit, staged, path)
        except BaseException:
            if fd >= 0:
                os.close(fd)
            await asyncio.shield(asyncio.to_thread(self._discard_staged, staged))
            raise
        return written

    async def open(self, path: str) -> LocalDownload:
        return await asyncio.to_thread(self._open_file, path)

    async def list(self, path: str) -> list[FileInfo]:
        return await asyncio.to_thread(self._list, path)

    async def delete(self, path: str) -> None:
        await asyncio.to_thread(self._delete, path)

    async def purge_incomplete(self, older_than_seconds: float) -> int:
        return await asyncio.to_thread(self._purge, older_than_seconds)

    async def close(self) -> None:
        return None


def _write_all(fd: int, data: bytes) -> int:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    return len(data)
