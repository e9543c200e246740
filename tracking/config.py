"""Server settings: one frozen dataclass built from CLI flags and environment variables."""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

DEFAULT_DB_FILE = "mlruns.db"
# As with `mlflow server --serve-artifacts` (its default): clients upload through the proxy.
DEFAULT_ARTIFACT_ROOT = "mlflow-artifacts:/"
DEFAULT_ARTIFACTS_DESTINATION = "./mlartifacts"


def default_database_url() -> str:
    return f"sqlite:///{Path(DEFAULT_DB_FILE).resolve()}"


@dataclass(frozen=True)
class Settings:
    backend_store_uri: str = field(default_factory=default_database_url)
    default_artifact_root: str = DEFAULT_ARTIFACT_ROOT
    artifacts_destination: str = DEFAULT_ARTIFACTS_DESTINATION
    host: str = "127.0.0.1"
    port: int = 5000
    workers: int = 1
    max_body_bytes: int = 64 * 1024 * 1024
    # Group commit: how many write operations one transaction may carry at most.
    max_batch_ops: int = 256
    db_pool_size: int = 8
    # Apply pending migrations at startup (always on for SQLite; PostgreSQL uses `db upgrade`).
    auto_migrate: bool | None = None
    # Locations (folders, s3://bucket/prefix) an experiment's artifact_location may name besides
    # the artifact root; the server serves artifacts from these too.
    allowed_artifact_locations: tuple[str, ...] = ()
    # The stock MLflow web UI: served at `/` unless turned off; `ui_dir` overrides where its
    # installed build is looked for; everything (UI and API) lives under `static_prefix` if set.
    ui_enabled: bool = True
    ui_dir: str | None = None
    static_prefix: str = ""

    @property
    def is_sqlite(self) -> bool:
        return self.backend_store_uri.startswith("sqlite")

    @property
    def should_migrate(self) -> bool:
        return self.is_sqlite if self.auto_migrate is None else self.auto_migrate

    @property
    def artifact_roots(self) -> list[str]:
        """Storage the server may touch besides the proxy destination."""
        extra = [self.default_artifact_root, *self.allowed_artifact_locations]
        return [loc for loc in extra if not loc.startswith("mlflow-artifacts:")]

    def with_(self, **changes: Any) -> "Settings":
        return replace(self, **changes)


# Environment variables mirror the CLI flags, for containers.
ENV_VARS: dict[str, str] = {
    "backend_store_uri": "MLFLOW_BACKEND_STORE_URI",
    "default_artifact_root": "MLFLOW_DEFAULT_ARTIFACT_ROOT",
    "artifacts_destination": "MLFLOW_ARTIFACTS_DESTINATION",
    "host": "MLFLOW_HOST",
    "port": "MLFLOW_PORT",
    "workers": "MLFLOW_WORKERS",
    "max_body_bytes": "TRACKING_MAX_BODY_BYTES",
    "max_batch_ops": "TRACKING_MAX_BATCH_OPS",
    "db_pool_size": "TRACKING_DB_POOL_SIZE",
    "allowed_artifact_locations": "TRACKING_ALLOWED_ARTIFACT_LOCATIONS",
    "ui_enabled": "TRACKING_UI",
    "ui_dir": "TRACKING_UI_DIR",
    "static_prefix": "MLFLOW_STATIC_PREFIX",
}
_INT_FIELDS = {"port", "workers", "max_body_bytes", "max_batch_ops", "db_pool_size"}
_BOOL_FIELDS = {"ui_enabled"}


def split_list(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


def _parse(name: str, value: str) -> Any:
    if name in _INT_FIELDS:
        return int(value)
    if name == "allowed_artifact_locations":
        return split_list(value)
    if name in _BOOL_FIELDS:
        return value.strip().lower() not in ("0", "false", "no", "off")
    return value


def from_env(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    for name, var in ENV_VARS.items():
        if var in env and env[var] != "":
            values[name] = _parse(name, env[var])
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(**values)
