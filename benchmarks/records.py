"""The results document: every repeat of every measurement, medians, what ran; saved as it grows."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

# Numbers summarized across repeats by their median; the rest (timestamps, strings) are not.
MEDIAN_KEYS = (
    "ops_per_s",
    "items_per_s",
    "items_per_op",
    "p50_ms",
    "p99_ms",
    "mean_ms",
    "errors",
    "server_cpu_s",
    "server_cpu_ms_per_op",
    "server_peak_rss_mb",
    "server_peak_pss_mb",
    "database_cpu_s",
    "database_cpu_ms_per_op",
    "database_peak_rss_mb",
    "database_peak_pss_mb",
    "client_cpu_s",
    "background_cpu_s",
)


class Results:
    def __init__(self, path: Path, meta: dict[str, Any]) -> None:
        self.path = path
        self.doc: dict[str, Any] = {
            "meta": meta,
            "servers": {},
            "populations": [],
            "measurements": [],
        }

    def server(self, name: str, backend: str, info: dict[str, Any]) -> None:
        self.doc["servers"].setdefault(name, {})[backend] = info
        self.save()

    def population(self, server: str, backend: str, name: str, outcome: dict[str, Any]) -> None:
        entry = {
            "server": server,
            "backend": backend,
            "population": name,
            "status": outcome.get("status"),
            "seconds": outcome.get("seconds"),
            "reason": outcome.get("reason", ""),
        }
        self.doc["populations"].append(entry)
        self.save()

    def measurement(
        self,
        server: str,
        backend: str,
        workload: str,
        attrs: dict[str, Any],
        repeats: list[dict[str, Any]],
    ) -> dict[str, Any]:
        ok = [r for r in repeats if r.get("status") == "ok"]
        if ok:
            status, reason = "ok", ""
        elif repeats and all(r.get("status") == "n/a" for r in repeats):
            status, reason = "n/a", repeats[0].get("reason", "")
        else:
            status = "error"
            reason = next((r.get("reason", "") for r in repeats if r.get("reason")), "no result")
        entry = {
            "server": server,
            "backend": backend,
            "workload": workload,
            **attrs,
            "status": status,
            "reason": reason,
            "median": median(ok),
            "repeats": repeats,
        }
        self.doc["measurements"].append(entry)
        self.save()
        return entry

    def finish(self, meta: dict[str, Any]) -> None:
        self.doc["meta"].update(meta)
        self.save()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.doc, indent=1))
        tmp.replace(self.path)


def median(repeats: list[dict[str, Any]]) -> dict[str, float]:
    out: dict[str, float] = {}
    for key in MEDIAN_KEYS:
        values = [r[key] for r in repeats if isinstance(r.get(key), int | float)]
        if values:
            out[key] = round(statistics.median(values), 3)
    return out
