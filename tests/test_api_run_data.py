"""Logging to runs: metrics, params, tags, batches, dataset/model inputs and model outputs."""

import random
import string

import pytest

from tests.api_support import (
    assert_error,
    guarded_client,  # noqa: F401 (the `client` fixture)
    missing,
    run_metrics,
    run_params,
    run_tags,
)

FLOAT_MAX = 1.7976931348623157e308


@pytest.fixture
async def run_id(api):
    return (await api.run(await api.experiment()))["info"]["run_id"]


async def get_run(api, run_id):
    return (await api.ok("GET", "/runs/get", {"run_id": run_id}))["run"]


async def history(api, run_id, key):
    body = await api.ok("GET", "/metrics/get-history", {"run_id": run_id, "metric_key": key})
    return body.get("metrics", [])


def metric(key="m", value=1.0, timestamp=10, step=0):
    return {"key": key, "value": value, "timestamp": timestamp, "step": step}


async def test_log_metric(api, run_id):
    body = {"run_id": run_id, **metric("loss", 0.5, "100", "3")}
    assert await api.ok("POST", "/runs/log-metric", body) == {}
    want = {"key": "loss", "value": 0.5, "timestamp": 100, "step": 3}
    assert run_metrics(await get_run(api, run_id)) == {"loss": want}
    assert await history(api, run_id, "loss") == [want]
    # run_uuid stands in for run_id, and step defaults to 0.
    await api.ok(
        "POST",
        "/runs/log-metric",
        {"run_uuid": run_id, "key": "acc", "value": "1.5", "timestamp": 7},
    )
    assert await history(api, run_id, "acc") == [
        {"key": "acc", "value": 1.5, "timestamp": 7, "step": 0}
    ]


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("NaN", "NaN"),
        ("Infinity", FLOAT_MAX),
        ("-Infinity", -FLOAT_MAX),
        (-0.25, -0.25),
        # Exact round trips: the shortest text of a double, subnormals, extremes, long integers.
        (0.1 + 0.2, 0.30000000000000004),
        (5e-324, 5e-324),
        (2.2250738585072014e-308, 2.2250738585072014e-308),
        (FLOAT_MAX, FLOAT_MAX),
        (1 / 3, 0.3333333333333333),
        (2**53 + 1, float(2**53)),
    ],
)
async def test_metric_special_values(api, run_id, value, stored):
    await api.ok("POST", "/runs/log-metric", {"run_id": run_id, **metric(value=value)})
    assert run_metrics(await get_run(api, run_id))["m"]["value"] == stored
    assert [m["value"] for m in await history(api, run_id, "m")] == [stored]


async def test_identical_metric_points_are_stored_once(api, run_id):
    for _ in range(2):
        await api.ok("POST", "/runs/log-metric", {"run_id": run_id, **metric(value=2.0)})
    await api.ok("POST", "/runs/log-batch", {"run_id": run_id, "metrics": [metric(value=2.0)] * 2})
    assert len(await history(api, run_id, "m")) == 1


