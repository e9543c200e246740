"""Logged model endpoints over HTTP: MLflow 3.17.2's shapes, codes and search semantics."""

import base64
import io
import json
import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.api_support import AJAX, assert_error, guarded_client, missing, raw
from tests.conftest import API, Api

__all__ = ["guarded_client"]

MODELS = "/logged-models"


async def call(client: TestClient, method: str, path: str, body: Any = None, prefix: str = API):
    resp = await client.request(method, prefix + path, json=body)
    return resp.status, await resp.json()


async def create(api: Api, experiment_id: str, **fields: Any) -> dict[str, Any]:
    data = await api.ok("POST", MODELS, {"experiment_id": experiment_id, **fields})
    return dict(data["model"])


async def get(client: TestClient, model_id: str) -> dict[str, Any]:
    status, body = await call(client, "GET", f"{MODELS}/{model_id}")
    assert status == 200, body
    return dict(body["model"])


async def search(api: Api, experiment_ids: list[str], **fields: Any) -> dict[str, Any]:
    return dict(
        await api.ok("POST", f"{MODELS}/search", {"experiment_ids": experiment_ids, **fields})
    )


async def search_ids(api: Api, experiment_ids: list[str], **fields: Any) -> list[str]:
    found = await search(api, experiment_ids, **fields)
    return [m["info"]["model_id"] for m in found.get("models", [])]


def pairs(items: list[dict[str, str]] | None) -> dict[str, str]:
    return {i["key"]: i["value"] for i in items or []}


async def test_create_and_get(api, client):
    experiment_id = await api.experiment()
    experiment = (await api.ok("GET", "/experiments/get", {"experiment_id": experiment_id}))[
        "experiment"
    ]
    run = await api.run(experiment_id)
    model = await create(
        api,
        experiment_id,
        name="my-model",
        model_type="agent",
        source_run_id=run["info"]["run_id"],
        params=[{"key": "lr", "value": "0.1"}, {"key": "depth", "value": "3"}],
        tags=[{"key": "team", "value": "vision"}],
    )
    info = model["info"]
    model_id = info["model_id"]
    assert re.fullmatch(r"m-[0-9a-f]{32}", model_id)
    assert info == {
        "model_id": model_id,
        "experiment_id": experiment_id,
        "name": "my-model",
        "creation_timestamp_ms": info["creation_timestamp_ms"],
        "last_updated_timestamp_ms": info["creation_timestamp_ms"],
        "artifact_uri": f"{experiment['artifact_location']}/models/{model_id}/artifacts",
        "status": "LOGGED_MODEL_PENDING",
        "model_type": "agent",
        "source_run_id": run["info"]["run_id"],
        "tags": [{"key": "team", "value": "vision"}],
    }
    assert pairs(model["data"]["params"]) == {"lr": "0.1", "depth": "3"}
    fetched = await get(client, model_id)
    assert fetched["info"] == info
    assert pairs(fetched["data"]["params"]) == {"lr": "0.1", "depth": "3"}


async def test_create_minimal_generates_a_name_and_echoes_empty_fields(api, client):
    experiment_id = await api.experiment()
    model = await create(api, experiment_id)
    info = model["info"]
    assert re.fullmatch(r"[a-z]+-[a-z]+-\d+", info["name"])
    # MLflow stores the request's "" for absent model_type and source_run_id and echoes it.
    assert info["model_type"] == "" and info["source_run_id"] == ""
    assert "tags" not in info
    assert model["data"] == {}
    status, body = await call(client, "GET", f"{MODELS}/{info['model_id']}", prefix=AJAX)
    assert status == 200 and body["model"]["info"] == info


async def test_create_validation(api, client):
    experiment_id = await api.experiment()
    status, body = await api.post(MODELS, {})
    assert_error(status, body, 400, "INVALID_PARAMETER_VALUE", missing("experiment_id"))
    for name in ("a/b", "a.b", "a:b", "50%", "it's"):
        status, body = await api.post(MODELS, {"experiment_id": experiment_id, "name": name})
        assert_error(status, body, 400, "INVALID_PARAMETER_VALUE")
        assert body["message"].startswith(f"Invalid model name ({name!r}) provided.")
    status, body = await api.post(MODELS, {"experiment_id": "12345"})
    assert_error(status, body, 404, "RESOURCE_DOES_NOT_EXIST", "No Experiment with id=12345 exists")
    status, body = await api.post(MODELS, {"experiment_id": experiment_id, "name": 5})
    assert_error(status, body, 400, "INVALID_PARAMETER_VALUE")
    status, body = await api.post(MODELS, {"experiment_id": experiment_id, "name": "x" * 501})
    assert_error(status, body, 400, "INVALID_PARAMETER_VALUE")
    status, body = await api.post(
        MODELS, {"experiment_id": experiment_id, "source_run_id": "r" * 33}
    )
    assert_error(status, body, 400, "INVALID_PARAMETER_VALUE")
    await api.ok("POST", "/experiments/delete", {"experiment_id": experiment_id})
    status, body = await api.post(MODELS, {"experiment_id": experiment_id})
    assert_error(
        status,
        body,
        400,
        "INVALID_PARAMETER_VALUE",
        f"The experiment {experiment_id} must be in the 'active' state. Current state is deleted.",
    )
    assert await search_ids(api, [experiment_id]) == []


