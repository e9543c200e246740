"""One measured repeat: start the load process, sample every process tree meanwhile, merge."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import wrk
from benchmarks.load import DRAIN_TIMEOUT_S
from benchmarks.paths import REPO_ROOT
from benchmarks.sampler import ResourceSampler
from benchmarks.sizes import Sizes

SETUP_ALLOWANCE_S = 600.0  # creating runs etc. before the window; generous, but bounded
POPULATE_TIMEOUT_S = 4 * 3600.0


@dataclass(frozen=True)
class Target:
    """Where the load goes and which process trees to sample alongside the load process."""

    base_url: str
    roots: dict[str, int]  # "server" and, on PostgreSQL, "database"
    scratch: Path


def loadgen(
    target: Target,
    task: str,
    sizes: Sizes,
    fixtures: Path | None,
    duration: float,
    warmup: float,
    label: str,
) -> dict[str, Any]:
    out = target.scratch / f"{label}.json"
    argv = [
        sys.executable,
        "-m",
        "benchmarks.loadgen",
        "--base-url",
        target.base_url,
        "--task",
        task,
        "--sizes",
        json.dumps(sizes.to_dict()),
        "--duration",
        str(duration),
        "--warmup",
        str(warmup),
        "--out",
        str(out),
    ]
    if fixtures is not None:
        argv += ["--fixtures", str(fixtures)]
    timeout = (
        POPULATE_TIMEOUT_S
        if task.startswith("populate:")
        else warmup + duration + DRAIN_TIMEOUT_S + SETUP_ALLOWANCE_S
    )
    return _child(argv, target, out, timeout)


def raw_insert(
    target: Target,
    backend: str,
    where: str,
    method: str,
    batch: int,
    clients: int,
    duration: float,
    warmup: float,
    label: str,
) -> dict[str, Any]:
    out = target.scratch / f"{label}.json"
    argv = [
        sys.executable,
        "-m",
        "benchmarks.raw_inserts",
        "--backend",
        backend,
        "--target",
        where,
        "--method",
        method,
        "--batch",
        str(batch),
        "--clients",
        str(clients),
        "--duration",
        str(duration),
        "--warmup",
        str(warmup),
        "--out",
        str(out),
    ]
    return _child(argv, target, out, warmup + duration + DRAIN_TIMEOUT_S + SETUP_ALLOWANCE_S)


def wrk_log_metric(
    target: Target, binary: str, connections: int, duration: float, warmup: float, label: str
) -> dict[str, Any]:
    runs = wrk.create_runs(target.base_url, connections)
    log = target.scratch / f"{label}.log"
    if warmup > 0:
        warm = wrk.start(binary, target.base_url, connections, warmup, runs, 0, log)
        _wait(warm, warmup + 60)
    # The measured run starts at a step no warm-up reaches, so no point is logged twice.
    process = wrk.start(binary, target.base_url, connections, duration, runs, 10**9, log)
    t_start = time.monotonic()
    with ResourceSampler({**target.roots, "client": process.pid}) as sampler:
        _wait(process, duration + 120)
    t_end = time.monotonic()
    result = wrk.parse(log, connections, t_start, t_end)
    return _with_resources(result, sampler)


def _child(argv: list[str], target: Target, out: Path, timeout: float) -> dict[str, Any]:
    log = out.with_suffix(".log")
    out.unlink(missing_ok=True)
    with open(log, "wb") as log_file:
        process = subprocess.Popen(argv, cwd=REPO_ROOT, stdout=log_file, stderr=log_file)
    with ResourceSampler({**target.roots, "client": process.pid}) as sampler:
        _wait(process, timeout)
    if not out.exists():
        tail = log.read_text(errors="replace")[-1500:]
        return {"status": "error", "reason": f"exit {process.returncode}, no output\n{tail}"}
    result: dict[str, Any] = json.loads(out.read_text())
    return _with_resources(result, sampler)


def _wait(process: subprocess.Popen[bytes], timeout: float) -> None:
    """Wait for a child of ours; kill it (by its own pid) on timeout or interruption."""
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass  # killed below; the missing output file reports it
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)


def _with_resources(result: dict[str, Any], sampler: ResourceSampler) -> dict[str, Any]:
    if result.get("status") != "ok" or "t_start" not in result:
        return result
    ops = result.get("ops") or 0
    usage = sampler.window(result["t_start"], result["t_end"])
    machine = usage.pop("machine")
    for tree, tree_usage in usage.items():
        for key, value in tree_usage.items():
            result[f"{tree}_{key}"] = value
        if ops:
            result[f"{tree}_cpu_ms_per_op"] = round(tree_usage["cpu_s"] * 1000 / ops, 4)
    # CPU that none of the measured trees spent (other programs on the machine): a noise gauge.
    ours = sum(u["cpu_s"] for u in usage.values())
    result["background_cpu_s"] = round(max(0.0, machine["cpu_s"] - ours), 3)
    return result
