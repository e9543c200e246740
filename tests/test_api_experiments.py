"""Experiment endpoints: create, get, get-by-name, update, delete/restore and tags."""

import pytest

from tests.api_support import (
    AJAX,
    assert_error,
    guarded_client,  # noqa: F401 (the `client` fixture)
    missing,
    tags_of,
)
from tests.conftest import Api


async def get_experiment(api, experiment_id):
    return (await api.ok("GET", "/experiments/get", {"experiment_id": experiment_id}))["experiment"]


async def test_create_returns_string_id_and_get_has_full_shape(api):
    status, body = await api.post(
        "/experiments/create",
        {"name": "first", "tags": [{"key": "team", "value": "ml"}, {"key": "empty"}]},
    )
    assert status == 200
    assert set(body) == {"experiment_id"}
    assert isinstance(body["experiment_id"], str) and body["experiment_id"] != "0"
    experiment = await get_experiment(api, body["experiment_id"])
    assert set(experiment) == {
        "experiment_id",
        "name",
        "artifact_location",
        "lifecycle_stage",
        "last_update_time",
        "creation_time",
        "tags",
    }
    assert experiment["experiment_id"] == body["experiment_id"]
    assert experiment["name"] == "first"
    assert experiment["lifecycle_stage"] == "active"
    assert experiment["artifact_location"].endswith("/" + body["experiment_id"])
    assert isinstance(experiment["creation_time"], int) and experiment["creation_time"] > 10**12
    assert experiment["last_update_time"] >= experiment["creation_time"]
    assert tags_of(experiment) == {"team": "ml", "empty": ""}


async def test_default_experiment(api):
    experiment = await get_experiment(api, "0")
    assert experiment["name"] == "Default"
    assert "tags" not in experiment  # unset fields are omitted
    by_name = await api.ok("GET", "/experiments/get-by-name", {"experiment_name": "Default"})
    assert by_name["experiment"] == experiment


async def test_create_with_artifact_location(api):
    status, body = await api.post(
        "/experiments/create", {"name": "located", "artifact_location": "mlflow-artifacts:/team/x"}
    )
    assert status == 200
    assert (await get_experiment(api, body["experiment_id"]))[
        "artifact_location"
    ] == "mlflow-artifacts:/team/x"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, missing("name")),
        ({"name": ""}, missing("name")),
        ({"name": "x" * 501}, "'name' exceeds the maximum length of 500 characters"),
    ],
)
async def test_create_invalid_name(api, body, message):
    status, err = await api.post("/experiments/create", body)
    assert_error(status, err, 400, "INVALID_PARAMETER_VALUE", message)


async def test_create_invalid_tag_key(api):
    status, err = await api.post("/experiments/create", {"name": "e", "tags": [{"key": "../x"}]})
    assert_error(status, err, 400, "INVALID_PARAMETER_VALUE")
    status, err = await api.get("/experiments/get-by-name", {"experiment_name": "e"})
    assert_error(status, err, 404, "RESOURCE_DOES_NOT_EXIST")


async def test_duplicate_name_and_deleted_name_stay_reserved(api):
    experiment_id = await api.experiment("dup")
    status, err = await api.post("/experiments/create", {"name": "dup"})
    assert_error(
        status, err, 400, "RESOURCE_ALREADY_EXISTS", "Experiment(name=dup) already exists."
    )
    await api.ok("POST", "/experiments/delete", {"experiment_id": experiment_id})
    status, err = await api.post("/experiments/create", {"name": "dup"})
    assert_error(status, err, 400, "RESOURCE_ALREADY_EXISTS")


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({}, 400, "INVALID_PARAMETER_VALUE"),
        ({"experiment_id": "abc"}, 400, "INVALID_PARAMETER_VALUE"),
        ({"experiment_id": "-1"}, 400, "INVALID_PARAMETER_VALUE"),
        ({"experiment_id": "99999999999999999999999"}, 400, "INVALID_PARAMETER_VALUE"),
        ({"experiment_id": "424242"}, 404, "RESOURCE_DOES_NOT_EXIST"),
    ],
)
async def test_get_invalid(api, params, status, code):
    got, err = await api.get("/experiments/get", params)
    assert_error(got, err, status, code)


