"""The measured workloads: each prepares its runs (unmeasured), returns one operation to repeat."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from benchmarks.client import MlflowApi, RequestFailed, metric, now_ms
from benchmarks.load import Operation
from benchmarks.populations import HISTORY_KEY, SEARCH_FILTER, SEARCH_ORDER
from benchmarks.sizes import Sizes

Fixtures = dict[str, dict[str, Any]]
Prepare = Callable[[MlflowApi, Sizes, Fixtures, int], Awaitable[Operation]]


class NotAvailable(Exception):
    """The server lacks what the workload needs (an endpoint); reported as n/a, not as a failure."""


@dataclass(frozen=True)
class Workload:
    name: str
    group: str
    clients: int  # 0 means Sizes.read_clients
    op_unit: str  # what one operation is
    item_unit: str  # what the operation's item count counts
    prepare: Prepare
    population: str | None = None  # the read-side data set it needs (populations.POPULATIONS)


async def _runs(api: MlflowApi, label: str, count: int) -> list[str]:
    experiment_id = await api.create_experiment(f"{label}-{uuid.uuid4().hex}")
    return [await api.create_run(experiment_id) for _ in range(count)]


def log_metric() -> Prepare:
    async def prepare(api: MlflowApi, sizes: Sizes, fixtures: Fixtures, clients: int) -> Operation:
        runs = await _runs(api, "log-metric", clients)  # each client logs to its own run
        steps = [0] * clients
        base = now_ms()

        async def operation(i: int) -> int:
            steps[i] += 1
            step = steps[i]
            body = {
                "run_id": runs[i],
                "key": "loss",
                "value": 1.0 / step,
                "timestamp": base + step,
                "step": step,
            }
            await api.post("runs/log-metric", body)
            return 1

        return operation

    return prepare


def log_batch_metrics(per_request: int, keys: int = 10) -> Prepare:
    async def prepare(api: MlflowApi, sizes: Sizes, fixtures: Fixtures, clients: int) -> Operation:
        runs = await _runs(api, "log-batch", clients)
        next_step = [0] * clients
        steps_per_request = per_request // keys  # e.g. 10 keys x 100 steps = 1000 metrics
        base = now_ms()

        async def operation(i: int) -> int:
            first = next_step[i]
            next_step[i] += steps_per_request
            metrics = [
                metric(f"m{k}", float(step), step, base + step)
                for step in range(first, first + steps_per_request)
                for k in range(keys)
            ]
            await api.log_batch(runs[i], metrics=metrics)
            return len(metrics)

        return operation

    return prepare


def log_batch_params_tags(params: int = 100, tags: int = 100) -> Prepare:
    async def prepare(api: MlflowApi, sizes: Sizes, fixtures: Fixtures, clients: int) -> Operation:
        runs = await _runs(api, "log-batch-params", clients)
        sequence = [0] * clients

        async def operation(i: int) -> int:
            # Params are write-once: every request uses keys its run has not seen yet.
            sequence[i] += 1
            n = sequence[i]
            await api.log_batch(
                runs[i],
                params=[{"key": f"p{n}_{j}", "value": f"value-{j}"} for j in range(params)],
                tags=[{"key": f"t{n}_{j}", "value": f"tag-{j}"} for j in range(tags)],
            )
            return params + tags

        return operation

    return prepare


def run_lifecycle(params: int = 10, steps: int = 50, metrics_per_step: int = 5) -> Prepare:
    async def prepare(api: MlflowApi, sizes: Sizes, fixtures: Fixtures, clients: int) -> Operation:
        experiment_id = await api.create_experiment(f"lifecycle-{uuid.uuid4().hex}")

        async def operation(i: int) -> int:
            # One "training job": create, params, one log-batch per step, tags, finish.
            run_id = await api.create_run(experiment_id)
            await api.log_batch(
                run_id, params=[{"key": f"param{j}", "value": str(j)} for j in range(params)]
            )
            base = now_ms()
            for step in range(steps):
                await api.log_batch(
                    run_id,
                    metrics=[
                        metric(f"metric{k}", 1.0 / (step + 1), step, base + step)
                        for k in range(metrics_per_step)
                    ],
                )
            await api.log_batch(
                run_id, tags=[{"key": "stage", "value": "done"}, {"key": "job", "value": str(i)}]
            )
            await api.post(
                "runs/update", {"run_id": run_id, "status": "FINISHED", "end_time": now_ms()}
            )
            return 1

        return operation

    return prepare


def search_runs(page: str) -> Prepare:
    async def prepare(api: MlflowApi, sizes: Sizes, fixtures: Fixtures, clients: int) -> Operation:
        fixture = fixtures["search-runs"]
        body: dict[str, Any] = {"experiment_ids": [fixture["experiment_id"]]}
        if page == "ui-default":
            # What the MLflow UI asks for when an experiment page opens.
            body |= {"filter": "", "order_by": ["attributes.start_time DESC"], "max_results": 50}
        else:
            body |= {"filter": SEARCH_FILTER, "order_by": SEARCH_ORDER, "max_results": 100}
        if page == "deep":
            if not fixture.get("deep_token"):
                raise NotAvailable(f"no page token reaches offset {fixture['deep_offset']}")
            body["page_token"] = fixture["deep_token"]

        async def operation(i: int) -> int:
            return len((await api.post("runs/search", body)).get("runs", []))

        return operation

    return prepare


def metric_history() -> Prepare:
    async def prepare(api: MlflowApi, sizes: Sizes, fixtures: Fixtures, clients: int) -> Operation:
        # No max_results: MLflow's server then returns the whole history in one page, which is
        # what fetching "the full history" costs a client.
        query = [("run_id", fixtures["history"]["run_id"]), ("metric_key", HISTORY_KEY)]

        async def operation(i: int) -> int:
            return len((await api.get("metrics/get-history", query)).get("metrics", []))

        return operation

    return prepare


def metric_history_bulk_interval() -> Prepare:
    async def prepare(api: MlflowApi, sizes: Sizes, fixtures: Fixtures, clients: int) -> Operation:
        query = [("run_ids", run_id) for run_id in fixtures["history"]["bulk_run_ids"]]
        query += [("metric_key", HISTORY_KEY), ("max_results", str(sizes.bulk_max_results))]
        try:
            await api.get("metrics/get-history-bulk-interval", query)
        except RequestFailed as error:
            if error.status in (404, 405, 501):
                raise NotAvailable(f"endpoint missing: HTTP {error.status}") from error
            raise

        async def operation(i: int) -> int:
            response = await api.get("metrics/get-history-bulk-interval", query)
            return len(response.get("metrics", []))

        return operation

    return prepare


def search_experiments(distinct: bool = False) -> Prepare:
    """A client listing every experiment: one page of up to 1000, the server's default size.

    `distinct` gives every request a filter never sent before that still matches every
    experiment, so a server that caches pages by query answers each one as a first request."""

    async def prepare(api: MlflowApi, sizes: Sizes, fixtures: Fixtures, clients: int) -> Operation:
        body: dict[str, object] = {"max_results": 1000}
        numbers = itertools.count()

        async def operation(i: int) -> int:
            if distinct:
                body["filter"] = f"name != 'absent-{next(numbers)}'"
            return len((await api.post("experiments/search", body)).get("experiments", []))

        return operation

    return prepare


# In run order: reads first on the populated, otherwise empty database, then the writes, which
# leave millions of rows behind.
WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (
        Workload(
            "search-experiments",
            "search-experiments",
            0,
            "request",
            "experiments",
            search_experiments(),
            population="experiments",
        ),
        Workload(
            "search-experiments-distinct",
            "search-experiments",
            0,
            "request",
            "experiments",
            search_experiments(distinct=True),
            population="experiments",
        ),
        Workload(
            "search-runs-filter-first-page",
            "search-runs",
            0,
            "request",
            "runs",
            search_runs("first"),
            population="search-runs",
        ),
        Workload(
            "search-runs-filter-deep-page",
            "search-runs",
            0,
            "request",
            "runs",
            search_runs("deep"),
            population="search-runs",
        ),
        Workload(
            "search-runs-ui-default",
            "search-runs",
            0,
            "request",
            "runs",
            search_runs("ui-default"),
            population="search-runs",
        ),
        Workload(
            "get-history-full",
            "history",
            0,
            "request",
            "points",
            metric_history(),
            population="history",
        ),
        Workload(
            "get-history-bulk-interval",
            "history",
            0,
            "request",
            "points",
            metric_history_bulk_interval(),
            population="history",
        ),
        Workload("log-metric-c8", "log-metric", 8, "request", "metrics", log_metric()),
        Workload("log-metric-c64", "log-metric", 64, "request", "metrics", log_metric()),
        Workload(
            "log-batch-100-metrics", "log-batch", 8, "request", "metrics", log_batch_metrics(100)
        ),
        Workload(
            "log-batch-1000-metrics", "log-batch", 8, "request", "metrics", log_batch_metrics(1000)
        ),
        Workload(
            "log-batch-100-params-100-tags",
            "log-batch",
            8,
            "request",
            "params+tags",
            log_batch_params_tags(),
        ),
        Workload("run-lifecycle-c16", "lifecycle", 16, "run", "runs", run_lifecycle()),
    )
}
