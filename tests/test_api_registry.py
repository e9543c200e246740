"""Model registry endpoints over HTTP: MLflow 3.17.2's shapes, codes, validation and sources."""

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.api_support import AJAX, assert_error, guarded_client, missing
from tests.conftest import API, Api

__all__ = ["guarded_client"]

RM = "/registered-models"
MV = "/model-versions"
INVALID = "INVALID_PARAMETER_VALUE"


async def call(client: TestClient, method: str, path: str, body: Any = None, prefix: str = API):
    if method == "GET":
        resp = await client.get(prefix + path, params=body)
    else:
        resp = await client.request(method, prefix + path, json=body or {})
    return resp.status, await resp.json()


async def ok(client: TestClient, method: str, path: str, body: Any = None) -> Any:
    status, data = await call(client, method, path, body)
    assert status == 200, data
    return data


async def create_model(client: TestClient, name: str, **fields: Any) -> dict[str, Any]:
    return dict(
        (await ok(client, "POST", f"{RM}/create", {"name": name, **fields}))["registered_model"]
    )


async def create_version(
    client: TestClient, name: str, source: str, **fields: Any
) -> dict[str, Any]:
    body = {"name": name, "source": source, **fields}
    return dict((await ok(client, "POST", f"{MV}/create", body))["model_version"])


async def logged_model(api: Api, client: TestClient) -> tuple[str, dict[str, Any]]:
    experiment_id = await api.experiment()
    run = await api.run(experiment_id)
    run_id = run["info"]["run_id"]
    body = {"experiment_id": experiment_id, "name": "model", "source_run_id": run_id}
    model = (await api.ok("POST", "/logged-models", body))["model"]
    return run_id, model


def pairs(items: list[dict[str, str]] | None) -> dict[str, str]:
    return {i["key"]: i["value"] for i in items or []}


async def test_registered_model_crud(client):
    created = await create_model(
        client, "m1", description="first", tags=[{"key": "team", "value": "a"}]
    )
    assert created["name"] == "m1"
    assert created["description"] == "first"
    assert pairs(created["tags"]) == {"team": "a"}
    assert created["creation_timestamp"] == created["last_updated_timestamp"]
    got = (await ok(client, "GET", f"{RM}/get", {"name": "m1"}))["registered_model"]
    assert got == created

    status, body = await call(client, "POST", f"{RM}/create", {"name": "m1"})
    assert_error(
        status, body, 400, "RESOURCE_ALREADY_EXISTS", "Registered Model (name=m1) already exists."
    )

    updated = await ok(client, "PATCH", f"{RM}/update", {"name": "m1", "description": "new"})
    assert updated["registered_model"]["description"] == "new"

    await create_model(client, "other")
    status, body = await call(client, "POST", f"{RM}/rename", {"name": "m1", "new_name": "other"})
    assert_error(status, body, 400, "RESOURCE_ALREADY_EXISTS")
    renamed = await ok(client, "POST", f"{RM}/rename", {"name": "m1", "new_name": "m2"})
    assert renamed["registered_model"]["name"] == "m2"
    status, body = await call(client, "GET", f"{RM}/get", {"name": "m1"})
    assert_error(
        status, body, 404, "RESOURCE_DOES_NOT_EXIST", "Registered Model with name=m1 not found"
    )

    assert await ok(client, "POST", f"{RM}/set-tag", {"name": "m2", "key": "k", "value": "v"}) == {}
    tags = (await ok(client, "GET", f"{RM}/get", {"name": "m2"}))["registered_model"]["tags"]
    assert pairs(tags) == {"team": "a", "k": "v"}
    assert await ok(client, "DELETE", f"{RM}/delete-tag", {"name": "m2", "key": "k"}) == {}
    assert await ok(client, "DELETE", f"{RM}/delete-tag", {"name": "m2", "key": "k"}) == {}

    assert await ok(client, "DELETE", f"{RM}/delete", {"name": "m2"}) == {}
    status, body = await call(client, "DELETE", f"{RM}/delete", {"name": "m2"})
    assert_error(status, body, 404, "RESOURCE_DOES_NOT_EXIST")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", missing("name")),
        ("a/b", "Invalid model name 'a/b'. Names cannot contain '/' or ':'."),
        ("a:b", "Invalid model name 'a:b'. Names cannot contain '/' or ':'."),
        ("x" * 257, "'name' exceeds the maximum length of 256 characters"),
    ],
)
async def test_model_name_validation(client, name, message):
    status, body = await call(client, "POST", f"{RM}/create", {"name": name})
    assert_error(status, body, 400, INVALID, message)
    search = await ok(client, "GET", f"{RM}/search")
    assert search == {}


