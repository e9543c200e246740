"""Get into the harness venv: create it if needed, then re-exec the command line inside it."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from benchmarks.paths import HARNESS_REQUIREMENTS, HARNESS_VENV, REPO_ROOT
from benchmarks.venvs import ensure_venv


def in_harness_venv() -> bool:
    return Path(sys.prefix).resolve() == HARNESS_VENV.resolve()


def reexec_in_harness_venv(argv: list[str]) -> None:
    """Never returns: becomes `python -m benchmarks.run ARGV` inside the harness venv."""
    python = ensure_venv(HARNESS_VENV, ["-r", str(HARNESS_REQUIREMENTS)])
    # Every later child (load generator, limits) runs as `-m benchmarks.x` from the repo root.
    os.chdir(REPO_ROOT)
    os.execv(str(python), [str(python), "-m", "benchmarks.run", *argv])
