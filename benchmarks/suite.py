"""Orchestration: per backend, each server in turn on a fresh database, all workloads, N repeats."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

from benchmarks import measure, report, wrk
from benchmarks.databases import Database, fresh_database
from benchmarks.launcher import ServerFailed, ServerProcess
from benchmarks.measure import Target
from benchmarks.paths import WORK_DIR
from benchmarks.peers import SERVERS, TRIVIAL, ServerTarget
from benchmarks.populations import POPULATIONS
from benchmarks.ports import LOOPBACK, free_port
from benchmarks.postgres import PostgresCluster
from benchmarks.records import Results
from benchmarks.sizes import Sizes
from benchmarks.workloads import WORKLOADS

LIGHT = ("log-metric-c8", "log-metric-c64", *wrk.WRK_WORKLOADS)  # also run against the trivial app
RAW_BATCHES = (1, 100, 1000)
RAW_CLIENTS_POSTGRES = 8  # as many writers as the log-metric/log-batch clients
ALL_WORKLOADS = (*WORKLOADS, *wrk.WRK_WORKLOADS)


@dataclass(frozen=True)
class Options:
    servers: list[str]
    backends: list[str]
    workloads: list[str]
    duration: float = 10.0
    warmup: float = 2.0
    repeats: int = 3
    workers: int = 2
    sizes: Sizes = field(default_factory=Sizes)
    limits: bool = True
    out_dir: Path = Path()
    tag: str = ""


def run_suite(options: Options) -> Path:
    stamp = dt.datetime.now().strftime("%Y-%m-%dT%H%M%S")
    name = f"{stamp}-{options.tag}" if options.tag else stamp
    results = Results(options.out_dir / f"{name}.json", _meta(options))
    servers = []
    for server in options.servers:
        try:
            SERVERS[server].install()
            servers.append(server)
        except (subprocess.SubprocessError, OSError) as error:  # the others still run
            print(f"[{server}] install failed: {error}", flush=True)
            for backend in options.backends:
                for workload in options.workloads:
                    _record_failure(results, server, backend, workload, f"install: {error}")
    wrk_binary = wrk.ensure_installed() if set(options.workloads) & set(wrk.WRK_WORKLOADS) else ""
    with _scratch() as scratch:
        light = [w for w in options.workloads if w in LIGHT]
        if options.limits and light:
            _run_server(TRIVIAL, "none", None, light, options, results, scratch, wrk_binary)
        for backend in options.backends:
            with contextlib.ExitStack() as stack:
                cluster = stack.enter_context(PostgresCluster()) if backend == "postgres" else None
                if cluster is not None:
                    results.doc["meta"]["postgres"] = cluster.version()
                for server in servers:
                    _run_server(
                        SERVERS[server],
                        backend,
                        cluster,
                        options.workloads,
                        options,
                        results,
                        scratch,
                        wrk_binary,
                    )
                if options.limits:
                    _raw_inserts(backend, cluster, options, results, scratch)
    results.finish({"finished": dt.datetime.now().isoformat(timespec="seconds")})
    report.write_all(results.doc, results.path.with_suffix(""))
    return results.path


@contextlib.contextmanager
def _scratch() -> Iterator[Path]:
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="run-", dir=WORK_DIR))
    try:
        yield folder
    finally:
        # Server and load-generator logs go with it; BENCH_KEEP_SCRATCH=1 keeps them for a
        # post-mortem (databases are deleted by fresh_database either way).
        if not os.environ.get("BENCH_KEEP_SCRATCH"):
            shutil.rmtree(folder, ignore_errors=True)


def _run_server(
    target: ServerTarget,
    backend: str,
    cluster: PostgresCluster | None,
    workloads: list[str],
    options: Options,
    results: Results,
    scratch: Path,
    wrk_binary: str,
) -> None:
    folder = scratch / f"{backend}-{target.name}"
    with contextlib.ExitStack() as stack:
        db: Database | None = None
        if backend != "none":
            db = stack.enter_context(fresh_database(backend, target.name, folder, cluster))
        port = free_port()
        launch = target.launch(port, db, folder / "artifacts", options.workers)
        base_url = f"http://{LOOPBACK}:{port}"
        results.server(
            target.name,
            backend,
            {"version": target.version(), "workers": launch.workers, "argv": launch.argv},
        )
        try:
            server = stack.enter_context(ServerProcess(launch, base_url, folder))
        except ServerFailed as error:
            print(f"[{backend} {target.name}] failed to start: {error}", flush=True)
            for workload in workloads:
                _record_failure(results, target.name, backend, workload, f"server: {error}")
            return
        roots = {"server": server.pid}
        if cluster is not None:
            roots["database"] = cluster.postmaster_pid()
        _workloads(
            Target(base_url, roots, folder),
            server,
            target.name,
            backend,
            workloads,
            options,
            results,
            wrk_binary,
        )


def _workloads(
    target: Target,
    server: ServerProcess,
    name: str,
    backend: str,
    workloads: list[str],
    options: Options,
    results: Results,
    wrk_binary: str,
) -> None:
    fixtures_path = target.scratch / "fixtures.json"
    fixtures: dict[str, Any] = {}
    fixtures_path.write_text("{}")
    for workload in workloads:
        if server.proc is None or server.proc.poll() is not None:
            _record_failure(results, name, backend, workload, f"server exited\n{server.log_tail()}")
            continue
        population = WORKLOADS[workload].population if workload in WORKLOADS else None
        if population and population not in fixtures:
            print(f"[{backend} {name}] populating {population} ...", flush=True)
            outcome = measure.loadgen(
                target,
                f"populate:{population}",
                options.sizes,
                None,
                0,
                0,
                f"populate-{population}",
            )
            results.population(name, backend, population, outcome)
            print(
                f"[{backend} {name}] populated {population}: {outcome.get('status')} "
                f"in {outcome.get('seconds')}s {outcome.get('reason', '')}",
                flush=True,
            )
            fixtures[population] = outcome.get("fixture")
            fixtures_path.write_text(json.dumps(fixtures))
        if population and not fixtures.get(population):
            _record_failure(results, name, backend, workload, f"population {population} failed")
            continue
        repeats = []
        for repeat in range(1, options.repeats + 1):
            label = f"{workload}-{repeat}"
            if workload in wrk.WRK_WORKLOADS:
                outcome = measure.wrk_log_metric(
                    target,
                    wrk_binary,
                    wrk.WRK_WORKLOADS[workload],
                    options.duration,
                    options.warmup,
                    label,
                )
            else:
                outcome = measure.loadgen(
                    target,
                    workload,
                    options.sizes,
                    fixtures_path,
                    options.duration,
                    options.warmup,
                    label,
                )
            _print_repeat(backend, name, label, outcome)
            repeats.append(outcome)
            if outcome.get("status") == "n/a":
                break  # a missing endpoint stays missing
        results.measurement(name, backend, workload, _attrs(workload, options), repeats)


def _raw_inserts(
    backend: str, cluster: PostgresCluster | None, options: Options, results: Results, scratch: Path
) -> None:
    folder = scratch / f"{backend}-raw"
    folder.mkdir(parents=True, exist_ok=True)
    # SQLite with synchronous=NORMAL is no limit for a durable server, only a reference point:
    # it is what FastTrackML's SQLite driver runs with.
    methods = (
        ("copy", "executemany") if backend == "postgres" else ("executemany", "executemany-normal")
    )
    clients = RAW_CLIENTS_POSTGRES if backend == "postgres" else 1
    with fresh_database(backend, "raw", folder, cluster) as db:
        where = db.asyncpg_dsn() if backend == "postgres" else str(db.sqlite_path)
        roots = {"database": cluster.postmaster_pid()} if cluster is not None else {}
        target = Target("", roots, folder)
        for method in methods:
            for batch in RAW_BATCHES:
                server = f"raw-{method}"
                repeats = []
                for repeat in range(1, options.repeats + 1):
                    label = f"raw-{method}-{batch}-{repeat}"
                    outcome = measure.raw_insert(
                        target,
                        backend,
                        where,
                        method,
                        batch,
                        clients,
                        options.duration,
                        options.warmup,
                        label,
                    )
                    _print_repeat(backend, server, label, outcome)
                    repeats.append(outcome)
                attrs = {
                    "op_unit": f"transaction of {batch} rows",
                    "item_unit": "rows",
                    "clients": clients,
                }
                results.measurement(server, backend, f"insert-batch-{batch}", attrs, repeats)


def _attrs(workload: str, options: Options) -> dict[str, Any]:
    if workload in wrk.WRK_WORKLOADS:
        return {
            "op_unit": "request",
            "item_unit": "metrics",
            "driver": "wrk",
            "clients": wrk.WRK_WORKLOADS[workload],
        }
    spec = WORKLOADS[workload]
    return {
        "op_unit": spec.op_unit,
        "item_unit": spec.item_unit,
        "driver": "aiohttp",
        "clients": spec.clients or options.sizes.read_clients,
    }


def _record_failure(
    results: Results, server: str, backend: str, workload: str, reason: str
) -> None:
    results.measurement(
        server, backend, workload, {}, [{"status": "error", "reason": reason[-2000:]}]
    )


def _print_repeat(backend: str, server: str, label: str, outcome: dict[str, Any]) -> None:
    head = f"[{backend} {server}] {label}:"
    if outcome.get("status") != "ok":
        reason = str(outcome.get("reason", "")).splitlines()[:3]
        print(f"{head} {outcome.get('status')} {' | '.join(reason)}", flush=True)
        return
    print(
        f"{head} {outcome['ops_per_s']:.1f} op/s ({outcome['items_per_s']:.0f} items/s) "
        f"p50 {outcome['p50_ms']:.1f} ms p99 {outcome['p99_ms']:.1f} ms "
        f"errors {outcome['errors']} server cpu {outcome.get('server_cpu_s', 0):.1f}s "
        f"db cpu {outcome.get('database_cpu_s', 0):.1f}s "
        f"client cpu {outcome.get('client_cpu_s', 0):.1f}s "
        f"other cpu {outcome.get('background_cpu_s', 0):.1f}s",
        flush=True,
    )


def _meta(options: Options) -> dict[str, Any]:
    memory = psutil.virtual_memory().total / 2**30
    return {
        "started": dt.datetime.now().isoformat(timespec="seconds"),
        "host": {
            "cpus": os.cpu_count(),
            "memory_gib": round(memory, 1),
            "cpu_model": _cpu_model(),
            "kernel": platform.release(),
            "python": platform.python_version(),
        },
        "options": {
            **asdict(options),
            "sizes": options.sizes.to_dict(),
            "out_dir": str(options.out_dir),
        },
        "populations": list(POPULATIONS),
    }


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()