async def test_versions_from_runs_and_logged_models(api, client):
    run_id, model = await logged_model(api, client)
    model_id = model["info"]["model_id"]
    await create_model(client, "reg")
    v1 = await create_version(client, "reg", f"models:/{model_id}", model_id=model_id)
    assert v1["version"] == "1"
    assert v1["status"] == "READY"
    assert v1["current_stage"] == "None"
    assert v1["run_id"] == run_id  # inherited from the logged model
    assert v1["model_id"] == model_id
    assert v1["source"] == f"models:/{model_id}"
    uri = await ok(client, "GET", f"{MV}/get-download-uri", {"name": "reg", "version": "1"})
    assert uri == {"artifact_uri": model["info"]["artifact_uri"]}
    linked = (await api.ok("GET", f"/logged-models/{model_id}"))["model"]
    assert (
        pairs(linked["info"]["tags"])["mlflow.modelVersions"] == '[{"name": "reg", "version": 1}]'
    )

    v2 = await create_version(client, "reg", f"runs:/{run_id}/model", run_id=run_id)
    v3 = await create_version(client, "reg", f"runs:/{run_id}/model", run_id=run_id)
    assert (v2["version"], v3["version"]) == ("2", "3")
    assert v2["run_id"] == run_id and "model_id" not in v2
    uri = await ok(client, "GET", f"{MV}/get-download-uri", {"name": "reg", "version": "2"})
    assert uri == {"artifact_uri": f"runs:/{run_id}/model"}

    status, body = await call(
        client, "POST", f"{MV}/create", {"name": "reg", "source": f"runs:/{run_id}/m"}
    )
    assert_error(
        status,
        body,
        400,
        INVALID,
        f"Invalid model version source: 'runs:/{run_id}/m'. The run_id request parameter must "
        "identify the resource that contains the source.",
    )
    status, body = await call(
        client, "POST", f"{MV}/create", {"name": "reg", "source": f"models:/{model_id}"}
    )
    assert_error(status, body, 400, INVALID)
    status, body = await call(
        client,
        "POST",
        f"{MV}/create",
        {"name": "nope", "source": f"runs:/{run_id}/m", "run_id": run_id},
    )
    assert_error(
        status, body, 404, "RESOURCE_DOES_NOT_EXIST", "Registered Model with name=nope not found"
    )

    # A registered source: models:/<name>/<version> inherits that version's lineage.
    v4 = await create_version(client, "reg", "models:/reg/1")
    assert (v4["source"], v4["run_id"], v4["model_id"]) == ("models:/reg/1", run_id, model_id)
    uri = await ok(client, "GET", f"{MV}/get-download-uri", {"name": "reg", "version": "4"})
    assert uri == {"artifact_uri": model["info"]["artifact_uri"]}

    latest = (await ok(client, "GET", f"{RM}/get", {"name": "reg"}))["registered_model"]
    assert [v["version"] for v in latest["latest_versions"]] == ["4"]


async def test_mlflow_artifacts_source_must_be_inside_its_run(api, client):
    experiment_id = await api.experiment()
    run = await api.run(experiment_id)
    other = await api.run(experiment_id)
    run_id, root = run["info"]["run_id"], run["info"]["artifact_uri"]
    await create_model(client, "art")
    version = await create_version(client, "art", f"{root}/model", run_id=run_id)
    assert version["source"] == f"{root}/model"
    for source, run_ref in (
        (f"{root}/model", other["info"]["run_id"]),
        (f"{root}/model", ""),
        (f"{other['info']['artifact_uri']}/model", run_id),
    ):
        status, body = await call(
            client, "POST", f"{MV}/create", {"name": "art", "source": source, "run_id": run_ref}
        )
        assert_error(status, body, 400, INVALID)


ADVISORIES = [
    "file:///etc/",
    "file:///etc/passwd",
    "file://./etc",
    "file://localhost/etc/passwd",
    "//proc/self/root",
    "//proc/self/root/etc/passwd",
    "/etc/passwd",
    "../../../etc",
    "./model",
    "model",
    "mlflow-artifacts:/../../etc",
    "mlflow-artifacts:/0/%2e%2e/%2e%2e/etc",
    "mlflow-artifacts://evil.example/0/x",
    "http://evil.example/api/2.0/mlflow-artifacts/artifacts/x",
    "https://169.254.169.254/latest/meta-data",
    "s3://someone-elses-bucket/model",
    "models://other-registry/m/1",
    "runs:/../../etc",
]


