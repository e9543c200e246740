"""Render a results document as markdown tables and a bar chart of throughput ratios.

`python -m benchmarks.report results/<file>.json` re-renders an existing run.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

from benchmarks.charts import chart
from benchmarks.comparison import (
    Entry,
    index,
    ratio,
    rows,
    servers_in,
    subject_and_peers,
    throughput,
)

TRIVIAL = "aiohttp-trivial"
# Which ceiling each light/batch workload is compared with: HTTP (the trivial app, same driver and
# clients) and storage (the best durable raw insert of as many rows per commit, same backend).
LIMITS = {
    "log-metric-c8": 1,
    "log-metric-c64": 1,
    "wrk-log-metric-c8": 1,
    "wrk-log-metric-c64": 1,
    "log-batch-100-metrics": 100,
    "log-batch-1000-metrics": 1000,
}


def write_all(doc: dict[str, Any], stem: Path) -> None:
    markdown = render(doc, chart_name=stem.with_suffix(".png").name)
    stem.with_suffix(".md").write_text(markdown)
    print(markdown, flush=True)
    chart(doc, stem.with_suffix(".png"))


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _cell(entry: Entry | None, key: str = "ops_per_s") -> str:
    if entry is None:
        return "-"
    if entry["status"] != "ok":
        return str(entry["status"])
    value = entry["median"].get(key)
    marker = " ⚠" if entry["median"].get("errors") else ""
    return (_num(float(value)) if value is not None else "-") + marker


def _ratio_cell(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def _table(header: list[str], body: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return lines


def _unit(entries: list[Entry]) -> str:
    """'requests/s (100 metrics each)': the item count doubles as a check that servers did alike."""
    if not entries:
        return ""
    entry = entries[0]
    unit = f"{entry.get('op_unit', 'op')}s/s"
    per_op = entry["median"].get("items_per_op")
    if per_op and entry.get("item_unit") and entry["item_unit"] != f"{entry.get('op_unit')}s":
        unit += f" ({_num(float(per_op))} {entry['item_unit']} each)"
    return unit


def items_mismatch(doc: dict[str, Any]) -> list[str]:
    """Workloads whose servers returned different item counts per operation (>1% apart)."""
    by_key = index(doc)
    lines = []
    for workload, backend in rows(doc):
        counts = {}
        for server in servers_in(doc):
            entry = by_key.get((server, backend, workload))
            if entry and entry["status"] == "ok" and entry["median"].get("items_per_op"):
                counts[server] = float(entry["median"]["items_per_op"])
        if counts and max(counts.values()) > 1.01 * min(counts.values()):
            shown = ", ".join(f"{s} {_num(c)}" for s, c in counts.items())
            lines.append(f"- {workload} / {backend}: items per operation differ: {shown}")
    return lines


def throughput_table(doc: dict[str, Any]) -> list[str]:
    by_key = index(doc)
    subject, peers = subject_and_peers(doc)
    servers = servers_in(doc)
    header = ["workload", "backend", "unit", *servers, *(f"{subject}/{p}" for p in peers)]
    body = []
    for workload, backend in rows(doc):
        entries = [by_key.get((s, backend, workload)) for s in servers]
        unit = _unit([e for e in entries if e and e["status"] == "ok"])
        ratios = [_ratio_cell(ratio(doc, subject, p, workload, backend)) for p in peers]
        body.append([workload, backend, unit, *(_cell(e) for e in entries), *ratios])
    return _table(header, body)


def latency_table(doc: dict[str, Any]) -> list[str]:
    by_key = index(doc)
    servers = servers_in(doc)
    body = []
    for workload, backend in rows(doc):
        cells = []
        for server in servers:
            entry = by_key.get((server, backend, workload))
            cells.append(
                f"{_cell(entry, 'p50_ms')} / {_cell(entry, 'p99_ms')}"
                if entry and entry["status"] == "ok"
                else _cell(entry)
            )
        body.append([workload, backend, *cells])
    return _table(["workload", "backend", *(f"{s} p50 / p99 ms" for s in servers)], body)


def resources_table(doc: dict[str, Any]) -> list[str]:
    by_key = index(doc)
    keys = (
        "server_cpu_ms_per_op",
        "server_peak_rss_mb",
        "server_peak_pss_mb",
        "database_cpu_ms_per_op",
        "database_peak_pss_mb",
        "client_cpu_s",
        "background_cpu_s",
    )
    body = []
    for workload, backend in rows(doc):
        for server in servers_in(doc):
            entry = by_key.get((server, backend, workload))
            if entry is None or entry["status"] != "ok":
                continue
            body.append([workload, backend, server, *(_num(entry["median"].get(k)) for k in keys)])
    header = [
        "workload",
        "backend",
        "server",
        "server CPU ms/op",
        "server peak RSS MB",
        "server peak PSS MB",
        "db CPU ms/op",
        "db peak PSS MB",
        "client CPU s",
        "other CPU s",
    ]
    return _table(header, body)


def raw_insert_limit(doc: dict[str, Any], backend: str, batch: int) -> tuple[float | None, str]:
    """The fastest durable raw insert; SQLite's synchronous=NORMAL is shown but is no limit."""
    best: tuple[float | None, str] = (None, "")
    for m in doc["measurements"]:
        if (
            m["server"].startswith("raw-")
            and not m["server"].endswith("-normal")
            and m["backend"] == backend
            and m["workload"] == f"insert-batch-{batch}"
            and m["status"] == "ok"
        ):
            rows_per_s = m["median"].get("items_per_s")
            if rows_per_s and (best[0] is None or rows_per_s > best[0]):
                best = (float(rows_per_s), m["server"].removeprefix("raw-"))
    return best


