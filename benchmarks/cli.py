"""Turn the command line into suite Options (inside the harness venv) and run the suite."""

from __future__ import annotations

import argparse
import dataclasses

from benchmarks import wrk
from benchmarks.databases import BACKENDS
from benchmarks.peers import SERVERS
from benchmarks.sizes import QUICK, Sizes
from benchmarks.suite import ALL_WORKLOADS, Options, run_suite
from benchmarks.workloads import WORKLOADS


def groups() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, spec in WORKLOADS.items():
        out.setdefault(spec.group, []).append(name)
    out["wrk"] = list(wrk.WRK_WORKLOADS)
    return out


def select_workloads(spec: str) -> list[str]:
    if spec == "all":
        return list(ALL_WORKLOADS)
    wanted: set[str] = set()
    by_group = groups()
    for part in filter(None, (p.strip() for p in spec.split(","))):
        if part in by_group:
            wanted.update(by_group[part])
        elif part in ALL_WORKLOADS:
            wanted.add(part)
        else:
            raise SystemExit(f"unknown workload or group {part!r}; see --list")
    return [w for w in ALL_WORKLOADS if w in wanted]  # always in the suite's run order


def _choice(spec: str, allowed: tuple[str, ...], what: str) -> list[str]:
    chosen = [p.strip() for p in spec.split(",") if p.strip()]
    unknown = [c for c in chosen if c not in allowed]
    if unknown:
        raise SystemExit(f"unknown {what}: {', '.join(unknown)} (choose from {', '.join(allowed)})")
    return chosen


def build_options(args: argparse.Namespace) -> Options:
    base = QUICK if args.quick else Sizes()
    overrides = {
        "search_runs": args.search_runs,
        "history_points": args.history_points,
        "experiments": args.experiments,
        "read_clients": args.read_clients,
    }
    sizes = dataclasses.replace(base, **{k: v for k, v in overrides.items() if v is not None})

    def pick(value: float | None, full: float, quick: float) -> float:
        return value if value is not None else (quick if args.quick else full)

    return Options(
        servers=_choice(args.servers, tuple(SERVERS), "server"),
        backends=_choice(args.backends, BACKENDS, "backend"),
        workloads=select_workloads(args.workloads),
        duration=pick(args.duration, 10.0, 3.0),
        warmup=pick(args.warmup, 2.0, 1.0),
        repeats=int(pick(args.repeats, 3, 1)),
        workers=args.workers,
        sizes=sizes,
        limits=not args.no_limits,
        out_dir=args.out,
        tag=args.tag if args.tag is not None else ("quick" if args.quick else ""),
    )


def print_workloads() -> None:
    for group, names in groups().items():
        print(f"{group}: {', '.join(names)}")


def main(args: argparse.Namespace) -> int:
    if args.list:
        print_workloads()
        return 0
    options = build_options(args)
    print(
        f"[suite] servers={options.servers} backends={options.backends} "
        f"workloads={len(options.workloads)} duration={options.duration}s "
        f"repeats={options.repeats} workers={options.workers}",
        flush=True,
    )
    path = run_suite(options)
    print(f"[suite] results: {path} (+ .md, .png)", flush=True)
    return 0
