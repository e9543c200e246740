"""Run endpoints: create, get, update, delete and restore, with run names and lifecycle."""

import pytest

from tests.api_support import (
    AJAX,
    assert_error,
    guarded_client,  # noqa: F401 (the `client` fixture)
    missing,
    run_tags,
)
from tests.conftest import Api

INFO_FIELDS = {
    "run_id",
    "run_uuid",
    "run_name",
    "experiment_id",
    "user_id",
    "status",
    "start_time",
    "artifact_uri",
    "lifecycle_stage",
}


async def get_run(api, run_id):
    return (await api.ok("GET", "/runs/get", {"run_id": run_id}))["run"]


async def test_create_shape(api):
    experiment_id = await api.experiment()
    run = await api.run(experiment_id, user_id="alice", start_time="1234567890123")
    info = run["info"]
    assert set(info) == INFO_FIELDS  # end_time is unset, so omitted
    assert info["run_id"] == info["run_uuid"] and len(info["run_id"]) == 32
    assert info["experiment_id"] == experiment_id
    assert info["user_id"] == "alice"
    assert info["status"] == "RUNNING"
    assert info["start_time"] == 1234567890123
    assert info["lifecycle_stage"] == "active"
    assert info["artifact_uri"].endswith(f"/{experiment_id}/{info['run_id']}/artifacts")
    # A run without a name gets a generated one, mirrored in the mlflow.runName tag.
    assert info["run_name"]
    assert run["data"] == {"tags": [{"key": "mlflow.runName", "value": info["run_name"]}]}
    assert run["inputs"] == {} and run["outputs"] == {}
    assert await get_run(api, info["run_id"]) == run


async def test_longest_names_fit(api):
    run = await api.run("0", run_name="n" * 250, user_id="u" * 256)
    assert (run["info"]["run_name"], run["info"]["user_id"]) == ("n" * 250, "u" * 256)


async def test_create_defaults_start_time_to_now(api):
    experiment_id = await api.experiment()
    body = await api.ok("POST", "/runs/create", {"experiment_id": experiment_id})
    assert body["run"]["info"]["start_time"] > 10**12


async def test_create_rejects_integer_experiment_id(api):
    # As MLflow: experiment_id is a proto string, and a JSON number fails its type check.
    status, err = await api.post("/runs/create", {"experiment_id": 0})
    assert_error(
        status,
        err,
        400,
        "INVALID_PARAMETER_VALUE",
        "Invalid value 0 for parameter 'experiment_id' supplied. Hint: Value was of type 'int'. "
        "See the API docs for more information about request parameters.",
    )


async def test_run_name_and_tag_agree(api):
    experiment_id = await api.experiment()
    by_name = await api.run(experiment_id, run_name="alpha")
    assert by_name["info"]["run_name"] == "alpha"
    assert run_tags(by_name)["mlflow.runName"] == "alpha"
    by_tag = await api.run(experiment_id, tags=[{"key": "mlflow.runName", "value": "beta"}])
    assert by_tag["info"]["run_name"] == "beta"
    both = await api.run(
        experiment_id, run_name="gamma", tags=[{"key": "mlflow.runName", "value": "gamma"}]
    )
    assert both["info"]["run_name"] == "gamma"
    status, err = await api.post(
        "/runs/create",
        {
            "experiment_id": experiment_id,
            "run_name": "one",
            "tags": [{"key": "mlflow.runName", "value": "two"}],
        },
    )
    assert_error(
        status,
        err,
        400,
        "INVALID_PARAMETER_VALUE",
        "Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different "
        "values (run_name='one', mlflow.runName='two').",
    )


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({}, 400, "INVALID_PARAMETER_VALUE"),
        ({"experiment_id": "nope"}, 400, "INVALID_PARAMETER_VALUE"),
        ({"experiment_id": "55555"}, 404, "RESOURCE_DOES_NOT_EXIST"),
        ({"experiment_id": "0", "start_time": "soon"}, 400, "INVALID_PARAMETER_VALUE"),
        ({"experiment_id": "0", "start_time": 2**63}, 400, "INVALID_PARAMETER_VALUE"),
        ({"experiment_id": "0", "tags": {"key": "k"}}, 400, "INVALID_PARAMETER_VALUE"),
        ({"experiment_id": "0", "tags": [{"key": "a/../b"}]}, 400, "INVALID_PARAMETER_VALUE"),
        ({"experiment_id": "0", "run_name": 7}, 400, "INVALID_PARAMETER_VALUE"),
        ({"experiment_id": "0", "user_id": "a\x00b"}, 400, "INVALID_PARAMETER_VALUE"),
        # Wider than their columns: PostgreSQL would fail the insert.
        ({"experiment_id": "0", "run_name": "n" * 251}, 400, "INVALID_PARAMETER_VALUE"),
        ({"experiment_id": "0", "user_id": "u" * 257}, 400, "INVALID_PARAMETER_VALUE"),
        (
            {"experiment_id": "0", "tags": [{"key": "mlflow.runName", "value": "n" * 251}]},
            400,
            "INVALID_PARAMETER_VALUE",
        ),
    ],
)
async def test_create_invalid(api, body, status, code):
    got, err = await api.post("/runs/create", body)
    assert_error(got, err, status, code)
    assert await api.ok("POST", "/runs/search", {"experiment_ids": ["0"]}) == {}