async def test_unknown_model_is_404_everywhere(client):
    model_id = "m-" + "0" * 32
    message = f"Logged model with ID '{model_id}' not found."
    for method, path, body in [
        ("GET", f"{MODELS}/{model_id}", None),
        ("PATCH", f"{MODELS}/{model_id}", {"model_id": model_id, "status": "LOGGED_MODEL_READY"}),
        ("DELETE", f"{MODELS}/{model_id}", None),
        ("PATCH", f"{MODELS}/{model_id}/tags", {"tags": [{"key": "a", "value": "b"}]}),
        ("DELETE", f"{MODELS}/{model_id}/tags/a", None),
        ("POST", f"{MODELS}/{model_id}/params", {"model_id": model_id, "params": []}),
        ("GET", f"{MODELS}/{model_id}/artifacts/directories", None),
    ]:
        status, answer = await call(client, method, path, body)
        assert_error(status, answer, 404, "RESOURCE_DOES_NOT_EXIST", message)


async def test_finalize(api, client):
    model_id = (await create(api, await api.experiment()))["info"]["model_id"]
    path = f"{MODELS}/{model_id}"
    status, body = await call(
        client, "PATCH", path, {"model_id": model_id, "status": "LOGGED_MODEL_READY"}
    )
    assert status == 200, body
    assert body["model"]["info"]["status"] == "LOGGED_MODEL_READY"
    assert (
        body["model"]["info"]["last_updated_timestamp_ms"]
        >= (body["model"]["info"]["creation_timestamp_ms"])
    )
    assert (await get(client, model_id))["info"]["status"] == "LOGGED_MODEL_READY"
    # Proto-JSON enums also arrive as numbers; a retry gives the same answer.
    for _ in range(2):
        status, body = await call(client, "PATCH", path, {"model_id": model_id, "status": 3})
        assert status == 200 and body["model"]["info"]["status"] == "LOGGED_MODEL_UPLOAD_FAILED"
    status, body = await call(client, "PATCH", path, {"model_id": model_id})
    assert_error(status, body, 400, "INVALID_PARAMETER_VALUE", missing("status"))
    status, body = await call(client, "PATCH", path, {"status": "LOGGED_MODEL_READY"})
    assert_error(status, body, 400, "INVALID_PARAMETER_VALUE", missing("model_id"))
    status, body = await call(client, "PATCH", path, {"model_id": model_id, "status": "DONE"})
    assert_error(status, body, 400, "INVALID_PARAMETER_VALUE")


async def test_tags(api, client):
    model_id = (await create(api, await api.experiment(), tags=[{"key": "a", "value": "1"}]))[
        "info"
    ]["model_id"]
    tags = [{"key": "b", "value": "2"}, {"key": "a", "value": "3"}, {"key": "b", "value": "4"}]
    for _ in range(2):  # a retry changes nothing
        status, body = await call(client, "PATCH", f"{MODELS}/{model_id}/tags", {"tags": tags})
        assert (status, body) == (200, {})
    assert pairs((await get(client, model_id))["info"]["tags"]) == {"a": "3", "b": "4"}

    status, body = await call(client, "DELETE", f"{MODELS}/{model_id}/tags/a", prefix=AJAX)
    assert (status, body) == (200, {})
    assert pairs((await get(client, model_id))["info"]["tags"]) == {"b": "4"}
    status, body = await call(client, "DELETE", f"{MODELS}/{model_id}/tags/a")
    assert_error(
        status,
        body,
        404,
        "RESOURCE_DOES_NOT_EXIST",
        f"No tag with key 'a' found for model with ID '{model_id}'.",
    )
    status, body = await call(
        client, "PATCH", f"{MODELS}/{model_id}/tags", {"tags": [{"key": "k" * 256, "value": ""}]}
    )
    assert_error(status, body, 400, "INVALID_PARAMETER_VALUE")


