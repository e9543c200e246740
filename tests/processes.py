"""Helpers for the real processes tests start: wait until one answers, stop it."""

import subprocess
import time
import urllib.request
from pathlib import Path


def wait_until_ready(
    proc: subprocess.Popen[bytes], probe_url: str, log: Path, name: str, timeout: float
) -> None:
    """Poll `probe_url` until it answers 200; fail with the process log if it exits or hangs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited: {log.read_text()}")
        try:
            with urllib.request.urlopen(probe_url, timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    proc.kill()
    proc.wait()
    raise RuntimeError(f"{name} did not become ready: {log.read_text()}")


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
