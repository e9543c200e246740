"""Metric histories (paged, bulk, sampled) and the ajax-only dataset summaries."""

import pytest

from tests.api_support import (
    AJAX,
    assert_error,
    guarded_client,  # noqa: F401 (the `client` fixture)
    missing,
)
from tests.conftest import Api


@pytest.fixture
def ajax(client):
    return Api(client, AJAX)


async def new_run(api, experiment_id="0"):
    return (await api.run(experiment_id))["info"]["run_id"]


async def log(api, run_id, points, key="m"):
    metrics = [{"key": key, "value": v, "timestamp": t, "step": s} for s, t, v in points]
    for start in range(0, len(metrics), 1000):
        chunk = metrics[start : start + 1000]
        await api.ok("POST", "/runs/log-batch", {"run_id": run_id, "metrics": chunk})


def point(step, timestamp, value, key="m", **extra):
    return {"key": key, "value": value, "timestamp": timestamp, "step": step, **extra}


async def test_history_is_ordered_by_timestamp_step_value(api):
    run_id = await new_run(api)
    await log(api, run_id, [(2, 10, 1.0), (1, 20, 0.0), (1, 10, 3.0), (1, 10, 2.0), (0, 5, "NaN")])
    body = await api.ok("GET", "/metrics/get-history", {"run_id": run_id, "metric_key": "m"})
    assert body == {
        "metrics": [
            point(0, 5, "NaN"),
            point(1, 10, 2.0),
            point(1, 10, 3.0),
            point(2, 10, 1.0),
            point(1, 20, 0.0),
        ]
    }
    legacy = await api.ok("GET", "/metrics/get-history", {"run_uuid": run_id, "metric_key": "m"})
    assert legacy == body
    # A key never logged is an empty history: {}.
    assert await api.ok("GET", "/metrics/get-history", {"run_id": run_id, "metric_key": "x"}) == {}


async def test_history_paging(api):
    run_id = await new_run(api)
    await log(api, run_id, [(i, 1000 + i, float(i)) for i in range(25)])
    seen, token, pages = [], None, 0
    while True:
        params = {"run_id": run_id, "metric_key": "m", "max_results": "10"}
        if token:
            params["page_token"] = token
        body = await api.ok("GET", "/metrics/get-history", params)
        seen += [m["step"] for m in body["metrics"]]
        pages += 1
        token = body.get("next_page_token")
        if not token:
            break
    assert pages == 3
    assert seen == list(range(25))
    # An exact fit leaves no token behind.
    params = {"run_id": run_id, "metric_key": "m", "max_results": "25"}
    assert "next_page_token" not in await api.ok("GET", "/metrics/get-history", params)


async def test_full_history_keeps_every_value_and_field_exactly(api):
    """A whole history (PostgreSQL renders it as JSON itself; SQLite's is built in Python):
    doubles that read back bit for bit, NaN, 64-bit steps and timestamps, a key and dataset
    fields that need escaping, model ids; and the rest of a history after a page token."""
    run_id = await new_run(api)
    key = "loss/train é:1"
    values = [0.1 + 0.2, 5e-324, 1e300, -2.5, 1.7976931348623157e308, 123456789.12345679, "NaN"]
    sent = [point(s - 3, 2**62 - 10 + s, v, key=key) for s, v in enumerate(values)]
    sent.append(
        point(
            9,
            2**62,
            0.5,
            key=key,
            model_id="m-1",
            dataset_name='eval "set" \\ 1',
            dataset_digest="d1",
        )
    )
    await api.ok("POST", "/runs/log-batch", {"run_id": run_id, "metrics": sent})
    params = {"run_id": run_id, "metric_key": key}
    body = await api.ok("GET", "/metrics/get-history", params)
    assert body == {"metrics": sent}
    got = [m["value"] for m in body["metrics"][:-2]]
    assert [v.hex() for v in got] == [float(v).hex() for v in values[:-1]]
    first = await api.ok("GET", "/metrics/get-history", {**params, "max_results": "3"})
    rest = await api.ok(
        "GET", "/metrics/get-history", {**params, "page_token": first["next_page_token"]}
    )
    assert first["metrics"] + rest["metrics"] == sent and "next_page_token" not in rest
    empty = await api.ok("GET", "/metrics/get-history", {"run_id": run_id, "metric_key": "none"})
    assert empty == {}