async def test_params(api, client):
    model_id = (await create(api, await api.experiment(), params=[{"key": "a", "value": "1"}]))[
        "info"
    ]["model_id"]
    path = f"{MODELS}/{model_id}/params"
    params = [{"key": "b", "value": "2"}, {"key": "a", "value": "1"}]
    for _ in range(2):  # re-sending logged values is a no-op, so retries are safe
        status, body = await call(client, "POST", path, {"model_id": model_id, "params": params})
        assert (status, body) == (200, {})
    assert pairs((await get(client, model_id))["data"]["params"]) == {"a": "1", "b": "2"}
    status, body = await call(
        client, "POST", path, {"model_id": model_id, "params": [{"key": "a", "value": "9"}]}
    )
    assert_error(status, body, 400, "BAD_REQUEST")
    assert "Changing param values is not allowed" in body["message"]
    status, body = await call(client, "POST", path, {"params": params})
    assert_error(status, body, 400, "INVALID_PARAMETER_VALUE", missing("model_id"))
    assert pairs((await get(client, model_id))["data"]["params"]) == {"a": "1", "b": "2"}


async def test_delete_is_soft_and_repeatable(api, client):
    experiment_id = await api.experiment()
    model_id = (await create(api, experiment_id))["info"]["model_id"]
    for _ in range(2):
        assert await call(client, "DELETE", f"{MODELS}/{model_id}") == (200, {})
    status, body = await call(client, "GET", f"{MODELS}/{model_id}")
    assert_error(status, body, 404, "RESOURCE_DOES_NOT_EXIST")
    status, body = await call(client, "GET", f"{MODELS}/{model_id}?allow_deleted=true")
    assert status == 200 and body["model"]["info"]["model_id"] == model_id
    assert await search_ids(api, [experiment_id]) == []


async def _log_metrics(api: Api, run_id: str, metrics: list[dict[str, Any]]) -> None:
    points = [{"timestamp": 1, "step": 0, **m} for m in metrics]
    await api.ok("POST", "/runs/log-batch", {"run_id": run_id, "metrics": points})


async def test_metrics_logged_with_model_id_show_on_the_model(api, client):
    experiment_id = await api.experiment()
    run_id = (await api.run(experiment_id))["info"]["run_id"]
    model_id = (await create(api, experiment_id, source_run_id=run_id))["info"]["model_id"]
    await _log_metrics(
        api,
        run_id,
        [
            {"key": "acc", "value": 0.5, "step": 1, "timestamp": 10, "model_id": model_id},
            {
                "key": "acc",
                "value": 0.7,
                "step": 2,
                "timestamp": 20,
                "model_id": model_id,
                "dataset_name": "val",
                "dataset_digest": "abc",
            },
            {"key": "loss", "value": 1.5},  # a run metric alone
        ],
    )
    model = await get(client, model_id)
    assert model["data"]["metrics"] == [
        {
            "key": "acc",
            "value": 0.5,
            "timestamp": 10,
            "step": 1,
            "model_id": model_id,
            "run_id": run_id,
        },
        {
            "key": "acc",
            "value": 0.7,
            "timestamp": 20,
            "step": 2,
            "model_id": model_id,
            "dataset_name": "val",
            "dataset_digest": "abc",
            "run_id": run_id,
        },
    ]


async def test_run_metrics_at_the_output_step_are_linked(api, client):
    """What MLflow's client copies onto a model when logging it (log_model_metrics_for_step)."""
    experiment_id = await api.experiment()
    run_id = (await api.run(experiment_id))["info"]["run_id"]
    await _log_metrics(
        api, run_id, [{"key": "acc", "value": 0.9}, {"key": "acc", "value": 0.1, "step": 5}]
    )
    model_id = (await create(api, experiment_id, source_run_id=run_id))["info"]["model_id"]
    await api.ok(
        "POST", "/runs/outputs", {"run_id": run_id, "models": [{"model_id": model_id, "step": 0}]}
    )
    # The client re-logs those points with model_id; a point is stored once, so it is a no-op.
    await _log_metrics(api, run_id, [{"key": "acc", "value": 0.9, "model_id": model_id}])
    metrics = (await get(client, model_id))["data"]["metrics"]
    assert [(m["key"], m["value"], m["step"]) for m in metrics] == [("acc", 0.9, 0)]
    assert await search_ids(api, [experiment_id], filter="metrics.acc > 0.5") == [model_id]


