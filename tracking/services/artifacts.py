"""Artifact use cases: the mlflow-artifacts proxy and the run-relative tracking endpoints."""

from collections.abc import AsyncIterable

from tracking.artifacts import paths
from tracking.artifacts.base import ArtifactNotFound, Download, FileInfo
from tracking.artifacts.roots import ArtifactRoots, Located
from tracking.errors import InvalidParameterValue, ResourceDoesNotExist
from tracking.services.runs import run_not_found
from tracking.store.database import Database
from tracking.store.runs import run_infos

# MLflow's limit for the UI's upload-artifact endpoint.
MAX_UI_UPLOAD_BYTES = 10 * 1024 * 1024


def _file_path(raw: str | None) -> str:
    """A validated path that names a file (never the root)."""
    path = paths.validate(raw)
    if not path:
        raise paths.invalid_path()
    return path


async def _open(located: Located, shown: str) -> Download:
    try:
        return await located.repository.open(located.path)
    except ArtifactNotFound:
        raise ResourceDoesNotExist(f"Artifact '{shown}' does not exist") from None


class ArtifactService:
    def __init__(self, db: Database, roots: ArtifactRoots) -> None:
        self.db = db
        self.roots = roots

    # -- the proxy: paths relative to the artifacts destination --

    async def upload(self, raw_path: str | None, chunks: AsyncIterable[bytes]) -> None:
        await self.roots.proxy.write(_file_path(raw_path), chunks)

    async def download(self, raw_path: str | None) -> tuple[str, Download]:
        path = _file_path(raw_path)
        return path, await _open(Located(self.roots.proxy, path), path)

    async def list_dir(self, raw_path: str | None) -> list[FileInfo]:
        """Children of a directory, named by their base names (as MLflow's proxy lists them)."""
        path = paths.validate(raw_path)
        return [
            FileInfo(f.path.rsplit("/", 1)[-1], f.is_dir, f.file_size)
            for f in await self.roots.proxy.list(path)
        ]

    async def delete(self, raw_path: str | None) -> None:
        await self.roots.proxy.delete(_file_path(raw_path))

    # -- run artifacts: paths relative to the run's artifact_uri --

    async def _run_root(self, run_id: str) -> tuple[str, Located]:
        infos = await self.db.read(lambda conn: run_infos(conn, [run_id]))
        info = infos.get(run_id)
        if info is None:
            raise run_not_found(run_id)
        located = self.roots.locate(info.artifact_uri)
        if located is None:
            raise InvalidParameterValue(
                f"The artifacts of run {run_id} are at '{info.artifact_uri}', "
                "which this server does not serve"
            )
        return info.artifact_uri, located

    async def list_run(self, run_id: str, raw_path: str | None) -> tuple[str, list[FileInfo]]:
        path = paths.validate(raw_path)
        root_uri, root = await self._run_root(run_id)
        prefix = len(root.path) + 1 if root.path else 0
        files = await root.repository.list(paths.join(root.path, path))
        return root_uri, [FileInfo(f.path[prefix:], f.is_dir, f.file_size) for f in files]

    async def open_run_file(self, run_id: str, raw_path: str | None) -> tuple[str, Download]:
        path = _file_path(raw_path)
        _, root = await self._run_root(run_id)
        return path, await _open(Located(root.repository, paths.join(root.path, path)), path)

    async def upload_run_file(self, run_id: str, raw_path: str | None, data: bytes) -> None:
        path = _file_path(raw_path)
        if not data:
            raise InvalidParameterValue("Request must specify data.")
        if len(data) > MAX_UI_UPLOAD_BYTES:
            raise InvalidParameterValue("Artifact size is too large. Max size is 10MB.")
        _, root = await self._run_root(run_id)
        await root.repository.write(paths.join(root.path, path), _once(data))


async def _once(data: bytes) -> AsyncIterable[bytes]:
    yield data
