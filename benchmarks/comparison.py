"""Reading a results document: which servers ran, in what order, and throughput ratios."""

from __future__ import annotations

from typing import Any

SERVER_ORDER = ("ours", "mlflow", "fasttrackml")
SUBJECT_PREFERENCE = ("ours", "fasttrackml", "mlflow")

Entry = dict[str, Any]
Key = tuple[str, str, str]  # server, backend, workload


def index(doc: dict[str, Any]) -> dict[Key, Entry]:
    return {(m["server"], m["backend"], m["workload"]): m for m in doc["measurements"]}


def servers_in(doc: dict[str, Any]) -> list[str]:
    present = {m["server"] for m in doc["measurements"]}
    return [s for s in SERVER_ORDER if s in present]


def subject_and_peers(doc: dict[str, Any]) -> tuple[str, list[str]]:
    """Ratios are subject/peer: ours when it ran, else the faster peer over the stock server."""
    servers = servers_in(doc)
    subject = next((s for s in SUBJECT_PREFERENCE if s in servers), "")
    return subject, [s for s in servers if s != subject]


def rows(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """(workload, backend) pairs measured on a real server, in run order."""
    real = [m for m in doc["measurements"] if m["server"] in SERVER_ORDER]
    seen = dict.fromkeys((m["workload"], m["backend"]) for m in real)
    order = {w: i for i, w in enumerate(dict.fromkeys(m["workload"] for m in real))}
    return sorted(seen, key=lambda wb: (wb[1] != "sqlite", order[wb[0]]))


def throughput(entry: Entry | None) -> float | None:
    if entry is None or entry["status"] != "ok":
        return None
    value = entry["median"].get("ops_per_s")
    return float(value) if value else None


def ratio(doc: dict[str, Any], a: str, b: str, workload: str, backend: str) -> float | None:
    by_key = index(doc)
    x = throughput(by_key.get((a, backend, workload)))
    y = throughput(by_key.get((b, backend, workload)))
    return x / y if x and y else None
