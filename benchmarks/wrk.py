"""log-metric driven by wrk (C, not Python) so light requests are not capped by our own client."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from benchmarks.paths import BENCH_DIR

SCRIPT = BENCH_DIR / "wrk_log_metric.lua"
WRK_WORKLOADS = {"wrk-log-metric-c8": 8, "wrk-log-metric-c64": 64}
RESULT_PREFIX = "WRK_RESULT "


def ensure_installed() -> str:
    path = shutil.which("wrk")
    if path is None:
        print("[wrk] not installed; apt-get install wrk", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-q"], check=True, timeout=600, env=env)
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True, timeout=600, env=env)
        path = shutil.which("wrk")
    if path is None:
        raise RuntimeError("wrk not found after apt-get install wrk")
    return path


def create_runs(base_url: str, count: int) -> list[str]:
    """One experiment and `count` runs, made with plain HTTP before wrk starts (not measured)."""
    experiment = _post(base_url, "experiments/create", {"name": f"wrk-{uuid.uuid4().hex}"})
    runs = []
    for _ in range(count):
        body = {"experiment_id": experiment["experiment_id"], "start_time": int(time.time() * 1000)}
        info = _post(base_url, "runs/create", body)["run"]["info"]
        runs.append(info.get("run_id") or info["run_uuid"])
    return runs


def start(
    wrk: str,
    base_url: str,
    connections: int,
    seconds: float,
    run_ids: list[str],
    first_step: int,
    log: Path,
) -> subprocess.Popen[bytes]:
    """Start wrk with one thread per connection, so each connection logs to its own run."""
    argv = [
        wrk,
        "-t",
        str(connections),
        "-c",
        str(connections),
        "-d",
        f"{max(1, round(seconds))}s",
        "--timeout",
        "30s",
        "-s",
        str(SCRIPT),
        base_url,
        "--",
        str(first_step),
        *run_ids,
    ]
    with open(log, "wb") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)


def parse(log: Path, connections: int, t_start: float, t_end: float) -> dict[str, Any]:
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith(RESULT_PREFIX):
            raw = json.loads(line.removeprefix(RESULT_PREFIX))
            break
    else:
        return {"status": "error", "reason": log.read_text(errors="replace")[-1500:]}
    duration = raw["duration_us"] / 1e6
    errors = sum(
        raw[k]
        for k in ("status_errors", "connect_errors", "read_errors", "write_errors", "timeouts")
    )
    good = max(0, raw["requests"] - raw["status_errors"])
    return {
        "status": "ok",
        "clients": connections,
        "duration_s": round(duration, 3),
        "ops": good,
        "ops_per_s": round(good / duration, 3) if duration else 0.0,
        "items_per_s": round(good / duration, 3) if duration else 0.0,
        "items_per_op": 1.0,
        "p50_ms": raw["p50_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "mean_ms": round(raw["mean_us"] / 1000, 3),
        "errors": errors,
        "first_error": "" if not errors else f"wrk counted {errors} errors: {raw}",
        "t_start": t_start,
        "t_end": t_end,
    }


def _post(base_url: str, path: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(
        f"{base_url}/api/2.0/mlflow/{path}",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())
