"""Read-side data sets, created through the REST API before (and outside) the measured window."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from benchmarks.client import MlflowApi, RequestFailed, metric, now_ms
from benchmarks.sizes import Sizes

# The runs/search filter used by the search workloads matches ~80% of the population:
# p0 = 'common' for 90% of runs and m0 uniform in [0, 1) with m0 > 0.1.
SEARCH_FILTER = "metrics.m0 > 0.1 and params.p0 = 'common'"
SEARCH_ORDER = ["metrics.m1 DESC"]
HISTORY_KEY = "loss"
POINTS_PER_REQUEST = 1000  # MLflow's log-batch limit on metrics
ATTEMPTS = 3  # populating must succeed; a locked SQLite may refuse a write now and then


async def bounded(jobs: Iterable[Callable[[], Awaitable[Any]]], concurrency: int) -> list[Any]:
    """Run the jobs with at most `concurrency` in flight, retrying each a few times."""
    queue = list(jobs)
    results: list[Any] = [None] * len(queue)
    cursor = iter(range(len(queue)))

    async def worker() -> None:
        for index in cursor:
            results[index] = await _retry(queue[index])

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return results


async def _retry(job: Callable[[], Awaitable[Any]]) -> Any:
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return await job()
        except (TimeoutError, RequestFailed, OSError):
            if attempt == ATTEMPTS:
                raise
            await asyncio.sleep(0.2 * attempt)
    raise AssertionError("unreachable")


async def search_runs(api: MlflowApi, sizes: Sizes) -> dict[str, Any]:
    experiment_id = await api.create_experiment(f"search-{uuid.uuid4().hex}")
    rng = random.Random(42)
    base = now_ms()

    def one_run(i: int) -> Callable[[], Awaitable[None]]:
        p0 = "common" if rng.random() < 0.9 else "rare"
        values = [rng.random() for _ in range(5)]

        async def job() -> None:
            run_id = await api.create_run(experiment_id, start_time=base + i)
            await api.log_batch(
                run_id,
                metrics=[metric(f"m{k}", values[k], 0, base + i) for k in range(5)],
                params=[{"key": "p0", "value": p0}]
                + [{"key": f"p{k}", "value": f"value-{rng.randrange(100)}"} for k in range(1, 5)],
                tags=[{"key": f"t{k}", "value": f"tag-{i % 10}"} for k in range(5)],
            )

        return job

    await bounded((one_run(i) for i in range(sizes.search_runs)), sizes.populate_clients)
    offset = sizes.deep_page_offset()
    return {
        "experiment_id": experiment_id,
        "deep_offset": offset,
        "deep_token": await _page_token_at(api, experiment_id, offset),
    }


async def _page_token_at(api: MlflowApi, experiment_id: str, offset: int) -> str | None:
    """Walk the filtered search 100 runs at a time, the way a client reaches a deep page."""
    token: str | None = None
    for _ in range(offset // 100):
        body: dict[str, Any] = {
            "experiment_ids": [experiment_id],
            "filter": SEARCH_FILTER,
            "order_by": SEARCH_ORDER,
            "max_results": 100,
        }
        if token:
            body["page_token"] = token
        token = (await api.post("runs/search", body)).get("next_page_token")
        if not token:
            return None
    return token


async def history(api: MlflowApi, sizes: Sizes) -> dict[str, Any]:
    experiment_id = await api.create_experiment(f"history-{uuid.uuid4().hex}")
    long_run = await api.create_run(experiment_id)
    bulk_runs = [await api.create_run(experiment_id) for _ in range(sizes.bulk_runs)]
    base = now_ms()

    def chunk(run_id: str, first: int, last: int) -> Callable[[], Awaitable[None]]:
        async def job() -> None:
            points = [metric(HISTORY_KEY, 1.0 / (s + 1), s, base + s) for s in range(first, last)]
            await api.log_batch(run_id, metrics=points)

        return job

    def chunks(run_id: str, points: int) -> list[Callable[[], Awaitable[None]]]:
        return [
            chunk(run_id, first, min(points, first + POINTS_PER_REQUEST))
            for first in range(0, points, POINTS_PER_REQUEST)
        ]

    jobs = chunks(long_run, sizes.history_points)
    for run_id in bulk_runs:
        jobs += chunks(run_id, sizes.bulk_points)
    await bounded(jobs, sizes.populate_clients)
    return {"run_id": long_run, "bulk_run_ids": bulk_runs}


async def experiments(api: MlflowApi, sizes: Sizes) -> dict[str, Any]:
    prefix = f"listed-{uuid.uuid4().hex[:8]}"

    def one(i: int) -> Callable[[], Awaitable[str]]:
        return lambda: api.create_experiment(f"{prefix}-{i:05d}")

    await bounded((one(i) for i in range(sizes.experiments)), sizes.populate_clients)
    return {"count": sizes.experiments}


POPULATIONS: dict[str, Callable[[MlflowApi, Sizes], Awaitable[dict[str, Any]]]] = {
    "search-runs": search_runs,
    "history": history,
    "experiments": experiments,
}