@pytest.mark.parametrize("source", ADVISORIES)
async def test_source_advisories_refused(api, client, tmp_path, source):
    experiment_id = await api.experiment()
    run_id = (await api.run(experiment_id))["info"]["run_id"]
    await create_model(client, "victim")
    for extra in ({}, {"run_id": run_id}):
        status, body = await call(
            client, "POST", f"{MV}/create", {"name": "victim", "source": source, **extra}
        )
        assert_error(status, body, 400, INVALID)
        assert "source" in body["message"]
    # The prompt tag exempts nothing: a prompt's source must be MLflow's placeholder.
    prompt = {
        "name": "victim",
        "source": source,
        "tags": [{"key": "mlflow.prompt.is_prompt", "value": "true"}],
    }
    status, body = await call(client, "POST", f"{MV}/create", prompt)
    assert_error(
        status,
        body,
        400,
        INVALID,
        f"Invalid prompt source: '{source}'. Prompt sources must use an MLflow placeholder.",
    )
    assert await ok(client, "GET", f"{MV}/search", {"filter": "name = 'victim'"}) == {}


async def test_local_source_under_artifact_root_is_accepted(client, settings):
    await create_model(client, "local")
    inside = f"{settings.artifacts_destination}/1/abc/artifacts/model"
    version = await create_version(client, "local", inside)
    assert version["source"] == inside
    status, body = await call(
        client,
        "POST",
        f"{MV}/create",
        {"name": "local", "source": f"{settings.artifacts_destination}/../x"},
    )
    assert_error(status, body, 400, INVALID)


async def test_prompt_placeholder_source(client):
    tags = [{"key": "mlflow.prompt.is_prompt", "value": "true"}]
    await create_model(client, "prompt", tags=tags)
    version = await create_version(client, "prompt", "dummy-source", tags=tags)
    assert version["source"] == "dummy-source"
    # Prompts are hidden from searches unless asked for.
    assert await ok(client, "GET", f"{RM}/search") == {}
    found = await ok(
        client, "GET", f"{RM}/search", {"filter": "tags.`mlflow.prompt.is_prompt` = 'true'"}
    )
    assert [m["name"] for m in found["registered_models"]] == ["prompt"]
    status, body = await call(client, "POST", f"{RM}/create", {"name": "prompt"})
    assert_error(status, body, 400, "RESOURCE_ALREADY_EXISTS")


async def test_stages_and_latest_versions(api, client):
    run_id = (await api.run(await api.experiment()))["info"]["run_id"]
    await create_model(client, "staged")
    for _ in range(3):
        await create_version(client, "staged", f"runs:/{run_id}/model", run_id=run_id)
    body = {
        "name": "staged",
        "version": "1",
        "stage": "staging",
        "archive_existing_versions": False,
    }
    moved = (await ok(client, "POST", f"{MV}/transition-stage", body))["model_version"]
    assert moved["current_stage"] == "Staging"
    body = {"name": "staged", "version": "2", "stage": "Staging", "archive_existing_versions": True}
    await ok(client, "POST", f"{MV}/transition-stage", body)
    v1 = (await ok(client, "GET", f"{MV}/get", {"name": "staged", "version": "1"}))["model_version"]
    assert v1["current_stage"] == "Archived"

    body = {
        "name": "staged",
        "version": "3",
        "stage": "Archived",
        "archive_existing_versions": True,
    }
    status, error = await call(client, "POST", f"{MV}/transition-stage", body)
    assert_error(status, error, 400, INVALID)
    body = {"name": "staged", "version": "3", "stage": "Bogus"}
    status, error = await call(client, "POST", f"{MV}/transition-stage", body)
    assert_error(
        status,
        error,
        400,
        INVALID,
        "Invalid Model Version stage: Bogus. "
        "Value must be one of None, Staging, Production, Archived.",
    )

    latest = await ok(
        client, "GET", f"{RM}/get-latest-versions", {"name": "staged", "stages": "Staging"}
    )
    assert [v["version"] for v in latest["model_versions"]] == ["2"]
    latest = await ok(client, "POST", f"{RM}/get-latest-versions", {"name": "staged"})
    assert sorted((v["current_stage"], v["version"]) for v in latest["model_versions"]) == [
        ("Archived", "1"),
        ("None", "3"),
        ("Staging", "2"),
    ]
    assert (
        await ok(
            client,
            "POST",
            f"{RM}/get-latest-versions",
            {"name": "staged", "stages": ["Production"]},
        )
        == {}
    )