async def test_latest_metric_is_greatest_step_timestamp_value(api, run_id):
    points = [metric(value=5.0, timestamp=50, step=1), metric(value=1.0, timestamp=10, step=2)]
    points += [metric(value=0.5, timestamp=10, step=2), metric(value=9.0, timestamp=99, step=0)]
    await api.ok("POST", "/runs/log-batch", {"run_id": run_id, "metrics": points})
    latest = run_metrics(await get_run(api, run_id))["m"]
    assert latest == metric(value=1.0, timestamp=10, step=2)
    # A later call with a smaller step does not displace it.
    await api.ok(
        "POST", "/runs/log-metric", {"run_id": run_id, **metric(value=7.0, timestamp=999, step=1)}
    )
    assert run_metrics(await get_run(api, run_id))["m"]["value"] == 1.0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"value": 1.0, "timestamp": 1}, missing("key")),
        ({"key": "m", "timestamp": 1}, missing("value")),
        ({"key": "m", "value": 1.0}, missing("timestamp")),
        ({"key": "m", "value": True, "timestamp": 1}, None),
        ({"key": "m", "value": {"x": 1}, "timestamp": 1}, None),
        ({"key": "m", "value": "abc", "timestamp": 1}, None),
        ({"key": "m", "value": [1.0], "timestamp": 1}, None),
        ({"key": "m", "value": 1.0, "timestamp": -1}, None),
        ({"key": "m", "value": 1.0, "timestamp": 2**63}, None),
        ({"key": "m", "value": 1.0, "timestamp": 1, "step": "1.5"}, None),
        ({"key": "m", "value": 1.0, "timestamp": 1, "step": -(2**63) - 1}, None),
        ({"key": "bad!key", "value": 1.0, "timestamp": 1}, None),
        ({"key": "/abs", "value": 1.0, "timestamp": 1}, None),
        ({"key": "k" * 251, "value": 1.0, "timestamp": 1}, None),
        ({"key": "m\x00", "value": 1.0, "timestamp": 1}, None),
        ({"key": "m", "value": 1.0, "timestamp": 1, "model_id": "i" * 65}, None),
        ({"key": "m", "value": 1.0, "timestamp": 1, "dataset_name": "d" * 501}, None),
        ({"key": "m", "value": 1.0, "timestamp": 1, "dataset_digest": "d" * 37}, None),
    ],
)
async def test_log_metric_invalid(api, run_id, fields, message):
    status, err = await api.post("/runs/log-metric", {"run_id": run_id, **fields})
    assert_error(status, err, 400, "INVALID_PARAMETER_VALUE", message)
    assert "metrics" not in (await get_run(api, run_id))["data"]


async def test_log_param_write_once(api, run_id):
    body = {"run_id": run_id, "key": "lr", "value": "0.1"}
    assert await api.ok("POST", "/runs/log-parameter", body) == {}
    assert await api.ok("POST", "/runs/log-parameter", body) == {}  # same value: a no-op
    status, err = await api.post("/runs/log-parameter", {**body, "value": "0.2"})
    assert_error(
        status,
        err,
        400,
        "INVALID_PARAMETER_VALUE",
        f"Changing param values is not allowed. Param with key='lr' was already logged with "
        f"value='0.1' for run ID='{run_id}'. Attempted logging new value '0.2'.",
    )
    assert run_params(await get_run(api, run_id)) == {"lr": "0.1"}


async def test_long_param_and_tag_values_are_truncated(api, run_id):
    await api.ok("POST", "/runs/log-parameter", {"run_id": run_id, "key": "p", "value": "x" * 7000})
    # Logging the same over-long value again truncates to the same stored value: no conflict.
    await api.ok("POST", "/runs/log-parameter", {"run_id": run_id, "key": "p", "value": "x" * 7000})
    await api.ok("POST", "/runs/set-tag", {"run_id": run_id, "key": "t", "value": "y" * 9000})
    run = await get_run(api, run_id)
    assert run_params(run)["p"] == "x" * 6000
    assert run_tags(run)["t"] == "y" * 8000


async def test_long_incompressible_param_value(api, run_id):
    # 6000 random characters: too wide for a PostgreSQL btree entry on (key, value).
    value = "".join(random.Random(0).choices(string.ascii_letters + string.digits, k=6000))
    await api.ok("POST", "/runs/log-parameter", {"run_id": run_id, "key": "p", "value": value})
    await api.ok(
        "POST", "/runs/log-batch", {"run_id": run_id, "params": [{"key": "q", "value": value}]}
    )
    assert run_params(await get_run(api, run_id)) == {"p": value, "q": value}


@pytest.mark.parametrize("path", ["/runs/log-parameter", "/runs/set-tag"])
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"value": "v"}, missing("key")),
        ({"key": "k" * 251, "value": "v"}, None),
        ({"key": "a b?", "value": "v"}, None),
        ({"key": "k", "value": 3}, None),
        ({"key": "k", "value": "a\x00"}, None),
    ],
)
async def test_param_and_tag_invalid(api, run_id, path, fields, message):
    status, err = await api.post(path, {"run_id": run_id, **fields})
    assert_error(status, err, 400, "INVALID_PARAMETER_VALUE", message)
    run = await get_run(api, run_id)
    assert "params" not in run["data"] and set(run_tags(run)) == {"mlflow.runName"}


