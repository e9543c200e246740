"""The interface every artifact repository implements.

Paths handed to a repository are relative POSIX paths that `tracking.artifacts.paths.validate`
accepted ("" is the root). Repositories still contain every access themselves: a validated path
never leads outside the repository's root.
"""

from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from typing import Protocol

CHUNK_BYTES = 1024 * 1024


class ArtifactNotFound(Exception):
    """No file at that path (a directory is not a file)."""


@dataclass(frozen=True)
class FileInfo:
    path: str  # relative to the repository root
    is_dir: bool
    file_size: int | None  # None for directories

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"path": self.path, "is_dir": self.is_dir}
        if self.file_size is not None:
            out["file_size"] = self.file_size
        return out


class Download(Protocol):
    """An open file: its size, then its bytes in chunks; aclose() releases it early."""

    size: int

    def __aiter__(self) -> AsyncIterator[bytes]: ...

    async def aclose(self) -> None: ...


class ArtifactRepository(Protocol):
    uri: str  # where the repository lives: an absolute folder or s3://bucket/prefix

    async def write(self, path: str, chunks: AsyncIterable[bytes]) -> int:
        """Store a file atomically: it appears under `path` only once all bytes are in.

        Replaces an existing file; returns the number of bytes written.
        """
        ...

    async def open(self, path: str) -> Download:
        """Raises ArtifactNotFound when `path` is not a file."""
        ...

    async def list(self, path: str) -> list[FileInfo]:
        """Direct children of the directory `path`, sorted by path; [] when it does not exist."""
        ...

    async def delete(self, path: str) -> None:
        """Remove the file or the directory tree at `path`; a missing path is not an error."""
        ...

    async def purge_incomplete(self, older_than_seconds: float) -> int:
        """Remove leftovers of uploads that never finished (a crash mid-upload)."""
        ...

    async def close(self) -> None: ...