async def test_aliases(api, client):
    run_id = (await api.run(await api.experiment()))["info"]["run_id"]
    await create_model(client, "aliased")
    for _ in range(2):
        await create_version(client, "aliased", f"runs:/{run_id}/model", run_id=run_id)
    alias = {"name": "aliased", "alias": "champion", "version": "1"}
    assert await ok(client, "POST", f"{RM}/alias", alias) == {}
    assert await ok(client, "POST", f"{RM}/alias", alias) == {}
    got = await ok(client, "GET", f"{RM}/alias", {"name": "aliased", "alias": "champion"})
    assert got["model_version"]["version"] == "1"
    assert got["model_version"]["aliases"] == ["champion"]
    model = (await ok(client, "GET", f"{RM}/get", {"name": "aliased"}))["registered_model"]
    assert model["aliases"] == [{"alias": "champion", "version": "1"}]
    latest = await ok(client, "GET", f"{RM}/alias", {"name": "aliased", "alias": "latest"})
    assert latest["model_version"]["version"] == "2"

    status, body = await call(client, "GET", f"{RM}/alias", {"name": "aliased", "alias": "nope"})
    assert_error(status, body, 400, INVALID, "Registered model alias nope not found.")
    for bad, message in (
        ("latest", "'latest' alias name (case insensitive) is reserved."),
        ("V12", "Version alias name 'V12' is reserved."),
        (
            "a b",
            "Invalid alias name: 'a b'. "
            "Names may only contain alphanumerics, underscores (_), and dashes (-).",
        ),
    ):
        status, body = await call(client, "POST", f"{RM}/alias", {**alias, "alias": bad})
        assert_error(status, body, 400, INVALID, message)
    status, body = await call(client, "POST", f"{RM}/alias", {**alias, "version": "9"})
    assert_error(
        status,
        body,
        404,
        "RESOURCE_DOES_NOT_EXIST",
        "Model Version (name=aliased, version=9) not found",
    )
    status, body = await call(client, "POST", f"{RM}/alias", {**alias, "version": "x"})
    assert_error(status, body, 400, INVALID, "Parameter 'version' must be an integer, got 'x'.")

    assert await ok(client, "DELETE", f"{RM}/alias", {"name": "aliased", "alias": "champion"}) == {}
    assert await ok(client, "DELETE", f"{RM}/alias", {"name": "aliased", "alias": "champion"}) == {}
    status, body = await call(
        client, "GET", f"{RM}/alias", {"name": "aliased", "alias": "champion"}
    )
    assert_error(status, body, 400, INVALID)


async def test_version_update_tags_and_delete(api, client):
    run_id = (await api.run(await api.experiment()))["info"]["run_id"]
    await create_model(client, "life")
    await create_version(
        client, "life", f"runs:/{run_id}/model", run_id=run_id, tags=[{"key": "a", "value": "1"}]
    )
    await create_version(client, "life", f"runs:/{run_id}/model", run_id=run_id)
    ref = {"name": "life", "version": "1"}
    updated = (await ok(client, "PATCH", f"{MV}/update", {**ref, "description": "d"}))[
        "model_version"
    ]
    assert updated["description"] == "d"
    assert await ok(client, "POST", f"{MV}/set-tag", {**ref, "key": "b", "value": "2"}) == {}
    assert await ok(client, "DELETE", f"{MV}/delete-tag", {**ref, "key": "a"}) == {}
    got = (await ok(client, "GET", f"{MV}/get", ref))["model_version"]
    assert pairs(got["tags"]) == {"b": "2"}

    await ok(client, "POST", f"{RM}/alias", {**ref, "alias": "prod"})
    assert await ok(client, "DELETE", f"{MV}/delete", ref) == {}
    assert await ok(client, "DELETE", f"{MV}/delete", ref) == {}  # a retry succeeds
    status, body = await call(client, "GET", f"{MV}/get", ref)
    assert_error(
        status,
        body,
        404,
        "RESOURCE_DOES_NOT_EXIST",
        "Model Version (name=life, version=1) not found",
    )
    model = (await ok(client, "GET", f"{RM}/get", {"name": "life"}))["registered_model"]
    assert "aliases" not in model
    again = await create_version(client, "life", f"runs:/{run_id}/model", run_id=run_id)
    assert again["version"] == "3"  # numbers of deleted versions are not reused
    status, body = await call(client, "DELETE", f"{MV}/delete", {"name": "life", "version": "7"})
    assert_error(status, body, 404, "RESOURCE_DOES_NOT_EXIST")
    status, body = await call(
        client, "GET", f"{MV}/get", {"name": "life", "version": "99999999999"}
    )
    assert_error(status, body, 404, "RESOURCE_DOES_NOT_EXIST")