async def test_tags_last_writer_wins_and_run_name_follows(api, run_id):
    await api.ok("POST", "/runs/set-tag", {"run_id": run_id, "key": "t", "value": "1"})
    await api.ok("POST", "/runs/set-tag", {"run_uuid": run_id, "key": "t", "value": "2"})
    await api.ok(
        "POST", "/runs/set-tag", {"run_id": run_id, "key": "mlflow.runName", "value": "nm"}
    )
    run = await get_run(api, run_id)
    assert run_tags(run) == {"t": "2", "mlflow.runName": "nm"}
    assert run["info"]["run_name"] == "nm"
    await api.ok(
        "POST",
        "/runs/log-batch",
        {"run_id": run_id, "tags": [{"key": "mlflow.runName", "value": "batch"}]},
    )
    assert (await get_run(api, run_id))["info"]["run_name"] == "batch"
    # The tag is the run's name, so it keeps to the name's width (PostgreSQL would refuse it).
    too_long = {"run_id": run_id, "key": "mlflow.runName", "value": "n" * 251}
    status, err = await api.post("/runs/set-tag", too_long)
    assert_error(status, err, 400, "INVALID_PARAMETER_VALUE")
    assert run_tags(await get_run(api, run_id))["mlflow.runName"] == "batch"


async def test_delete_tag(api, run_id):
    await api.ok("POST", "/runs/set-tag", {"run_id": run_id, "key": "t", "value": "v"})
    assert await api.ok("POST", "/runs/delete-tag", {"run_id": run_id, "key": "t"}) == {}
    assert set(run_tags(await get_run(api, run_id))) == {"mlflow.runName"}
    status, err = await api.post("/runs/delete-tag", {"run_id": run_id, "key": "t"})
    assert_error(
        status, err, 404, "RESOURCE_DOES_NOT_EXIST", f"No tag with name: t in run with id {run_id}"
    )
    status, err = await api.post("/runs/delete-tag", {"run_id": run_id})
    assert_error(status, err, 400, "INVALID_PARAMETER_VALUE", missing("key"))


WRITES = [
    ("/runs/log-metric", metric()),
    ("/runs/log-parameter", {"key": "p", "value": "v"}),
    ("/runs/set-tag", {"key": "t", "value": "v"}),
    ("/runs/delete-tag", {"key": "mlflow.runName"}),
    ("/runs/log-batch", {"params": [{"key": "p", "value": "v"}]}),
    ("/runs/log-inputs", {"models": [{"model_id": "m-1"}]}),
    ("/runs/outputs", {"models": [{"model_id": "m-1", "step": 1}]}),
]


@pytest.mark.parametrize(("path", "fields"), WRITES)
async def test_writes_need_an_active_existing_run(api, run_id, path, fields):
    await api.ok("POST", "/runs/delete", {"run_id": run_id})
    before = await get_run(api, run_id)
    status, err = await api.post(path, {"run_id": run_id, **fields})
    assert_error(
        status,
        err,
        400,
        "INVALID_PARAMETER_VALUE",
        f"The run {run_id} must be in the 'active' state. Current state is deleted.",
    )
    assert await get_run(api, run_id) == before
    status, err = await api.post(path, {"run_id": "a" * 32, **fields})
    assert_error(status, err, 404, "RESOURCE_DOES_NOT_EXIST", f"Run with id={'a' * 32} not found")
    status, err = await api.post(path, fields)
    assert_error(status, err, 400, "INVALID_PARAMETER_VALUE", missing("run_id"))


