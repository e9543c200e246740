"""Build the repository for a storage location: a local folder or s3://bucket/prefix."""

from urllib.parse import urlsplit

from tracking.artifacts.base import ArtifactRepository
from tracking.artifacts.local import LocalRepository


def is_s3(location: str) -> bool:
    return location.startswith("s3://")


def local_folder(location: str) -> str | None:
    """The folder named by a plain path or a file:///abs URI; None for anything else."""
    parts = urlsplit(location)
    if parts.scheme == "file":
        return parts.path if parts.netloc in ("", "localhost") and parts.path else None
    if len(parts.scheme) > 1:  # a URI; a one-letter scheme is a Windows drive
        return None
    return location


async def make_repository(location: str) -> ArtifactRepository:
    if is_s3(location):
        from tracking.artifacts.s3 import open_s3_repository

        return await open_s3_repository(location)
    folder = local_folder(location)
    if folder is None:
        raise ValueError(f"Unsupported artifact storage '{location}': use a folder or s3://")
    return LocalRepository(folder)