async def test_search_registered_models(client):
    for name, team in (("alpha", "x"), ("beta", "y"), ("gamma", "x")):
        await create_model(client, name, tags=[{"key": "team", "value": team}])

    async def names(**params: Any) -> list[str]:
        found = await ok(client, "GET", f"{RM}/search", params)
        return [m["name"] for m in found.get("registered_models", [])]

    assert await names() == ["alpha", "beta", "gamma"]
    assert await names(filter="name LIKE '%a'") == ["alpha", "beta", "gamma"]
    assert await names(filter="name = 'beta'") == ["beta"]
    assert await names(filter="tags.team = 'x'") == ["alpha", "gamma"]
    client_filter = "name ILIKE 'G%' AND tags.`mlflow.prompt.is_prompt` != 'true'"
    assert await names(filter=client_filter) == ["gamma"]
    assert await names(filter="name IN ('alpha', 'gamma')") == ["alpha", "gamma"]
    assert await names(order_by="name DESC") == ["gamma", "beta", "alpha"]
    first = await ok(client, "GET", f"{RM}/search", {"max_results": "2"})
    assert [m["name"] for m in first["registered_models"]] == ["alpha", "beta"]
    second = await ok(
        client, "GET", f"{RM}/search", {"max_results": "2", "page_token": first["next_page_token"]}
    )
    assert [m["name"] for m in second["registered_models"]] == ["gamma"]
    assert "next_page_token" not in second

    for params, code in (
        ({"filter": "creation_timestamp > 1"}, INVALID),
        ({"filter": "tags.team > 'x'"}, INVALID),
        ({"filter": "name = 'a' OR name = 'b'"}, INVALID),
        ({"order_by": "bogus"}, INVALID),
        ({"order_by": ["name", "name DESC"]}, INVALID),
        ({"max_results": "1001"}, INVALID),
        ({"page_token": "!!"}, INVALID),
    ):
        status, body = await call(client, "GET", f"{RM}/search", params)
        assert_error(status, body, 400, code)


async def test_search_model_versions(api, client):
    run_id = (await api.run(await api.experiment()))["info"]["run_id"]
    other = (await api.run(await api.experiment("e2")))["info"]["run_id"]
    for name in ("m-a", "m-b"):
        await create_model(client, name)
        await create_version(client, name, f"runs:/{run_id}/model", run_id=run_id)
        await create_version(
            client, name, f"runs:/{other}/model", run_id=other, tags=[{"key": "t", "value": name}]
        )

    async def keys(**params: Any) -> list[tuple[str, str]]:
        found = await ok(client, "GET", f"{MV}/search", params)
        return [(v["name"], v["version"]) for v in found.get("model_versions", [])]

    assert await keys(filter="name = 'm-a'", order_by="version_number ASC") == [
        ("m-a", "1"),
        ("m-a", "2"),
    ]
    assert await keys(filter=f"run_id = '{other}'", order_by="name") == [("m-a", "2"), ("m-b", "2")]
    assert await keys(filter="tags.t = 'm-b'") == [("m-b", "2")]
    assert await keys(filter="version_number > 1 AND name LIKE 'm-%'", order_by="name DESC") == [
        ("m-b", "2"),
        ("m-a", "2"),
    ]
    assert await keys(
        filter="source_path LIKE 'runs:/%'", order_by=["name", "version_number DESC"]
    ) == [
        ("m-a", "2"),
        ("m-a", "1"),
        ("m-b", "2"),
        ("m-b", "1"),
    ]
    assert len(await keys(filter="tags.`mlflow.prompt.is_prompt` != 'true'")) == 4
    first = await ok(client, "GET", f"{MV}/search", {"max_results": "3", "order_by": "name"})
    assert len(first["model_versions"]) == 3
    rest = await ok(
        client,
        "GET",
        f"{MV}/search",
        {"max_results": "3", "order_by": "name", "page_token": first["next_page_token"]},
    )
    assert len(rest["model_versions"]) == 1
    for params in (
        {"filter": "version_number = 1.5"},
        {"filter": "run_id > 'x'"},
        {"filter": "source_path IN ('a')"},
        {"filter": "stage = 'None'"},
        {"order_by": "run_id"},
        {"max_results": "200001"},
    ):
        status, body = await call(client, "GET", f"{MV}/search", params)
        assert_error(status, body, 400, INVALID)