async def test_search_filters(api, client):
    experiment_id = await api.experiment()
    other = await api.experiment("other")
    run_id = (await api.run(experiment_id))["info"]["run_id"]
    a = (
        await create(
            api,
            experiment_id,
            name="alpha",
            model_type="sklearn",
            source_run_id=run_id,
            params=[{"key": "lr", "value": "0.1"}],
            tags=[{"key": "team", "value": "vision"}],
        )
    )["info"]
    b = (
        await create(
            api,
            experiment_id,
            name="beta",
            params=[{"key": "lr", "value": "0.2"}],
            tags=[{"key": "team", "value": "nlp"}],
        )
    )["info"]
    c = (await create(api, other, name="alpha"))["info"]
    await call(
        client, "PATCH", f"{MODELS}/{b['model_id']}", {"model_id": b["model_id"], "status": 2}
    )
    await _log_metrics(
        api,
        run_id,
        [
            {"key": "acc", "value": 0.9, "model_id": a["model_id"]},
            {"key": "acc", "value": 0.4, "model_id": b["model_id"]},
        ],
    )
    ids = {"a": a["model_id"], "b": b["model_id"], "c": c["model_id"]}

    async def found(filter_string: str, experiments: list[str] | None = None) -> set[str]:
        got = await search_ids(api, experiments or [experiment_id, other], filter=filter_string)
        return {k for k, v in ids.items() if v in got}

    assert await found("name = 'alpha'") == {"a", "c"}
    assert await found("name = 'alpha'", [experiment_id]) == {"a"}
    assert await found("attributes.name LIKE 'al%'") == {"a", "c"}
    assert await found("name ILIKE 'BET%'") == {"b"}
    assert await found("name != 'alpha'") == {"b"}
    assert await found(f"model_id IN ('{ids['a']}', '{ids['b']}')") == {"a", "b"}
    assert await found(f"source_run_id = '{run_id}'") == {"a"}
    assert await found("model_type = 'sklearn'") == {"a"}
    assert await found("status = 'LOGGED_MODEL_READY'") == {"b"}
    assert await found("status != 'READY'") == {"a", "c"}
    assert await found("params.lr = '0.1'") == {"a"}
    assert await found("params.lr = 0.2") == {"b"}  # MLflow takes a bare value as written
    assert await found("tags.team = 'nlp' AND params.lr LIKE '0.%'") == {"b"}
    assert await found("metrics.acc > 0.5") == {"a"}
    assert await found("metrics.acc <= 0.5") == {"b"}
    assert await found("metrics.missing > 0") == set()
    assert await found(f"creation_timestamp >= {a['creation_timestamp_ms']}") == {"a", "b", "c"}
    assert await found("creation_time < 0") == set()
    assert await found(f"last_updated_timestamp >= {b['creation_timestamp_ms']}") >= {"b"}
    assert await found(f"experiment_id = '{other}'") == {"c"}


@pytest.mark.parametrize(
    ("filter_string", "message"),
    [
        (
            "metric.acc > 1",
            "Invalid entity type: 'metric'. Expected one of "
            "['attributes', 'metrics', 'params', 'tags'].",
        ),
        (
            "name > 'a'",
            "Invalid comparison operator for attributes.name: '>'. "
            "Expected one of ('=', '!=', 'LIKE', 'ILIKE', 'IN', 'NOT IN').",
        ),
        (
            "metrics.acc LIKE '1'",
            "Invalid comparison operator for metrics.acc: 'LIKE'. "
            "Expected one of ('<', '<=', '>', '>=', '=', '!=').",
        ),
        ("nope = 'a'", None),
        ("metrics.acc > 'high'", None),
        ("name = 'a' OR name = 'b'", None),
        ("name = ", None),
        ("status = 'SOMETHING'", None),
        ("tags.a IS NULL", None),
    ],
)
async def test_search_filter_errors(api, filter_string, message):
    experiment_id = await api.experiment()
    status, body = await api.post(
        f"{MODELS}/search", {"experiment_ids": [experiment_id], "filter": filter_string}
    )
    assert_error(status, body, 400, "INVALID_PARAMETER_VALUE", message)


