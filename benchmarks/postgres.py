"""A throwaway PostgreSQL cluster on loopback: initdb in .work/, start, databases, stop, delete."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from benchmarks.paths import WORK_DIR
from benchmarks.ports import LOOPBACK, free_port

PG_ROOT = Path("/usr/lib/postgresql")
SUPERUSER = "postgres"
COMMAND_TIMEOUT_S = 120


class PostgresCluster:
    """Context manager: the cluster exists (and runs) exactly between __enter__ and __exit__."""

    def __init__(self) -> None:
        self.port = 0
        self.bindir = Path()
        self.home = Path()
        self._started = False

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def log_path(self) -> Path:
        return self.home / "server.log"

    def __enter__(self) -> PostgresCluster:
        self.bindir = ensure_installed()
        WORK_DIR.mkdir(parents=True, exist_ok=True)
        # On disk under the repo, not /tmp: a tmpfs would make fsync free and flatter every server.
        self.home = Path(tempfile.mkdtemp(prefix="pg-", dir=WORK_DIR))
        try:
            self._init_and_start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._started:
            self._started = False
            try:
                self._pg_ctl("stop", "-m", "fast", "-w", "-t", "60")
            except (RuntimeError, subprocess.TimeoutExpired):
                self._kill_postmaster()
        shutil.rmtree(self.home, ignore_errors=True)

    def _kill_postmaster(self) -> None:
        """Last resort when pg_ctl cannot stop our cluster: immediate shutdown of its postmaster."""
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = self.postmaster_pid()
            os.kill(pid, signal.SIGQUIT)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and _alive(pid):
                time.sleep(0.2)

    def _init_and_start(self) -> None:
        os.chmod(self.home, 0o700)
        _chown_to_postgres(self.home)
        self._as_postgres(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data_dir),
            "-U",
            SUPERUSER,
            "--auth=trust",  # loopback only, throwaway data
            "-E",
            "UTF8",
            "--locale=C",
        )
        self.port = free_port()
        # fsync and synchronous_commit stay at their (durable) defaults on purpose.
        options = (
            f"-c listen_addresses={LOOPBACK} -c port={self.port} "
            f"-c unix_socket_directories={self.home}"
        )
        self._pg_ctl("start", "-w", "-t", "60", "-l", str(self.log_path), "-o", options)
        self._started = True

    def url(self, database: str, scheme: str = "postgresql") -> str:
        return f"{scheme}://{SUPERUSER}@{LOOPBACK}:{self.port}/{database}"

    def create_database(self, name: str) -> None:
        self.psql(f'CREATE DATABASE "{name}"')

    def drop_database(self, name: str) -> None:
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def psql(self, sql: str) -> str:
        result = subprocess.run(
            [
                str(self.bindir / "psql"),
                "-h",
                LOOPBACK,
                "-p",
                str(self.port),
                "-U",
                SUPERUSER,
                "-d",
                "postgres",
                "-v",
                "ON_ERROR_STOP=1",
                "-Atc",
                sql,
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_S,
        )
        return result.stdout

    def postmaster_pid(self) -> int:
        return int((self.data_dir / "postmaster.pid").read_text().splitlines()[0])

    def version(self) -> str:
        return self.psql("SHOW server_version").strip()

    def _pg_ctl(self, *args: str) -> None:
        self._as_postgres(str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), *args)

    def _as_postgres(self, *argv: str) -> None:
        # PostgreSQL refuses to run as root; drop to the postgres user the Debian package created.
        prefix = ["runuser", "-u", SUPERUSER, "--"] if os.geteuid() == 0 else []
        with open(self.home / "ctl.log", "ab") as log:
            result = subprocess.run(
                [*prefix, *argv], timeout=COMMAND_TIMEOUT_S, stdout=log, stderr=log, cwd=self.home
            )
        if result.returncode != 0:
            tail = (self.home / "ctl.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{Path(argv[0]).name} failed ({result.returncode}):\n{tail}")


def ensure_installed() -> Path:
    """The bindir holding initdb/pg_ctl; apt-installs PostgreSQL only when it is missing."""
    bindir = _find_bindir()
    if bindir is None:
        print("[postgres] not installed; apt-get install postgresql", flush=True)
        subprocess.run(["apt-get", "update", "-q"], check=True, timeout=600)
        subprocess.run(
            ["apt-get", "install", "-y", "-q", "postgresql"],
            check=True,
            timeout=1200,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
        bindir = _find_bindir()
    if bindir is None:
        raise RuntimeError(f"no initdb under {PG_ROOT}/*/bin after installing postgresql")
    return bindir


def _find_bindir() -> Path | None:
    # Debian keeps the server binaries out of PATH, one folder per major version; take the newest.
    candidates = sorted(PG_ROOT.glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    return candidates[-1].parent if candidates else None


def _alive(pid: int) -> bool:
    # Signal 0 only checks that the process exists.
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _chown_to_postgres(path: Path) -> None:
    if os.geteuid() == 0:
        shutil.chown(path, user=SUPERUSER, group=SUPERUSER)