async def test_get_artifact_and_ajax_prefix(api, client):
    _, model = await logged_model(api, client)
    model_id = model["info"]["model_id"]
    location = model["info"]["artifact_uri"].removeprefix("mlflow-artifacts:/")
    resp = await client.put(
        f"/api/2.0/mlflow-artifacts/artifacts/{location}/MLmodel", data=b"flavors: {}\n"
    )
    assert resp.status == 200
    await create_model(client, "served")
    await create_version(client, "served", f"models:/{model_id}", model_id=model_id)

    resp = await client.get(
        "/model-versions/get-artifact", params={"name": "served", "version": "1", "path": "MLmodel"}
    )
    assert resp.status == 200
    assert await resp.read() == b"flavors: {}\n"
    for path in ("../MLmodel", "%2e%2e/x", "/etc/passwd", "a//b"):
        resp = await client.get(
            "/model-versions/get-artifact", params={"name": "served", "version": "1", "path": path}
        )
        assert_error(resp.status, await resp.json(), 400, INVALID, "Invalid path")
    resp = await client.get(
        "/model-versions/get-artifact", params={"name": "served", "version": "1", "path": "nope"}
    )
    assert_error(resp.status, await resp.json(), 404, "RESOURCE_DOES_NOT_EXIST")
    resp = await client.get(
        "/model-versions/get-artifact", params={"name": "served", "version": "1"}
    )
    assert_error(resp.status, await resp.json(), 400, INVALID, missing("path"))

    status, body = await call(client, "GET", f"{RM}/get", {"name": "served"}, prefix=AJAX)
    assert status == 200 and body["registered_model"]["name"] == "served"
    status, body = await call(client, "POST", f"{RM}/get", {"name": "served"})
    assert_error(status, body, 405, "BAD_REQUEST")


async def test_missing_parameters(client):
    for method, path, body, name in (
        ("POST", f"{RM}/create", {}, "name"),
        ("GET", f"{RM}/get", None, "name"),
        ("POST", f"{RM}/rename", {"name": "a"}, "new_name"),
        ("POST", f"{MV}/create", {"name": "a"}, "source"),
        ("GET", f"{MV}/get", {"name": "a"}, "version"),
        ("POST", f"{RM}/alias", {"name": "a", "alias": "b"}, "version"),
        ("POST", f"{MV}/set-tag", {"name": "a", "version": "1"}, "key"),
    ):
        status, error = await call(client, method, path, body)
        assert_error(status, error, 400, INVALID, missing(name))


async def test_rename_moves_versions_tags_and_aliases(api, client):
    run_id = (await api.run(await api.experiment()))["info"]["run_id"]
    await create_model(client, "old", tags=[{"key": "k", "value": "v"}])
    await create_version(
        client, "old", f"runs:/{run_id}/model", run_id=run_id, tags=[{"key": "t", "value": "1"}]
    )
    await ok(client, "POST", f"{RM}/alias", {"name": "old", "alias": "best", "version": "1"})
    await ok(client, "POST", f"{RM}/rename", {"name": "old", "new_name": "new"})
    version = (await ok(client, "GET", f"{RM}/alias", {"name": "new", "alias": "best"}))[
        "model_version"
    ]
    assert (version["name"], version["version"], pairs(version["tags"])) == ("new", "1", {"t": "1"})
    model = (await ok(client, "GET", f"{RM}/get", {"name": "new"}))["registered_model"]
    assert pairs(model["tags"]) == {"k": "v"}
    assert [v["name"] for v in model["latest_versions"]] == ["new"]
    status, body = await call(client, "GET", f"{MV}/get", {"name": "old", "version": "1"})
    assert_error(status, body, 404, "RESOURCE_DOES_NOT_EXIST")
    second = await create_version(client, "new", f"runs:/{run_id}/model", run_id=run_id)
    assert second["version"] == "2"
    await ok(client, "DELETE", f"{RM}/delete", {"name": "new"})
    assert await ok(client, "GET", f"{MV}/search") == {}