async def test_log_batch(api, run_id):
    body = {
        "run_id": run_id,
        "metrics": [metric("a", 1.0, 5, 0), metric("a", 2.0, 6, 1), metric("b", "NaN", 1, 0)],
        "params": [{"key": "p1", "value": "x"}, {"key": "p2", "value": ""}],
        "tags": [{"key": "t", "value": "1"}, {"key": "t", "value": "2"}],
    }
    assert await api.ok("POST", "/runs/log-batch", body) == {}
    assert await api.ok("POST", "/runs/log-batch", {"run_id": run_id}) == {}
    run = await get_run(api, run_id)
    assert run_params(run) == {"p1": "x", "p2": ""}
    assert run_tags(run)["t"] == "2"
    assert run_metrics(run) == {"a": metric("a", 2.0, 6, 1), "b": metric("b", "NaN", 1, 0)}
    assert len(await history(api, run_id, "a")) == 2


async def test_params_and_tags_keep_every_character_and_come_back_by_key(api, run_id):
    # The database encodes a run's params and tags as JSON arrays: escapes and non-ASCII text
    # must survive, and each array stays in key order.
    odd = 'quote " backslash \\ newline \n tab \t bell \x07 del \x7f é 日本 🎉 </script> {"a": [1]}'
    keys = ["zeta", "alpha", "mid", "beta"]  # one order in every collation
    body = {
        "run_id": run_id,
        "params": [{"key": k, "value": f"{odd} {k}"} for k in keys],
        "tags": [{"key": k, "value": f"{k} {odd}"} for k in keys],
    }
    assert await api.ok("POST", "/runs/log-batch", body) == {}
    run = await get_run(api, run_id)
    experiment_id = run["info"]["experiment_id"]
    found = await api.ok("POST", "/runs/search", {"experiment_ids": [experiment_id]})
    for data in (run["data"], found["runs"][0]["data"]):
        params = data["params"]
        assert params == sorted(params, key=lambda p: p["key"])
        assert {p["key"]: p["value"] for p in params} == {k: f"{odd} {k}" for k in keys}
        tags = [t for t in data["tags"] if not t["key"].startswith("mlflow.")]
        assert tags == [{"key": k, "value": f"{k} {odd}"} for k in sorted(keys)]


def entries(kind, count):
    if kind == "metrics":
        return [metric(f"m{i}") for i in range(count)]
    return [{"key": f"{kind}{i}", "value": "v"} for i in range(count)]


@pytest.mark.parametrize(
    ("batch", "message"),
    [
        ({"metrics": 1001}, "at most 1000 metrics. Got 1001 metrics."),
        ({"params": 101}, "at most 100 params. Got 101 params."),
        ({"tags": 101}, "at most 100 tags. Got 101 tags."),
        (
            {"metrics": 901, "params": 100},
            "at most 1000 metrics, params, and tags. Got 1001 metrics, params, and tags.",
        ),
    ],
)
async def test_log_batch_limits(api, run_id, batch, message):
    body = {"run_id": run_id, **{kind: entries(kind, n) for kind, n in batch.items()}}
    status, err = await api.post("/runs/log-batch", body)
    assert_error(status, err, 400, "INVALID_PARAMETER_VALUE")
    assert f"A batch logging request can contain {message}" in err["message"]
    assert set((await get_run(api, run_id))["data"]) == {"tags"}


async def test_log_batch_at_the_limits(api, run_id):
    body = {"run_id": run_id, "metrics": entries("metrics", 800)}
    body |= {"params": entries("params", 100), "tags": entries("tags", 100)}
    await api.ok("POST", "/runs/log-batch", body)
    run = await get_run(api, run_id)
    assert (len(run["data"]["metrics"]), len(run["data"]["params"])) == (800, 100)


