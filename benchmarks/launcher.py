"""Run one server process group: prepare, start, wait until it answers, stop (always)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

from benchmarks.peers import Launch

READY_TIMEOUT_S = 120.0
STOP_GRACE_S = 15.0
PREPARE_TIMEOUT_S = 600.0


class ServerFailed(RuntimeError):
    pass


class ServerProcess:
    """A server started in its own session, so that its whole process tree can be signalled."""

    def __init__(self, launch: Launch, base_url: str, scratch: Path) -> None:
        self.launch = launch
        self.base_url = base_url
        self.scratch = scratch
        self.log_path = scratch / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def __enter__(self) -> ServerProcess:
        self.scratch.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.launch.env}
        with open(self.log_path, "ab") as log:
            for command in self.launch.prepare:
                done = subprocess.run(
                    command,
                    stdout=log,
                    stderr=log,
                    cwd=self.scratch,
                    env=env,
                    timeout=PREPARE_TIMEOUT_S,
                    check=False,
                )
                if done.returncode != 0:
                    raise ServerFailed(f"{command[:4]} exited {done.returncode}\n{self.log_tail()}")
            # Output goes to a file, never an unread pipe that would block a chatty server.
            self.proc = subprocess.Popen(
                self.launch.argv,
                stdout=log,
                stderr=log,
                cwd=self.scratch,
                env=env,
                start_new_session=True,
            )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        if self.proc is None:
            return
        pgid = self.proc.pid  # start_new_session made the server its group's leader
        _signal_group(pgid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=STOP_GRACE_S)
        # Workers may outlive a leader that exited; the group id still names them.
        _signal_group(pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=STOP_GRACE_S)
        self.proc = None

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                code = self.proc.returncode
                raise ServerFailed(f"exited {code} while starting\n{self.log_tail()}")
            if _answers(self.base_url):
                return
            time.sleep(0.2)
        raise ServerFailed(f"not ready after {READY_TIMEOUT_S:.0f}s\n{self.log_tail()}")


def _answers(base_url: str) -> bool:
    """Ready means the tracking API answers, not just /health (a server may migrate later)."""
    body = json.dumps({"max_results": 1}).encode()
    request = urllib.request.Request(
        f"{base_url}/api/2.0/mlflow/experiments/search",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)