@pytest.mark.parametrize(
    ("params", "status", "code", "message"),
    [
        ({"metric_key": "m"}, 400, "INVALID_PARAMETER_VALUE", missing("run_id")),
        ({"run_id": "RUN"}, 400, "INVALID_PARAMETER_VALUE", missing("metric_key")),
        ({"run_id": "b" * 32, "metric_key": "m"}, 404, "RESOURCE_DOES_NOT_EXIST", None),
        (
            {"run_id": "RUN", "metric_key": "m", "max_results": "0"},
            400,
            "INVALID_PARAMETER_VALUE",
            None,
        ),
        (
            {"run_id": "RUN", "metric_key": "m", "max_results": "x"},
            400,
            "INVALID_PARAMETER_VALUE",
            None,
        ),
        (
            {"run_id": "RUN", "metric_key": "m", "page_token": "%%%"},
            400,
            "INVALID_PARAMETER_VALUE",
            None,
        ),
        (
            {"run_id": "RUN", "metric_key": "m", "page_token": "bm9wZQ=="},
            400,
            "INVALID_PARAMETER_VALUE",
            None,
        ),
        # base64 of {"offset": -1}
        (
            {"run_id": "RUN", "metric_key": "m", "page_token": "eyJvZmZzZXQiOiAtMX0="},
            400,
            "INVALID_PARAMETER_VALUE",
            None,
        ),
    ],
)
async def test_history_invalid(api, params, status, code, message):
    run_id = await new_run(api)
    params = {k: run_id if v == "RUN" else v for k, v in params.items()}
    got, err = await api.get("/metrics/get-history", params)
    assert_error(got, err, status, code, message)


def mlflow_sample(rows, n):
    """MLflow's sampling: the first row of each of n NTILE buckets, and always the last row."""
    quotient, remainder = divmod(len(rows), n)
    picked, index = [], 0
    for bucket in range(min(n, len(rows))):
        picked.append(rows[index])
        index += quotient + (1 if bucket < remainder else 0)
    if rows and picked[-1] != rows[-1]:
        if len(picked) >= n:
            picked[-1] = rows[-1]
        else:
            picked.append(rows[-1])
    return picked


@pytest.mark.parametrize(("count", "max_results"), [(1, 1), (7, 1), (7, 3), (10, 10), (103, 10)])
async def test_bulk_interval_sampling_keeps_first_and_last(api, count, max_results):
    run_id = await new_run(api)
    rows = [(s, 100 + s, float(s)) for s in range(count)]
    await log(api, run_id, rows)
    params = {"run_ids": run_id, "metric_key": "m", "max_results": str(max_results)}
    body = await api.ok("GET", "/metrics/get-history-bulk-interval", params)
    steps = [m["step"] for m in body["metrics"]]
    assert steps == [s for s, _, _ in mlflow_sample(rows, max_results)]
    assert len(steps) <= max_results and steps[-1] == count - 1
    if max_results > 1:
        assert steps[0] == 0
    assert body["metrics"][0] == point(steps[0], 100 + steps[0], float(steps[0]), run_id=run_id)


async def test_bulk_interval_many_runs_and_step_range(api):
    first, second = await new_run(api), await new_run(api)
    await log(api, first, [(s, s, float(s)) for s in range(50)])
    await log(api, second, [(s, s, -float(s)) for s in range(0, 50, 5)])
    params = {"run_ids": [second, first, second], "metric_key": "m", "start_step": "10"}
    params |= {"end_step": "20", "max_results": "100"}
    body = await api.ok("GET", "/metrics/get-history-bulk-interval", params)
    by_run = [(m["run_id"], m["step"]) for m in body["metrics"]]
    assert by_run == [(second, s) for s in (10, 15, 20)] + [(first, s) for s in range(10, 21)]
    params = {"run_ids": first, "metric_key": "nothing"}
    assert await api.ok("GET", "/metrics/get-history-bulk-interval", params) == {}


@pytest.mark.parametrize(
    ("params", "status", "message"),
    [
        ({"metric_key": "m"}, 400, missing("run_ids")),
        ({"run_ids": "RUN"}, 400, missing("metric_key")),
        (
            {"run_ids": "RUN", "metric_key": "m", "max_results": "0"},
            400,
            "max_results must be between 1 and 2500.",
        ),
        (
            {"run_ids": "RUN", "metric_key": "m", "max_results": "2501"},
            400,
            "max_results must be between 1 and 2500.",
        ),
        (
            {"run_ids": "RUN", "metric_key": "m", "start_step": "1"},
            400,
            "If either start step or end step are specified, both must be specified.",
        ),
        (
            {"run_ids": "RUN", "metric_key": "m", "start_step": "5", "end_step": "1"},
            400,
            "end_step must be greater than start_step. Found start_step=5 and end_step=1.",
        ),
        (
            {"run_ids": ["RUN"] * 101, "metric_key": "m"},
            400,
            "GetMetricHistoryBulkInterval request must specify at most 100 run_ids. "
            "Received 101 run_ids.",
        ),
        ({"run_ids": "c" * 32, "metric_key": "m"}, 404, f"Run with id={'c' * 32} not found"),
    ],
)
async def test_bulk_interval_invalid(api, params, status, message):
    run_id = await new_run(api)
    params = {k: run_id if v == "RUN" else v for k, v in params.items()}
    if params.get("run_ids") == ["RUN"] * 101:
        params["run_ids"] = [run_id] * 101
    got, err = await api.get("/metrics/get-history-bulk-interval", params)
    code = "RESOURCE_DOES_NOT_EXIST" if status == 404 else "INVALID_PARAMETER_VALUE"
    assert_error(got, err, status, code, message)