def limits_tables(doc: dict[str, Any]) -> list[str]:
    by_key = index(doc)
    raw = [m for m in doc["measurements"] if m["server"].startswith("raw-")]
    lines: list[str] = []
    if raw:
        lines += ["", "Raw inserts of the same metric rows (one transaction per batch):", ""]
        lines += _table(
            ["backend", "method", "rows per commit", "writers", "rows/s", "p50 ms/commit"],
            [
                [
                    m["backend"],
                    m["server"].removeprefix("raw-"),
                    m["workload"].removeprefix("insert-batch-"),
                    str(m.get("clients", "")),
                    _cell(m, "items_per_s"),
                    _cell(m, "p50_ms"),
                ]
                for m in raw
            ],
        )
    trivial = [m for m in doc["measurements"] if m["server"] == TRIVIAL]
    if trivial:
        lines += [
            "",
            "Trivial aiohttp handler (parses the JSON body, answers `{}`), same drivers:",
            "",
        ]
        lines += _table(
            ["workload", "req/s", "p50 / p99 ms"],
            [
                [m["workload"], _cell(m), f"{_cell(m, 'p50_ms')} / {_cell(m, 'p99_ms')}"]
                for m in trivial
            ],
        )
    servers = servers_in(doc)
    body = []
    for workload, backend in rows(doc):
        if workload not in LIMITS:
            continue
        http = throughput(by_key.get((TRIVIAL, "none", workload)))
        storage, method = raw_insert_limit(doc, backend, LIMITS[workload])
        if http is None and storage is None:
            continue  # run with --no-limits
        cells = []
        for server in servers:
            entry = by_key.get((server, backend, workload))
            done = throughput(entry)
            items = float(entry["median"].get("items_per_s", 0)) if done and entry else 0.0
            parts = []
            if done and http:
                parts.append(f"{done / http:.0%} of HTTP")
            if items and storage:
                parts.append(f"{items / storage:.0%} of insert")
            cells.append(", ".join(parts) or "-")
        limit = "; ".join(
            ([f"HTTP {_num(http)} req/s"] if http else [])
            + ([f"insert {_num(storage)} rows/s ({method})"] if storage else [])
        )
        body.append([workload, backend, limit, *cells])
    if body:
        lines += ["", "Each server as a fraction of those limits:", ""]
        lines += _table(["workload", "backend", "limits", *servers], body)
    return lines


