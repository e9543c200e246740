"""experiments/create accepts an artifact_location only under the server's roots."""

from pathlib import Path

import pytest

from tests.conftest import API
from tracking.app import create_app


@pytest.fixture
async def allowed_api(aiohttp_client, settings, tmp_path):
    allowed = tmp_path / "team-store"
    app = create_app(settings.with_(allowed_artifact_locations=(str(allowed),)))
    return await aiohttp_client(app), allowed


async def create(client, location: str):
    resp = await client.post(
        f"{API}/experiments/create", json={"name": f"e-{location}", "artifact_location": location}
    )
    return resp.status, await resp.json()


async def experiment_count(client) -> int:
    resp = await client.post(f"{API}/experiments/search", json={"view_type": "ALL"})
    return len((await resp.json())["experiments"])


def accepted(root: Path, allowed: Path) -> list[str]:
    return [
        "mlflow-artifacts:/team-a/x",
        f"{root}/sub",
        f"file://{root}/sub",
        str(allowed),
        f"{allowed}/proj",
        f"file://{allowed}/proj/",
    ]


def refused(root: Path, allowed: Path) -> list[str]:
    return [
        "file:///etc",
        "file:///etc/passwd",
        "/etc/x",
        "//proc/self/root",
        "//proc/self/root/etc",
        "/proc/self/root/etc",
        "http://169.254.169.254/latest/meta-data",
        "https://evil.example/x",
        "ftp://evil.example/x",
        "mlflow-artifacts://evil.example:5000/x",
        "mlflow-artifacts:x",
        "mlflow-artifacts:/../x",
        "mlflow-artifacts:/a/%2e%2e/%2e%2e/b",
        "mlflow-artifacts:/a/%252e%252e/b",
        "s3://some-bucket/x",
        "relative/folder",
        "./mlartifacts/x",
        f"{allowed}x",
        f"{allowed}/../escape",
        f"{allowed}/a/..%2f..%2f..%2fetc",
        f"{root}/../x",
        f"{root}//x",
        f"file://evil-host{allowed}/x",
        f"file://{allowed}/x?query=1",
        f"{allowed}/x#frag",
        f"{allowed}/x\x00y",
    ]


async def test_locations_under_the_roots_are_accepted(allowed_api, settings):
    client, allowed = allowed_api
    for location in accepted(Path(settings.artifacts_destination), allowed):
        status, body = await create(client, location)
        assert status == 200, (location, body)


async def test_other_locations_are_refused_and_nothing_is_created(allowed_api, settings):
    client, allowed = allowed_api
    before = await experiment_count(client)
    for location in refused(Path(settings.artifacts_destination), allowed):
        status, body = await create(client, location)
        assert status == 400, (location, body)
        assert body["error_code"] == "INVALID_PARAMETER_VALUE", location
    assert await experiment_count(client) == before


async def test_runs_of_an_allowed_location_serve_their_artifacts(allowed_api):
    client, allowed = allowed_api
    status, body = await create(client, f"{allowed}/proj")
    assert status == 200
    resp = await client.post(
        f"{API}/runs/create", json={"experiment_id": body["experiment_id"], "start_time": 1}
    )
    run = (await resp.json())["run"]["info"]
    assert run["artifact_uri"] == f"{allowed}/proj/{run['run_id']}/artifacts"
    target = Path(run["artifact_uri"]) / "a.txt"
    target.parent.mkdir(parents=True)
    target.write_text("here")
    resp = await client.get(f"{API}/artifacts/list", params={"run_id": run["run_id"]})
    assert (await resp.json())["files"] == [{"path": "a.txt", "is_dir": False, "file_size": 4}]
    resp = await client.get("/get-artifact", params={"run_id": run["run_id"], "path": "a.txt"})
    assert await resp.read() == b"here"