async def test_get_not_found_message(api):
    status, err = await api.get("/experiments/get", {"experiment_id": "424242"})
    assert_error(status, err, 404, "RESOURCE_DOES_NOT_EXIST", "No Experiment with id=424242 exists")


async def test_get_by_name(api):
    experiment_id = await api.experiment("named")
    body = await api.ok("GET", "/experiments/get-by-name", {"experiment_name": "named"})
    assert body["experiment"]["experiment_id"] == experiment_id
    status, err = await api.get("/experiments/get-by-name", {"experiment_name": "nope"})
    assert_error(
        status, err, 404, "RESOURCE_DOES_NOT_EXIST", "Could not find experiment with name 'nope'"
    )
    status, err = await api.get("/experiments/get-by-name", {})
    assert_error(status, err, 400, "INVALID_PARAMETER_VALUE", missing("experiment_name"))


async def test_rename(api):
    experiment_id = await api.experiment("old")
    before = await get_experiment(api, experiment_id)
    body = await api.ok(
        "POST", "/experiments/update", {"experiment_id": experiment_id, "new_name": "new"}
    )
    assert body == {}
    after = await get_experiment(api, experiment_id)
    assert after["name"] == "new"
    assert after["last_update_time"] >= before["last_update_time"]
    status, _ = await api.get("/experiments/get-by-name", {"experiment_name": "old"})
    assert status == 404
    # Renaming to its own name is fine; to another experiment's name is not.
    await api.ok("POST", "/experiments/update", {"experiment_id": experiment_id, "new_name": "new"})
    await api.experiment("taken")
    status, err = await api.post(
        "/experiments/update", {"experiment_id": experiment_id, "new_name": "taken"}
    )
    assert_error(status, err, 400, "RESOURCE_ALREADY_EXISTS")
    assert (await get_experiment(api, experiment_id))["name"] == "new"


async def test_rename_invalid(api):
    experiment_id = await api.experiment("r")
    status, err = await api.post("/experiments/update", {"experiment_id": experiment_id})
    assert_error(status, err, 400, "INVALID_PARAMETER_VALUE", missing("new_name"))
    status, err = await api.post("/experiments/update", {"new_name": "x"})
    assert_error(status, err, 400, "INVALID_PARAMETER_VALUE", missing("experiment_id"))
    status, err = await api.post("/experiments/update", {"experiment_id": "777", "new_name": "x"})
    assert_error(status, err, 404, "RESOURCE_DOES_NOT_EXIST")
    await api.ok("POST", "/experiments/delete", {"experiment_id": experiment_id})
    status, err = await api.post(
        "/experiments/update", {"experiment_id": experiment_id, "new_name": "x"}
    )
    assert_error(
        status, err, 400, "INVALID_PARAMETER_VALUE", "Cannot rename a non-active experiment."
    )


