"""The one command: `python benchmarks/run.py [options]` installs, starts, loads and reports.

Run with any Python 3.11+: it creates benchmarks/.peers/harness and re-executes itself there.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from types import FrameType

if __package__ in (None, ""):
    # Started as a script: make the `benchmarks` package importable from the repository root.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import bootstrap
from benchmarks.paths import RESULTS_DIR

SERVER_NAMES = ("ours", "mlflow", "fasttrackml")
BACKEND_NAMES = ("sqlite", "postgres")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python benchmarks/run.py",
        description="Side-by-side benchmark of ours vs stock MLflow vs FastTrackML.",
    )
    parser.add_argument(
        "--servers",
        default=",".join(SERVER_NAMES),
        help="comma list of: ours, mlflow, fasttrackml (default: all)",
    )
    parser.add_argument(
        "--backends",
        default=",".join(BACKEND_NAMES),
        help="comma list of: sqlite, postgres (default: both)",
    )
    parser.add_argument(
        "--workloads",
        default="all",
        help="comma list of workload names or groups (see --list); default all",
    )
    parser.add_argument("--list", action="store_true", help="list workloads and groups, then exit")
    parser.add_argument("--duration", type=float, help="measured seconds per repeat (default 10)")
    parser.add_argument("--warmup", type=float, help="unmeasured seconds before each (default 2)")
    parser.add_argument(
        "--repeats", type=int, help="repeats per workload, medians reported (default 3)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="worker processes for servers that have the knob (default 2 = cores)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 3 s, 1 repeat, 1 s warm-up, small populations",
    )
    parser.add_argument("--search-runs", type=int, help="runs in the runs/search experiment")
    parser.add_argument("--history-points", type=int, help="points in the get-history metric")
    parser.add_argument("--experiments", type=int, help="experiments for experiments/search")
    parser.add_argument("--read-clients", type=int, help="concurrent clients for read workloads")
    parser.add_argument(
        "--no-limits", action="store_true", help="skip the raw-insert and trivial-aiohttp limits"
    )
    parser.add_argument("--tag", default=None, help="suffix for the results file names")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="results folder")
    return parser.parse_args(argv)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # SIGTERM unwinds like Ctrl-C, so every `with` stops its server / cluster on the way out.
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if not bootstrap.in_harness_venv():
        bootstrap.reexec_in_harness_venv(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    from benchmarks import cli  # imported late: it needs the harness venv's packages

    try:
        return cli.main(args)
    except KeyboardInterrupt:
        # Every server, load process and the cluster were stopped on the way out; the results
        # file keeps what had been measured so far.
        print("[suite] interrupted; everything the harness started has been stopped", flush=True)
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
