"""Wire rules: routes, methods, content types and hostile bodies all get MLflow's error shape."""

import pytest

from tests.api_support import (
    AJAX,
    ServerErrorGuard,
    assert_error,
    guarded_client,  # noqa: F401 (the `client` fixture)
    missing,
    raw,
)
from tests.conftest import API
from tracking.api.routes import AJAX_ONLY, TRACKING
from tracking.app import create_app

JSON = {"Content-Type": "application/json"}


async def experiment_names(api):
    body = await api.ok("POST", "/experiments/search", {"view_type": "ALL"})
    return sorted(e["name"] for e in body["experiments"])


async def test_every_route_answers_json_under_both_prefixes(client):
    """An empty request either succeeds or names what is missing; never a 404 or a 5xx."""
    wrong = []
    for prefix in (API, AJAX):
        for methods, path, _ in TRACKING:
            for method in methods:
                data = b"{}" if method == "POST" else None
                status, body = await raw(client, method, path, data, JSON, prefix=prefix)
                ok = status == 200 or body.get("error_code") == "INVALID_PARAMETER_VALUE"
                if not ok or status not in (200, 400) or not isinstance(body, dict):
                    wrong.append((method, prefix + path, status, body))
    assert not wrong


@pytest.mark.parametrize(("methods", "path"), [(m, p) for m, p, _ in AJAX_ONLY])
async def test_ajax_only_routes(client, methods, path):
    for method in methods:
        status, body = await raw(client, method, path, headers=JSON, prefix=AJAX)
        assert_error(status, body, 400, "INVALID_PARAMETER_VALUE")
        status, body = await raw(client, method, path, headers=JSON)
        assert_error(status, body, 404, "ENDPOINT_NOT_FOUND")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"{API}/runs/nothing"),
        ("POST", f"{API}/unknown"),
        ("DELETE", f"{AJAX}/experiments"),
        ("GET", "/api/2.0/mlflow"),
        ("GET", "/api/9.9/anything"),
        ("PUT", "/ajax-api/2.0/mlflow/runs/get/extra"),
    ],
)
async def test_unknown_endpoint_is_json_404(client, method, path):
    status, body = await raw(client, method, path, prefix="")
    assert_error(status, body, 404, "ENDPOINT_NOT_FOUND")


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/runs/create"), ("POST", "/runs/get"), ("PUT", "/experiments/search")],
)
async def test_wrong_method_is_json_405(client, method, path):
    for prefix in (API, AJAX):
        status, body = await raw(client, method, path, prefix=prefix)
        assert status == 405, body
        assert set(body) == {"error_code", "message"}
        assert method in body["message"]


async def test_success_shapes(api):
    # Void calls answer {}; empty searches answer {}; unknown fields are ignored.
    experiment_id = await api.experiment("shapes")
    assert (
        await api.ok("POST", "/experiments/delete", {"experiment_id": experiment_id, "x": 1}) == {}
    )
    assert await api.ok("POST", "/runs/search", {"experiment_ids": [experiment_id]}) == {}


async def test_enums_by_name_or_number(api):
    run_id = (await api.run("0"))["info"]["run_id"]
    body = await api.ok("POST", "/runs/update", {"run_id": run_id, "status": 3})
    assert body["run_info"]["status"] == "FINISHED"
    body = await api.ok("POST", "/runs/update", {"run_id": run_id, "status": "KILLED"})
    assert body["run_info"]["status"] == "KILLED"
    for bad in ("finished", 0, 6, True, ["FAILED"]):
        status, err = await api.post("/runs/update", {"run_id": run_id, "status": bad})
        assert_error(status, err, 400, "INVALID_PARAMETER_VALUE")