async def test_bulk_history_is_ajax_only(api, ajax):
    first, second = await new_run(api), await new_run(api)
    await log(api, first, [(0, 1, 1.0), (1, 2, 2.0)])
    await log(api, second, [(0, 3, "NaN")])
    body = await ajax.ok(
        "GET", "/metrics/get-history-bulk", {"run_id": [second, first], "metric_key": "m"}
    )
    want = sorted(
        [
            point(0, 1, 1.0, run_id=first),
            point(1, 2, 2.0, run_id=first),
            point(0, 3, "NaN", run_id=second),
        ],
        key=lambda m: (m["run_id"], m["timestamp"]),
    )
    assert body == {"metrics": want}
    capped = await ajax.ok(
        "GET", "/metrics/get-history-bulk", {"run_id": first, "metric_key": "m", "max_results": "1"}
    )
    assert capped == {"metrics": [point(0, 1, 1.0, run_id=first)]}
    empty = await ajax.ok("GET", "/metrics/get-history-bulk", {"run_id": first, "metric_key": "x"})
    assert empty == {"metrics": []}
    status, err = await api.get("/metrics/get-history-bulk", {"run_id": first, "metric_key": "m"})
    assert_error(status, err, 404, "ENDPOINT_NOT_FOUND")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"metric_key": "m"}, "GetMetricHistoryBulk request must specify at least one run_id."),
        ({"run_id": "r"}, "GetMetricHistoryBulk request must specify a metric_key."),
        (
            {"run_id": [f"r{i}" for i in range(101)], "metric_key": "m"},
            "GetMetricHistoryBulk request cannot specify more than 100 run_ids. "
            "Received 101 run_ids.",
        ),
    ],
)
async def test_bulk_history_invalid(ajax, params, message):
    status, err = await ajax.get("/metrics/get-history-bulk", params)
    assert_error(status, err, 400, "INVALID_PARAMETER_VALUE", message)


def dataset_input(name, digest, context=None):
    tags = [{"key": "mlflow.data.context", "value": context}] if context else []
    dataset = {"name": name, "digest": digest, "source_type": "local", "source": "{}"}
    return {"dataset": dataset, "tags": tags}


async def test_search_datasets_is_ajax_only(api, ajax):
    first, second = await api.experiment("one"), await api.experiment("two")
    run_a, run_b = await new_run(api, first), await new_run(api, second)
    inputs = [dataset_input("train", "d1", "training"), dataset_input("raw", "d2")]
    await api.ok("POST", "/runs/log-inputs", {"run_id": run_a, "datasets": inputs})
    await api.ok(
        "POST",
        "/runs/log-inputs",
        {"run_id": run_b, "datasets": [dataset_input("eval", "d3", "eval")]},
    )
    body = await ajax.ok(
        "POST", "/experiments/search-datasets", {"experiment_ids": [first, second]}
    )
    summaries = sorted(body["dataset_summaries"], key=lambda s: s["name"])
    assert summaries == [
        {"experiment_id": second, "name": "eval", "digest": "d3", "context": "eval"},
        {"experiment_id": first, "name": "raw", "digest": "d2"},
        {"experiment_id": first, "name": "train", "digest": "d1", "context": "training"},
    ]
    assert await ajax.ok("POST", "/experiments/search-datasets", {"experiment_ids": ["0"]}) == {}
    status, err = await api.post("/experiments/search-datasets", {"experiment_ids": [first]})
    assert_error(status, err, 404, "ENDPOINT_NOT_FOUND")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"experiment_ids": []},
        {"experiment_ids": [str(i) for i in range(21)]},
        {"experiment_ids": ["x"]},
        {"experiment_ids": "0"},
    ],
)
async def test_search_datasets_invalid(ajax, body):
    status, err = await ajax.post("/experiments/search-datasets", body)
    assert_error(status, err, 400, "INVALID_PARAMETER_VALUE")