@pytest.mark.parametrize(
    "fields",
    [
        {"params": [{"key": "p", "value": "1"}, {"key": "p", "value": "1"}]},
        {"params": [{"key": "p", "value": "other"}], "metrics": [metric()]},  # conflicts
        {"metrics": [metric(), {"key": "m2", "value": "x", "timestamp": 1}]},
        {"metrics": [metric(), {"key": "m2", "value": 1}]},
        {"tags": [{"key": "ok", "value": "v"}, {"value": "v"}]},
        {"metrics": {"key": "m"}},
        {"params": "p=1"},
        {"tags": [["k", "v"]]},
    ],
)
async def test_log_batch_is_all_or_nothing(api, run_id, fields):
    await api.ok("POST", "/runs/log-parameter", {"run_id": run_id, "key": "p", "value": "1"})
    before = await get_run(api, run_id)
    status, err = await api.post("/runs/log-batch", {"run_id": run_id, **fields})
    assert_error(status, err, 400, "INVALID_PARAMETER_VALUE")
    assert await get_run(api, run_id) == before


async def test_duplicate_param_key_message(api, run_id):
    params = [{"key": "p", "value": "1"}, {"key": "p", "value": "2"}]
    status, err = await api.post("/runs/log-batch", {"run_id": run_id, "params": params})
    assert_error(
        status,
        err,
        400,
        "INVALID_PARAMETER_VALUE",
        "Duplicate parameter keys have been submitted: ['p']. Please ensure the request "
        "contains only one param value per param key.",
    )


DATASET = {
    "name": "train",
    "digest": "abc123",
    "source_type": "local",
    "source": '{"uri": "/data"}',
    "schema": '{"mlflow_colspec": []}',
}


async def test_log_inputs_and_outputs(api, run_id):
    body = {
        "run_id": run_id,
        "datasets": [
            {"dataset": DATASET, "tags": [{"key": "mlflow.data.context", "value": "train"}]}
        ],
        "models": [{"model_id": "m-in"}],
    }
    assert await api.ok("POST", "/runs/log-inputs", body) == {}
    await api.ok("POST", "/runs/log-inputs", body)  # the same dataset is linked once
    outputs = {"run_id": run_id, "models": [{"model_id": "m-out", "step": "4"}]}
    assert await api.ok("POST", "/runs/outputs", outputs) == {}
    run = await get_run(api, run_id)
    assert run["inputs"] == {
        "dataset_inputs": [
            {"dataset": DATASET, "tags": [{"key": "mlflow.data.context", "value": "train"}]}
        ],
        "model_inputs": [{"model_id": "m-in"}],
    }
    assert run["outputs"] == {"model_outputs": [{"model_id": "m-out", "step": 4}]}


@pytest.mark.parametrize(
    "fields",
    [
        {"datasets": [{"dataset": {**DATASET, "name": None}}]},
        {"datasets": [{"dataset": {k: v for k, v in DATASET.items() if k != "digest"}}]},
        {"datasets": [{}]},
        {"datasets": [{"dataset": {**DATASET, "digest": "d" * 37}}]},
        {"datasets": [{"dataset": {**DATASET, "source_type": "s" * 37}}]},
        {"models": [{"model_id": "m" * 65}]},
        {"datasets": [{"dataset": DATASET, "tags": [{"key": "", "value": "v"}]}]},
        {"datasets": [{"dataset": DATASET, "tags": [{"key": "k", "value": "v" * 501}]}]},
        {"datasets": {"dataset": DATASET}},
        {"models": [{}]},
        {"models": [{"model_id": 5}]},
    ],
)
async def test_log_inputs_invalid(api, run_id, fields):
    status, err = await api.post("/runs/log-inputs", {"run_id": run_id, **fields})
    assert_error(status, err, 400, "INVALID_PARAMETER_VALUE")
    assert (await get_run(api, run_id))["inputs"] == {}


@pytest.mark.parametrize(
    "models",
    [
        [{}],
        [{"model_id": "m", "step": "x"}],
        [{"model_id": "m", "step": 2**64}],
        [{"model_id": "m" * 65, "step": 1}],
        "m",
    ],
)
async def test_log_outputs_invalid(api, run_id, models):
    status, err = await api.post("/runs/outputs", {"run_id": run_id, "models": models})
    assert_error(status, err, 400, "INVALID_PARAMETER_VALUE")
    assert (await get_run(api, run_id))["outputs"] == {}
