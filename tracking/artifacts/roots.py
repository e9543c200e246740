"""Where this server keeps artifacts, and which client-named locations map into that storage.

The server touches storage only under its roots: the proxy destination (`mlflow-artifacts:/`
URIs map into it), a non-proxied default artifact root, and the operator's allow-list. A location
a client names (an experiment's `artifact_location`, a run's `artifact_uri`) is served only when it
lies under one of them; the path below the root passes the same validation as any artifact path.
"""

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from tracking.artifacts import paths
from tracking.artifacts.base import ArtifactRepository
from tracking.artifacts.factory import is_s3, local_folder, make_repository
from tracking.errors import InvalidParameterValue

PROXY_SCHEME = "mlflow-artifacts:"


def canonical(location: str) -> str | None:
    """s3://bucket/prefix or an absolute folder without trailing slash; None if neither."""
    if is_s3(location):
        return location.rstrip("/")
    folder = local_folder(location)
    if folder is None or not folder.startswith("/"):
        return None
    return folder.rstrip("/") or "/"


@dataclass(frozen=True)
class Located:
    repository: ArtifactRepository
    path: str  # validated, relative to the repository root


class ArtifactRoots:
    def __init__(self, proxy: ArtifactRepository, served: dict[str, ArtifactRepository]) -> None:
        self.proxy = proxy
        self.served = served  # canonical root -> repository

    @classmethod
    async def open(cls, destination: str, extra_roots: list[str]) -> "ArtifactRoots":
        proxy = await make_repository(destination)
        served: dict[str, ArtifactRepository] = {}
        try:
            for location in [destination, *extra_roots]:
                if location.startswith(PROXY_SCHEME):
                    continue
                key = canonical(location if is_s3(location) else _absolute(location))
                if key is None:
                    raise ValueError(f"Unsupported artifact location '{location}'")
                if key not in served:
                    served[key] = proxy if location == destination else await make_repository(key)
        except BaseException:
            for repo in {id(r): r for r in [proxy, *served.values()]}.values():
                await repo.close()
            raise
        return cls(proxy, served)

    def locate(self, uri: str) -> Located | None:
        """The repository and relative path behind `uri`, or None when no root holds it.

        Raises 400 "Invalid path" when the part below a root is not a safe relative path.
        """
        if uri.startswith(PROXY_SCHEME):
            rest = uri[len(PROXY_SCHEME) :]
            if rest.startswith("//") or not rest.startswith("/"):
                return None  # mlflow-artifacts://host/... names another server
            return Located(self.proxy, paths.validate(rest.lstrip("/")))
        key = canonical(uri)
        if key is None:
            return None
        for root, repository in self.served.items():
            if key == root:
                return Located(repository, "")
            if key.startswith(root.rstrip("/") + "/"):
                return Located(repository, paths.validate(key[len(root.rstrip("/")) + 1 :]))
        return None

    def check_location(self, uri: str) -> None:
        """400 unless `uri` lies under one of the server's roots (the experiments/create rule)."""
        if urlsplit(uri).query or urlsplit(uri).fragment or self.locate(uri) is None:
            raise InvalidParameterValue(
                f"artifact_location '{uri}' is not under this server's artifact root or an "
                "allowed artifact location prefix"
            )

    async def close(self) -> None:
        for repo in {id(r): r for r in [self.proxy, *self.served.values()]}.values():
            await repo.close()


def _absolute(location: str) -> str:
    folder = local_folder(location)
    return str(Path(folder).expanduser().resolve()) if folder is not None else location