@pytest.mark.parametrize(
    ("data", "headers", "code"),
    [
        (b'{"name": "trunc', JSON, "BAD_REQUEST"),
        (b'{"name": "x",}', JSON, "BAD_REQUEST"),
        (b"[" * 100_000 + b"]" * 100_000, JSON, "BAD_REQUEST"),
        (b'{"name": "n", "tags": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", JSON, "BAD_REQUEST"),
        (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, JSON, "BAD_REQUEST"),
        (b'["name", "x"]', JSON, "BAD_REQUEST"),
        (b"42", JSON, "BAD_REQUEST"),
        (b'{"name": "\xff\xfe"}', JSON, "BAD_REQUEST"),
        (b'{"name": "\\ud800"}', JSON, "BAD_REQUEST"),
        (b'{"name": "plain"}', {"Content-Type": "text/plain"}, "INVALID_PARAMETER_VALUE"),
        (
            b'{"name": "form"}',
            {"Content-Type": "application/x-www-form-urlencoded"},
            "INVALID_PARAMETER_VALUE",
        ),
        (b'{"name": "nul\\u0000"}', JSON, "INVALID_PARAMETER_VALUE"),
        (b'{"name": 5}', JSON, "INVALID_PARAMETER_VALUE"),
        (b'{"name": ["x"]}', JSON, "INVALID_PARAMETER_VALUE"),
        (b'{"name": "t", "tags": "k=v"}', JSON, "INVALID_PARAMETER_VALUE"),
        (b'{"name": "t", "tags": [{"key": {"k": 1}}]}', JSON, "INVALID_PARAMETER_VALUE"),
        (b'{"name": "t", "artifact_location": 1e400}', JSON, "BAD_REQUEST"),
    ],
)
async def test_bad_bodies_change_nothing(client, api, data, headers, code):
    status, body = await raw(client, "POST", "/experiments/create", data, headers)
    assert_error(status, body, 400, code)
    assert await experiment_names(api) == ["Default"]


async def test_json_content_type_parameters_are_accepted(client):
    for content_type in ("application/json; charset=utf-8", "Application/JSON"):
        headers = {"Content-Type": content_type}
        status, body = await raw(client, "POST", "/experiments/search", b"{}", headers)
        assert status == 200, body


async def test_double_encoded_and_null_bodies(client, api):
    status, body = await raw(
        client, "POST", "/experiments/create", b'"{\\"name\\": \\"twice\\"}"', JSON
    )
    assert status == 200, body
    status, body = await raw(client, "POST", "/experiments/create", b"null", JSON)
    assert_error(status, body, 400, "INVALID_PARAMETER_VALUE", missing("name"))
    assert await experiment_names(api) == ["Default", "twice"]


@pytest.mark.parametrize(
    "fields",
    [
        {"start_time": 2**63},
        {"start_time": -(2**63) - 1},
        {"start_time": "9223372036854775808"},
        {"start_time": 1.5},
        {"start_time": True},
        {"start_time": {"ms": 1}},
        {"start_time": [1]},
        {"user_id": 12},
        {"user_id": "bad\x00user"},
        {"run_name": "nul\x00name"},
        {"tags": [{"key": "k", "value": "v\x00"}]},
        {"tags": "mlflow.runName"},
        {"tags": [7]},
    ],
)
async def test_bad_values_never_reach_the_database(api, fields):
    status, body = await api.post("/runs/create", {"experiment_id": "0", **fields})
    assert_error(status, body, 400, "INVALID_PARAMETER_VALUE")
    assert (
        await api.ok("POST", "/runs/search", {"experiment_ids": ["0"], "run_view_type": "ALL"})
        == {}
    )


@pytest.mark.parametrize(
    ("method", "path", "params"),
    [
        ("GET", "/experiments/get", {"experiment_id": "1\x00"}),
        ("GET", "/experiments/get-by-name", {"experiment_name": "a\x00b"}),
        ("GET", "/runs/get", {"run_id": "\x00"}),
        ("GET", "/metrics/get-history", {"run_id": "r", "metric_key": "k\x00"}),
        ("GET", "/experiments/search", {"max_results": "99999999999999999999"}),
        ("GET", "/experiments/search", {"filter": "name = 'a\x00'"}),
    ],
)
async def test_bad_query_strings(api, method, path, params):
    status, body = await api.get(path, params)
    assert_error(status, body, 400, "INVALID_PARAMETER_VALUE")


async def test_numeric_strings_and_integral_floats_for_int64(api):
    run = await api.run("0", start_time="42")
    assert run["info"]["start_time"] == 42
    body = await api.ok("POST", "/runs/update", {"run_id": run["info"]["run_id"], "end_time": 43.0})
    assert body["run_info"]["end_time"] == 43
    body = await api.ok(
        "POST", "/runs/update", {"run_uuid": run["info"]["run_id"], "end_time": str(2**63 - 1)}
    )
    assert body["run_info"]["end_time"] == 2**63 - 1


async def test_huge_page_token_offset_is_empty_not_an_error(api):
    # base64 of {"offset": 9223372036854775807}
    token = "eyJvZmZzZXQiOiA5MjIzMzcyMDM2ODU0Nzc1ODA3fQ=="
    assert (
        await api.ok("POST", "/runs/search", {"experiment_ids": ["0"], "page_token": token}) == {}
    )
    assert await api.ok("POST", "/experiments/search", {"page_token": token}) == {}


async def test_body_over_limit_is_json_413(aiohttp_client, settings):
    guard = ServerErrorGuard()
    small = await guard.client(aiohttp_client, create_app(settings.with_(max_body_bytes=1024)))
    payload = b'{"name": "' + b"x" * 2000 + b'"}'
    status, body = await raw(small, "POST", "/experiments/create", payload, JSON)
    assert_error(status, body, 413, "RESOURCE_EXHAUSTED")
    status, body = await raw(small, "POST", "/experiments/search", b'{"view_type": "ALL"}', JSON)
    assert status == 200
    assert [e["name"] for e in body["experiments"]] == ["Default"]
    guard.check()
