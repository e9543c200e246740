"""Create a venv and pip-install into it once (stdlib only: runs before the harness venv exists)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

from benchmarks.paths import venv_python

# pip may resolve and build for minutes on a cold cache; a hung index should still end the run.
INSTALL_TIMEOUT_S = 1800


def ensure_venv(
    venv: Path, pip_args: list[str], *, watch: tuple[Path, ...] = (), force: bool = False
) -> Path:
    """The venv's python, (re)installing only when the pip arguments or watched files changed."""
    stamp = venv / ".installed"
    wanted = _fingerprint([*pip_args, *map(str, watch)])
    if not force and stamp.exists() and stamp.read_text() == wanted:
        return venv_python(venv)
    if not venv_python(venv).exists():
        print(f"[venv] creating {venv}", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    print(f"[venv] pip install {' '.join(pip_args)} -> {venv.name}", flush=True)
    subprocess.run(
        [str(venv_python(venv)), "-m", "pip", "install", "--quiet", *pip_args],
        check=True,
        timeout=INSTALL_TIMEOUT_S,
    )
    stamp.write_text(wanted)
    return venv_python(venv)


def _fingerprint(pip_args: list[str]) -> str:
    # A requirements file is fingerprinted by content so that editing it triggers a reinstall.
    parts = []
    for arg in pip_args:
        path = Path(arg)
        parts.append(path.read_text() if path.is_file() else arg)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()
