"""Where the harness keeps its virtual environments, scratch data and results."""

from __future__ import annotations

from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
# Both are git-ignored: venvs of the peers (and the harness itself), and per-run databases/logs.
PEERS_DIR = BENCH_DIR / ".peers"
WORK_DIR = BENCH_DIR / ".work"
RESULTS_DIR = BENCH_DIR / "results"
HARNESS_VENV = PEERS_DIR / "harness"
HARNESS_REQUIREMENTS = BENCH_DIR / "requirements.txt"


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"