async def test_delete_and_restore_carry_runs(api):
    experiment_id = await api.experiment("lifecycle")
    run_id = (await api.run(experiment_id))["info"]["run_id"]
    assert await api.ok("POST", "/experiments/delete", {"experiment_id": experiment_id}) == {}
    assert (await get_experiment(api, experiment_id))["lifecycle_stage"] == "deleted"
    by_name = await api.ok("GET", "/experiments/get-by-name", {"experiment_name": "lifecycle"})
    assert by_name["experiment"]["lifecycle_stage"] == "deleted"
    run = (await api.ok("GET", "/runs/get", {"run_id": run_id}))["run"]
    assert run["info"]["lifecycle_stage"] == "deleted"
    # A deleted experiment takes no new runs and no tags.
    status, err = await api.post("/runs/create", {"experiment_id": experiment_id})
    assert_error(status, err, 400, "INVALID_PARAMETER_VALUE")
    status, err = await api.post(
        "/experiments/set-experiment-tag", {"experiment_id": experiment_id, "key": "k"}
    )
    assert_error(status, err, 400, "INVALID_PARAMETER_VALUE")
    # Deleting again is an idempotent no-op (MLflow answers 404), so client retries are safe.
    assert await api.ok("POST", "/experiments/delete", {"experiment_id": experiment_id}) == {}
    assert await api.ok("POST", "/experiments/restore", {"experiment_id": experiment_id}) == {}
    assert (await get_experiment(api, experiment_id))["lifecycle_stage"] == "active"
    run = (await api.ok("GET", "/runs/get", {"run_id": run_id}))["run"]
    assert run["info"]["lifecycle_stage"] == "active"
    assert await api.ok("POST", "/experiments/restore", {"experiment_id": experiment_id}) == {}


@pytest.mark.parametrize("path", ["/experiments/delete", "/experiments/restore"])
async def test_lifecycle_invalid(api, path):
    status, err = await api.post(path, {"experiment_id": "31337"})
    assert_error(status, err, 404, "RESOURCE_DOES_NOT_EXIST", "No Experiment with id=31337 exists")
    status, err = await api.post(path, {})
    assert_error(status, err, 400, "INVALID_PARAMETER_VALUE", missing("experiment_id"))


async def test_experiment_tags(api):
    experiment_id = await api.experiment("tagged")
    body = {"experiment_id": experiment_id, "key": "k", "value": "v1"}
    assert await api.ok("POST", "/experiments/set-experiment-tag", body) == {}
    await api.ok("POST", "/experiments/set-experiment-tag", {**body, "value": "v2"})
    assert tags_of(await get_experiment(api, experiment_id)) == {"k": "v2"}
    delete = {"experiment_id": experiment_id, "key": "k"}
    assert await api.ok("POST", "/experiments/delete-experiment-tag", delete) == {}
    assert "tags" not in await get_experiment(api, experiment_id)
    status, err = await api.post("/experiments/delete-experiment-tag", delete)
    assert_error(
        status,
        err,
        404,
        "RESOURCE_DOES_NOT_EXIST",
        f"No tag with name: k in experiment with id {experiment_id}",
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"key": "k"}, missing("experiment_id")),
        ({"experiment_id": "0"}, missing("key")),
        ({"experiment_id": "0", "key": "k" * 251}, None),
        ({"experiment_id": "0", "key": "k", "value": "v" * 20001}, None),
        ({"experiment_id": "0", "key": "bad*key"}, None),
        ({"experiment_id": "0", "key": "k", "value": 5}, None),
    ],
)
async def test_set_experiment_tag_invalid(api, body, message):
    status, err = await api.post("/experiments/set-experiment-tag", body)
    assert_error(status, err, 400, "INVALID_PARAMETER_VALUE", message)
    assert "tags" not in await get_experiment(api, "0")


async def test_set_experiment_tag_unknown_experiment(api):
    status, err = await api.post(
        "/experiments/set-experiment-tag", {"experiment_id": "9876", "key": "k", "value": "v"}
    )
    assert_error(status, err, 404, "RESOURCE_DOES_NOT_EXIST")


async def test_ajax_prefix_serves_experiments(client):
    ajax = Api(client, AJAX)
    experiment_id = await ajax.experiment("via-ajax")
    body = await ajax.ok("GET", "/experiments/get", {"experiment_id": experiment_id})
    assert body["experiment"]["name"] == "via-ajax"
    found = await ajax.ok("POST", "/experiments/search", {"filter": "name = 'via-ajax'"})
    assert [e["experiment_id"] for e in found["experiments"]] == [experiment_id]