async def test_search_order_by_and_pages(api, client):
    experiment_id = await api.experiment()
    run_id = (await api.run(experiment_id))["info"]["run_id"]
    models = [(await create(api, experiment_id, name=f"m{i}"))["info"] for i in range(5)]
    ids = [m["model_id"] for m in models]
    await _log_metrics(
        api,
        run_id,
        [
            {"key": "acc", "value": 0.3, "model_id": ids[0]},
            {"key": "acc", "value": 0.9, "model_id": ids[1]},
            {"key": "acc", "value": 0.5, "model_id": ids[2]},
            # A later point wins: ids[3] ends at 0.1 though it once had 0.99.
            {"key": "acc", "value": 0.99, "timestamp": 1, "model_id": ids[3]},
            {"key": "acc", "value": 0.1, "timestamp": 2, "model_id": ids[3]},
        ],
    )
    # Default: newest first, then model_id.
    default = sorted(models, key=lambda m: (-m["creation_timestamp_ms"], m["model_id"]))
    assert await search_ids(api, [experiment_id]) == [m["model_id"] for m in default]

    by_acc = [{"field_name": "metrics.acc", "ascending": False}]
    assert await search_ids(api, [experiment_id], order_by=by_acc) == [
        ids[1],
        ids[2],
        ids[0],
        ids[3],
        ids[4],  # no acc: last in either direction
    ]
    by_acc_up = [{"field_name": "metrics.acc", "ascending": True}]
    assert await search_ids(api, [experiment_id], order_by=by_acc_up) == [
        ids[3],
        ids[0],
        ids[2],
        ids[1],
        ids[4],
    ]
    by_name = [{"field_name": "name", "ascending": True}]
    assert await search_ids(api, [experiment_id], order_by=by_name) == ids

    # Pages of two, each token continuing the same search.
    seen: list[str] = []
    token = None
    while True:
        fields: dict[str, Any] = {"max_results": 2, "order_by": by_name}
        if token:
            fields["page_token"] = token
        page = await search(api, [experiment_id], **fields)
        seen += [m["info"]["model_id"] for m in page.get("models", [])]
        token = page.get("next_page_token")
        if not token:
            break
        state = json.loads(base64.b64decode(token))
        assert state == {
            "experiment_ids": [experiment_id],
            "filter_string": None,
            "order_by": [
                {
                    "field_name": "name",
                    "ascending": True,
                    "dataset_name": None,
                    "dataset_digest": None,
                }
            ],
            "offset": len(seen),
        }
    assert seen == ids

    first = await search(api, [experiment_id], max_results=2)
    status, body = await api.post(
        f"{MODELS}/search",
        {
            "experiment_ids": [experiment_id],
            "page_token": first["next_page_token"],
            "filter": "name = 'm1'",
        },
    )
    assert_error(status, body, 400, "INVALID_PARAMETER_VALUE")
    assert body["message"].startswith("Filter string in the page token does not match")
    status, body = await api.post(
        f"{MODELS}/search", {"experiment_ids": [experiment_id], "page_token": "not a token"}
    )
    assert_error(status, body, 400, "INVALID_PARAMETER_VALUE")


@pytest.mark.parametrize(
    ("order_by", "message"),
    [
        ([{"field_name": "nope", "ascending": True}], "Invalid order by field name: nope"),
        (
            [{"field_name": "params.lr", "ascending": True}],
            "Invalid order by field name: params.lr. Only metrics are supported.",
        ),
    ],
)
async def test_search_order_by_errors(api, order_by, message):
    experiment_id = await api.experiment()
    status, body = await api.post(
        f"{MODELS}/search", {"experiment_ids": [experiment_id], "order_by": order_by}
    )
    assert_error(status, body, 400, "INVALID_PARAMETER_VALUE", message)


async def test_search_request_validation(api):
    status, body = await api.post(f"{MODELS}/search", {})
    assert_error(status, body, 400, "INVALID_PARAMETER_VALUE", missing("experiment_ids"))
    assert await api.ok("POST", f"{MODELS}/search", {"experiment_ids": []}) == {}
    status, body = await api.post(
        f"{MODELS}/search", {"experiment_ids": ["0"], "datasets": [{"dataset_digest": "x"}]}
    )
    assert_error(
        status,
        body,
        400,
        "INVALID_PARAMETER_VALUE",
        "`dataset_name` in the `datasets` clause must be specified.",
    )
    status, body = await api.post(f"{MODELS}/search", {"experiment_ids": ["abc"]})
    assert_error(status, body, 400, "INVALID_PARAMETER_VALUE")


