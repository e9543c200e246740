"""Closed-loop load: N concurrent clients repeat one operation for a fixed window; latency stats."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

# An operation runs once for client `i` and returns how many items it carried (metrics, runs, ...).
Operation = Callable[[int], Awaitable[int]]

# How long past the window the load may go on: in-flight operations, or a window stretched for
# slow ones.
DRAIN_TIMEOUT_S = 120.0


@dataclass
class LoadResult:
    clients: int
    duration_s: float
    t_start: float  # time.monotonic(), shared with the resource sampler in another process
    t_end: float
    latencies_s: list[float] = field(default_factory=list)
    items: int = 0
    errors: int = 0
    first_error: str = ""

    def summary(self) -> dict[str, float | int | str]:
        ops = len(self.latencies_s)
        ordered = sorted(self.latencies_s)
        return {
            "clients": self.clients,
            "duration_s": round(self.duration_s, 3),
            "ops": ops,
            "ops_per_s": round(ops / self.duration_s, 3) if self.duration_s else 0.0,
            "items_per_s": round(self.items / self.duration_s, 3) if self.duration_s else 0.0,
            "items_per_op": round(self.items / ops, 3) if ops else 0.0,
            "p50_ms": round(percentile(ordered, 50) * 1000, 3),
            "p99_ms": round(percentile(ordered, 99) * 1000, 3),
            "mean_ms": round(sum(ordered) / ops * 1000, 3) if ops else 0.0,
            "errors": self.errors,
            "first_error": self.first_error,
            "t_start": self.t_start,
            "t_end": self.t_end,
        }


def percentile(ordered: list[float], pct: float) -> float:
    """Nearest-rank percentile of an already sorted list (0.0 when empty)."""
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


async def closed_loop(
    operation: Operation, clients: int, duration_s: float, warmup_s: float
) -> LoadResult:
    """Each client issues its next operation as soon as the previous one finished.

    Operations completing inside [warmup end, warmup end + duration] count, and throughput is
    completions / window. A slow operation (a deep search on a slow server) may not fit the window
    at all: then the window stretches until `clients` operations have completed, bounded by
    DRAIN_TIMEOUT_S, so that there is always something to report.
    """
    start = time.monotonic() + warmup_s
    end = start + duration_s
    hard_end = end + DRAIN_TIMEOUT_S
    result = LoadResult(clients=clients, duration_s=duration_s, t_start=start, t_end=end)

    def enough() -> bool:
        return len(result.latencies_s) >= clients

    async def client(i: int) -> None:
        while True:
            now = time.monotonic()
            if now >= hard_end or (now >= end and enough()):
                return
            began = now
            try:
                items = await operation(i)
            except Exception as error:  # any failure is an error sample, never a crash
                result.errors += 1
                result.first_error = result.first_error or f"{type(error).__name__}: {error}"[:500]
                await asyncio.sleep(0.01)  # a failing server must not turn this into a busy loop
                continue
            finished = time.monotonic()
            if finished >= start and (finished <= end or not enough()):
                result.latencies_s.append(finished - began)
                result.items += items
                result.t_end = max(result.t_end, finished)

    tasks = [asyncio.create_task(client(i)) for i in range(clients)]
    _done, pending = await asyncio.wait(tasks, timeout=warmup_s + duration_s + DRAIN_TIMEOUT_S + 5)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    result.duration_s = result.t_end - start
    return result