def servers_table(doc: dict[str, Any]) -> list[str]:
    body = []
    for server, backends in doc["servers"].items():
        for backend, info in backends.items():
            body.append([server, backend, info.get("version", ""), info.get("workers", "")])
    return _table(["server", "backend", "version", "worker processes"], body)


def notes(doc: dict[str, Any]) -> list[str]:
    lines = []
    for m in doc["measurements"]:
        first = (m.get("reason") or "").strip().splitlines()[:1]
        if m["status"] != "ok":
            lines.append(
                f"- {m['server']} / {m['backend']} / {m['workload']}: **{m['status']}** "
                f"{first[0] if first else ''}"
            )
        elif m["median"].get("errors"):
            error = next((r.get("first_error") for r in m["repeats"] if r.get("first_error")), "")
            lines.append(
                f"- {m['server']} / {m['backend']} / {m['workload']}: "
                f"{m['median']['errors']:.0f} failed requests (median), e.g. "
                f"`{str(error)[:200]}`"
            )
    lines += items_mismatch(doc)
    lines += noisy(doc)
    for p in doc.get("populations", []):
        if p.get("status") != "ok":
            lines.append(
                f"- population {p['population']} on {p['server']} / {p['backend']}: "
                f"{p.get('status')} {str(p.get('reason', ''))[:200]}"
            )
    return lines or ["- none"]


def noisy(doc: dict[str, Any], cores: float = 0.2) -> list[str]:
    """One line on windows during which programs outside the harness used > `cores` on average."""
    load: dict[str, float] = {}
    for m in doc["measurements"]:
        # Per repeat, over its own window (a stretched window is longer than --duration).
        shares = [
            r["background_cpu_s"] / r["duration_s"]
            for r in m["repeats"]
            if r.get("background_cpu_s") is not None and r.get("duration_s")
        ]
        if shares:
            load[f"{m['server']} / {m['backend']} / {m['workload']}"] = statistics.median(shares)
    busy = {k: v for k, v in load.items() if v > cores}
    if not busy:
        return []
    worst = max(busy, key=lambda k: busy[k])
    return [
        f"- {len(busy)} of {len(load)} measurements ran while other programs used more than "
        f"{cores} cores on average (worst: {busy[worst]:.2f} cores during {worst}); "
        "the per-window figure is `background_cpu_s` in the JSON. Rerun on a quiet machine."
    ]


def render(doc: dict[str, Any], chart_name: str = "") -> str:
    meta = doc["meta"]
    options = meta.get("options", {})
    subject, _peers = subject_and_peers(doc)
    host = meta.get("host", {})
    out = [
        f"# Benchmark {meta.get('started', '')}",
        "",
        f"{host.get('cpus')} CPUs ({host.get('cpu_model', '')}), {host.get('memory_gib')} GiB; "
        f"PostgreSQL {meta.get('postgres', 'n/a')}. Each workload: {options.get('repeats')} "
        f"repeat(s) of {options.get('duration')} s after {options.get('warmup')} s warm-up; "
        "medians shown. Throughput in operations per second (a log-batch request, a finished run, "
        "a search request); ratios compare servers measured in this same run "
        f"(>1 means {subject} is faster).",
        "",
        "## Throughput",
        "",
        *throughput_table(doc),
    ]
    if chart_name:
        out += ["", f"![{subject}/peer throughput ratios]({chart_name})"]
    out += ["", "## Latency", "", *latency_table(doc)]
    out += ["", "## Limits of this machine", *limits_tables(doc)]
    out += [
        "",
        "## Resources during the measured window",
        "",
        "CPU of each process tree; RSS summed over the tree (counts shared pages once "
        "per process), PSS splits them.",
        "",
        *resources_table(doc),
    ]
    out += ["", "## Servers", "", *servers_table(doc)]
    out += ["", "## Notes (n/a, errors)", "", *notes(doc), ""]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("results", type=Path, help="a results/<date>.json file")
    args = parser.parse_args()
    write_all(json.loads(args.results.read_text()), args.results.with_suffix(""))


if __name__ == "__main__":
    main()