async def test_search_dataset_scoping(api):
    experiment_id = await api.experiment()
    run_id = (await api.run(experiment_id))["info"]["run_id"]
    a, b, c = [(await create(api, experiment_id))["info"]["model_id"] for _ in range(3)]
    await _log_metrics(
        api,
        run_id,
        [
            {
                "key": "acc",
                "value": 0.9,
                "model_id": a,
                "dataset_name": "train",
                "dataset_digest": "d1",
            },
            {
                "key": "acc",
                "value": 0.2,
                "model_id": a,
                "dataset_name": "test",
                "dataset_digest": "d2",
            },
            {
                "key": "acc",
                "value": 0.6,
                "model_id": b,
                "dataset_name": "test",
                "dataset_digest": "d2",
            },
            {"key": "acc", "value": 0.95, "model_id": c},
        ],
    )
    test = [{"dataset_name": "test"}]
    assert set(await search_ids(api, [experiment_id], filter="metrics.acc > 0.5")) == {a, b, c}
    assert await search_ids(api, [experiment_id], filter="metrics.acc > 0.5", datasets=test) == [b]
    assert set(await search_ids(api, [experiment_id], datasets=test)) == {a, b}
    assert await search_ids(
        api,
        [experiment_id],
        datasets=[{"dataset_name": "train", "dataset_digest": "d1"}],
    ) == [a]
    order = [{"field_name": "metrics.acc", "ascending": False, "dataset_name": "test"}]
    assert await search_ids(api, [experiment_id], order_by=order) == [b, a, c]


async def test_model_artifacts(api, client):
    experiment_id = await api.experiment()
    model = await create(api, experiment_id)
    model_id = model["info"]["model_id"]
    proxy = f"/api/2.0/mlflow-artifacts/artifacts/{experiment_id}/models/{model_id}/artifacts"
    for path, data in (("MLmodel", b"flavors: {}\n"), ("sub/model.pkl", b"\x00\x01")):
        resp = await client.put(f"{proxy}/{path}", data=io.BytesIO(data))
        assert resp.status == 200

    status, body = await call(client, "GET", f"{MODELS}/{model_id}/artifacts/directories")
    assert status == 200
    assert body == {
        "root_uri": model["info"]["artifact_uri"],
        "files": [
            {"path": "MLmodel", "is_dir": False, "file_size": 12},
            {"path": "sub", "is_dir": True},
        ],
    }
    status, body = await call(
        client, "GET", f"{MODELS}/{model_id}/artifacts/directories?artifact_directory_path=sub"
    )
    assert body["files"] == [{"path": "sub/model.pkl", "is_dir": False, "file_size": 2}]
    status, body = await raw(
        client, "GET", f"{MODELS}/{model_id}/artifacts/directories?artifact_directory_path=../x"
    )
    assert_error(status, body, 400, "INVALID_PARAMETER_VALUE", "Invalid path")

    files = f"{AJAX}{MODELS}/{model_id}/artifacts/files"
    resp = await client.get(files, params={"artifact_file_path": "MLmodel"})
    assert resp.status == 200 and await resp.read() == b"flavors: {}\n"
    assert resp.headers["Content-Type"].startswith("text/plain")
    resp = await client.get(files)
    assert resp.status == 400
    assert_error(
        400,
        await resp.json(),
        400,
        "BAD_REQUEST",
        'Request must include the "artifact_file_path" query parameter.',
    )
    for bad in ("../../x", "sub/../../x", "/etc/passwd"):
        resp = await client.get(files, params={"artifact_file_path": bad})
        assert_error(resp.status, await resp.json(), 400, "INVALID_PARAMETER_VALUE", "Invalid path")
    resp = await client.get(files, params={"artifact_file_path": "nope.txt"})
    assert_error(resp.status, await resp.json(), 404, "RESOURCE_DOES_NOT_EXIST")


async def test_wrong_body_types_are_400s(api, client):
    experiment_id = await api.experiment()
    for body in (
        {"experiment_id": experiment_id, "tags": {"a": "b"}},
        {"experiment_id": experiment_id, "params": [{"key": 1, "value": "x"}]},
        {"experiment_id": [experiment_id]},
    ):
        status, answer = await api.post(MODELS, body)
        assert_error(status, answer, 400, "INVALID_PARAMETER_VALUE")
    for body in (
        {"experiment_ids": experiment_id},
        {"experiment_ids": [experiment_id], "order_by": "name"},
        {"experiment_ids": [experiment_id], "max_results": "many"},
        {"experiment_ids": [experiment_id], "max_results": -1},
    ):
        status, answer = await api.post(f"{MODELS}/search", body)
        assert_error(status, answer, 400, "INVALID_PARAMETER_VALUE")
