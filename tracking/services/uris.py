"""Artifact locations derived from the server's artifact root, as MLflow derives them."""

import posixpath
from pathlib import Path
from urllib.parse import urlsplit


def resolve_root(root: str) -> str:
    """A local folder becomes an absolute path; URIs (mlflow-artifacts:/, s3://...) stay."""
    if len(urlsplit(root).scheme) > 1:  # a URI; a one-letter scheme is a Windows drive
        return root if root.endswith(":/") else root.rstrip("/")
    return str(Path(root).expanduser().resolve())


def join(root: str, *parts: str) -> str:
    if root.endswith(":/"):  # mlflow-artifacts:/ -> mlflow-artifacts:/1
        return root + posixpath.join(*parts)
    return posixpath.join(root.rstrip("/"), *parts)
