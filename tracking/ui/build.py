"""Where the UI build pinned to one MLflow release is installed, and whether it is there."""

import sys
from pathlib import Path

from tracking.config import Settings

# The MLflow release whose web UI this server answers; its wheel's sha256 as published on PyPI.
MLFLOW_VERSION = "3.17.2"
WHEEL_NAME = f"mlflow-{MLFLOW_VERSION}-py3-none-any.whl"
WHEEL_SHA256 = "4e44c03791beb518d8b0a40b0982d958c2634d902f46d67d7907c82107f21fac"
# The folder inside the wheel that holds the React build (index.html, static/, ...).
WHEEL_BUILD_DIR = "mlflow/server/js/build/"


def default_dir() -> Path:
    """Beside the environment the server is installed in (a venv, or /usr/local in Docker)."""
    return Path(sys.prefix) / "share" / "tracking-ui" / f"mlflow-{MLFLOW_VERSION}"


def build_dir(settings: Settings) -> Path:
    return Path(settings.ui_dir) if settings.ui_dir else default_dir()


def is_installed(directory: Path) -> bool:
    return (directory / "index.html").is_file()


def install_hint(directory: Path) -> str:
    return (
        f"The MLflow {MLFLOW_VERSION} web UI is not installed in {directory}.\n\n"
        "Install it (one download of the mlflow wheel; only its UI build is kept) with:\n\n"
        f"    {sys.executable} -m tracking ui install\n\n"
        "`bash scripts/serve.sh` and the Docker image do this for you. The tracking API works "
        "without it.\n"
    )