async def test_get_by_run_uuid_and_errors(api):
    run_id = (await api.run(await api.experiment()))["info"]["run_id"]
    legacy = await api.ok("GET", "/runs/get", {"run_uuid": run_id})
    assert legacy["run"]["info"]["run_id"] == run_id
    status, err = await api.get("/runs/get", {})
    assert_error(status, err, 400, "INVALID_PARAMETER_VALUE", missing("run_id"))
    status, err = await api.get("/runs/get", {"run_id": "0" * 32})
    assert_error(status, err, 404, "RESOURCE_DOES_NOT_EXIST", f"Run with id={'0' * 32} not found")


async def test_update(api):
    run_id = (await api.run(await api.experiment()))["info"]["run_id"]
    body = await api.ok(
        "POST",
        "/runs/update",
        {"run_id": run_id, "status": "FINISHED", "end_time": "2000", "run_name": "renamed"},
    )
    info = body["run_info"]
    assert set(body) == {"run_info"}
    assert set(info) == INFO_FIELDS | {"end_time"}
    assert (info["status"], info["end_time"], info["run_name"]) == ("FINISHED", 2000, "renamed")
    run = await get_run(api, run_id)
    assert run["info"] == info
    assert run_tags(run)["mlflow.runName"] == "renamed"
    # Fields left out stay as they are; run_uuid works in place of run_id.
    body = await api.ok("POST", "/runs/update", {"run_uuid": run_id, "status": "FAILED"})
    assert body["run_info"]["run_name"] == "renamed"
    assert body["run_info"]["end_time"] == 2000


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"status": "FINISHED"}, 400, "INVALID_PARAMETER_VALUE"),
        ({"run_id": "RUN", "status": "DONE"}, 400, "INVALID_PARAMETER_VALUE"),
        ({"run_id": "RUN", "end_time": [1]}, 400, "INVALID_PARAMETER_VALUE"),
        ({"run_id": "RUN", "end_time": "later"}, 400, "INVALID_PARAMETER_VALUE"),
        ({"run_id": "RUN", "run_name": "n" * 251}, 400, "INVALID_PARAMETER_VALUE"),
        ({"run_id": "f" * 32, "status": "FINISHED"}, 404, "RESOURCE_DOES_NOT_EXIST"),
    ],
)
async def test_update_invalid(api, body, status, code):
    run = await api.run(await api.experiment())
    run_id = run["info"]["run_id"]
    if body.get("run_id") == "RUN":
        body = {**body, "run_id": run_id}
    got, err = await api.post("/runs/update", body)
    assert_error(got, err, status, code)
    assert await get_run(api, run_id) == run


async def test_delete_and_restore(api):
    run_id = (await api.run(await api.experiment()))["info"]["run_id"]
    assert await api.ok("POST", "/runs/delete", {"run_id": run_id}) == {}
    assert (await get_run(api, run_id))["info"]["lifecycle_stage"] == "deleted"
    status, err = await api.post("/runs/update", {"run_id": run_id, "status": "FINISHED"})
    assert_error(
        status,
        err,
        400,
        "INVALID_PARAMETER_VALUE",
        f"The run {run_id} must be in the 'active' state. Current state is deleted.",
    )
    assert await api.ok("POST", "/runs/delete", {"run_id": run_id}) == {}
    assert await api.ok("POST", "/runs/restore", {"run_uuid": run_id}) == {}
    run = await get_run(api, run_id)
    assert run["info"]["lifecycle_stage"] == "active"
    assert run["info"]["status"] == "RUNNING"
    assert await api.ok("POST", "/runs/restore", {"run_id": run_id}) == {}


@pytest.mark.parametrize("path", ["/runs/delete", "/runs/restore"])
async def test_lifecycle_invalid(api, path):
    status, err = await api.post(path, {})
    assert_error(status, err, 400, "INVALID_PARAMETER_VALUE", missing("run_id"))
    status, err = await api.post(path, {"run_id": "abc"})
    assert_error(status, err, 404, "RESOURCE_DOES_NOT_EXIST", "Run with id=abc not found")


async def test_ajax_prefix_serves_runs(client):
    ajax = Api(client, AJAX)
    run = await ajax.run("0", run_name="ajax-run")
    body = await ajax.ok("GET", "/runs/get", {"run_id": run["info"]["run_id"]})
    assert body["run"]["info"]["run_name"] == "ajax-run"
