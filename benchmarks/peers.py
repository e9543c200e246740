"""The servers under test: how each is installed into its own venv and how it is started."""

from __future__ import annotations

import importlib.metadata
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from benchmarks.databases import Database
from benchmarks.paths import HARNESS_VENV, PEERS_DIR, REPO_ROOT, venv_python
from benchmarks.ports import LOOPBACK
from benchmarks.venvs import ensure_venv

MLFLOW_VERSION = "3.17.2"
FASTTRACKML_VERSION = "0.6.0"


@dataclass(frozen=True)
class Launch:
    argv: list[str]
    workers: str  # what the server actually runs, for the report
    prepare: list[list[str]] = field(default_factory=list)  # run to completion before argv
    env: dict[str, str] = field(default_factory=dict)


class ServerTarget(Protocol):
    name: str

    def install(self) -> None: ...

    def version(self) -> str: ...

    def launch(self, port: int, db: Database | None, artifacts: Path, workers: int) -> Launch: ...


class Mlflow:
    name = "mlflow"
    venv = PEERS_DIR / "mlflow"

    def install(self) -> None:
        # psycopg v3: with SQLAlchemy 2.1 a bare postgresql:// URL means the psycopg dialect.
        ensure_venv(self.venv, [f"mlflow=={MLFLOW_VERSION}", "psycopg[binary]"])

    def version(self) -> str:
        return f"mlflow {MLFLOW_VERSION}"

    def launch(self, port: int, db: Database | None, artifacts: Path, workers: int) -> Launch:
        assert db is not None
        argv = [
            str(self.venv / "bin" / "mlflow"),
            "server",
            "--host",
            LOOPBACK,
            "--port",
            str(port),
            "--backend-store-uri",
            db.sqlalchemy_url(),
            "--default-artifact-root",
            str(artifacts),
            "--workers",
            str(workers),
        ]
        # Stock defaults otherwise: uvicorn with 4 workers unless told, plus a job runner that
        # forks huey consumers; their memory and CPU are part of the server's process tree.
        return Launch(
            argv, workers=f"{workers} uvicorn workers (stock default 4) + huey job runner"
        )


class FastTrackML:
    name = "fasttrackml"
    venv = PEERS_DIR / "fasttrackml"

    def install(self) -> None:
        # Its declared dependencies pull an old mlflow that breaks; the wheel carries a Go binary.
        ensure_venv(self.venv, ["--no-deps", f"fasttrackml=={FASTTRACKML_VERSION}"])

    def version(self) -> str:
        return f"fasttrackml {FASTTRACKML_VERSION}"

    def launch(self, port: int, db: Database | None, artifacts: Path, workers: int) -> Launch:
        assert db is not None
        argv = [
            str(self.venv / "bin" / "fml"),
            "server",
            "-a",
            f"{LOOPBACK}:{port}",
            "-d",
            db.go_url(),
            "--default-artifact-root",
            str(artifacts),
        ]
        # No worker knob: one Go process whose scheduler uses every core (GOMAXPROCS = nproc).
        return Launch(argv, workers="1 Go process, GOMAXPROCS = all cores (no worker knob)")


class Ours:
    name = "ours"
    venv = PEERS_DIR / "ours"

    def install(self) -> None:
        # Editable, so the harness always measures the working tree; reinstalled when deps change.
        ensure_venv(self.venv, ["-e", str(REPO_ROOT)], watch=(REPO_ROOT / "pyproject.toml",))

    def version(self) -> str:
        head = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--", "tracking", "migrations"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        ).stdout.strip()
        return f"ours {head or 'no-commit'}{'+dirty' if dirty else ''}"

    def launch(self, port: int, db: Database | None, artifacts: Path, workers: int) -> Launch:
        assert db is not None
        python = str(venv_python(self.venv))
        url = db.sqlalchemy_url()
        # The server creates a SQLite schema itself; PostgreSQL needs the migration run first.
        prepare = (
            [[python, "-m", "tracking", "db", "upgrade", "--backend-store-uri", url]]
            if db.backend == "postgres"
            else []
        )
        argv = [
            python,
            "-m",
            "tracking",
            "serve",
            "--host",
            LOOPBACK,
            "--port",
            str(port),
            "--backend-store-uri",
            url,
            "--default-artifact-root",
            str(artifacts),
            "--workers",
            str(workers),
        ]
        return Launch(argv, workers=f"{workers} worker processes", prepare=prepare)


class TrivialAiohttp:
    """The HTTP ceiling: an aiohttp app that parses the JSON body and answers `{}`; no database."""

    name = "aiohttp-trivial"

    def install(self) -> None:
        pass  # runs from the harness venv, which exists by now

    def version(self) -> str:
        return f"aiohttp {importlib.metadata.version('aiohttp')} trivial handler"

    def launch(self, port: int, db: Database | None, artifacts: Path, workers: int) -> Launch:
        argv = [
            str(venv_python(HARNESS_VENV)),
            "-m",
            "benchmarks.trivial_server",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ]
        # Servers run from a scratch folder; `-m benchmarks...` needs the repo on the path.
        return Launch(
            argv,
            workers=f"{workers} processes (SO_REUSEPORT)",
            env={"PYTHONPATH": str(REPO_ROOT)},
        )


SERVERS: dict[str, ServerTarget] = {
    target.name: target for target in (Ours(), Mlflow(), FastTrackML())
}
TRIVIAL = TrivialAiohttp()
