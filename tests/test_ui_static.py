"""The web UI's build under `/` and `/static-files/`, `--static-prefix`, `--no-ui`, the ajax extras
and the `ui install` step."""

import zipfile
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tracking.app import create_app
from tracking.config import Settings, from_env
from tracking.ui import install
from tracking.ui.build import WHEEL_BUILD_DIR

INDEX = '<!doctype html><script src="static-files/static/js/main.c2f5f8d4.js"></script>'


@pytest.fixture
def build(tmp_path: Path) -> Path:
    root = tmp_path / "build"
    (root / "static" / "js").mkdir(parents=True)
    (root / "index.html").write_text(INDEX)
    (root / "static" / "js" / "main.c2f5f8d4.js").write_text("console.log(1)")
    (root / "manifest.json").write_text("{}")
    (tmp_path / "secret.txt").write_text("secret")
    (root / "static" / "link.txt").symlink_to(tmp_path / "secret.txt")
    return root


async def ui_client(aiohttp_client: Any, settings: Settings, **changes: Any) -> TestClient:
    return await aiohttp_client(create_app(settings.with_(**changes)))


async def test_index_and_assets_with_cache_headers(
    aiohttp_client: Any, settings: Settings, build: Path
) -> None:
    client = await ui_client(aiohttp_client, settings, ui_dir=str(build))
    resp = await client.get("/")
    assert resp.status == 200
    assert resp.content_type == "text/html"
    assert resp.headers["Cache-Control"] == "no-cache"
    assert await resp.text() == INDEX
    resp = await client.get("/static-files/static/js/main.c2f5f8d4.js")
    assert resp.status == 200
    assert resp.content_type == "application/javascript"
    assert resp.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert await resp.text() == "console.log(1)"
    resp = await client.get("/static-files/manifest.json")
    assert resp.status == 200
    assert resp.headers["Cache-Control"] == "no-cache"


@pytest.mark.parametrize(
    "path",
    [
        "/static-files/../secret.txt",
        "/static-files/%2e%2e/secret.txt",
        "/static-files/static/%2e%2e/%2e%2e/secret.txt",
        "/static-files/%252e%252e/secret.txt",
        "/static-files/static/link.txt",
        "/static-files/static",
        "/static-files/missing.js",
        "/static-files//etc/passwd",
    ],
)
async def test_paths_stay_inside_the_build(
    aiohttp_client: Any, settings: Settings, build: Path, path: str
) -> None:
    client = await ui_client(aiohttp_client, settings, ui_dir=str(build))
    resp = await client.get(path)
    assert resp.status == 404
    assert "secret" not in await resp.text()


async def test_missing_build_says_how_to_install(
    aiohttp_client: Any, settings: Settings, tmp_path: Path
) -> None:
    client = await ui_client(aiohttp_client, settings, ui_dir=str(tmp_path / "none"))
    resp = await client.get("/")
    assert resp.status == 200
    assert "-m tracking ui install" in await resp.text()
    status = (await client.get("/api/2.0/mlflow/experiments/get?experiment_id=0")).status
    assert status == 200


async def test_no_ui_serves_the_api_only(
    aiohttp_client: Any, settings: Settings, build: Path
) -> None:
    client = await ui_client(aiohttp_client, settings, ui_dir=str(build), ui_enabled=False)
    assert (await client.get("/")).status == 404
    assert (await client.get("/static-files/manifest.json")).status == 404
    assert (await client.get("/api/2.0/mlflow/experiments/get?experiment_id=0")).status == 200


async def test_static_prefix_moves_everything(
    aiohttp_client: Any, settings: Settings, build: Path
) -> None:
    client = await ui_client(aiohttp_client, settings, ui_dir=str(build), static_prefix="/mlflow/")
    resp = await client.get("/mlflow", allow_redirects=False)
    assert resp.status == 302
    assert resp.headers["Location"] == "/mlflow/"
    resp = await client.get("/mlflow/")
    assert await resp.text() == INDEX
    resp = await client.get("/mlflow/static-files/static/js/main.c2f5f8d4.js")
    assert resp.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    resp = await client.get("/mlflow/ajax-api/2.0/mlflow/experiments/get?experiment_id=0")
    assert (await resp.json())["experiment"]["name"] == "Default"
    resp = await client.post(
        "/mlflow/graphql", json={"query": '{ test(inputString: "x") { output } }'}
    )
    assert await resp.json() == {"data": {"test": {"output": "x"}}, "errors": None}
    assert (await client.get("/mlflow/ajax-api/3.0/mlflow/ui-telemetry")).status == 200
    assert (await client.get("/")).status == 404
    assert (await client.get("/api/2.0/mlflow/experiments/get?experiment_id=0")).status == 404


async def test_telemetry_is_off_and_gateway_empty(client: TestClient) -> None:
    resp = await client.get("/ajax-api/3.0/mlflow/ui-telemetry")
    assert await resp.json() == {
        "disable_ui_telemetry": True,
        "disable_ui_events": [],
        "ui_rollout_percentage": 0,
    }
    resp = await client.post("/ajax-api/3.0/mlflow/ui-telemetry", json={"records": [{}]})
    assert await resp.json() == {"status": "disabled"}
    for method in ("GET", "POST"):
        resp = await client.request(method, "/ajax-api/2.0/mlflow/gateway-proxy", json={})
        assert resp.status == 200
        assert await resp.json() == {"endpoints": []}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/ajax-api/3.0/mlflow/traces/search", {"traces": []}),
        ("GET", "/ajax-api/2.0/mlflow/traces", {"traces": []}),
        ("POST", "/ajax-api/3.0/mlflow/issues/search", {"issues": []}),
        ("GET", "/ajax-api/3.0/mlflow/scorers/list", {"scorers": []}),
        ("POST", "/ajax-api/3.0/mlflow/datasets/search", {"datasets": []}),
        ("GET", "/ajax-api/3.0/mlflow/datasets/search", {"datasets": []}),
    ],
)
async def test_genai_panels_get_empty_results(
    client: TestClient, method: str, path: str, body: dict[str, Any]
) -> None:
    resp = await client.request(method, path, json={"experiment_ids": ["0"]})
    assert resp.status == 200
    assert await resp.json() == body


def test_env_and_flags() -> None:
    settings = from_env({"TRACKING_UI": "0", "MLFLOW_STATIC_PREFIX": "/p", "TRACKING_UI_DIR": "/x"})
    assert (settings.ui_enabled, settings.static_prefix, settings.ui_dir) == (False, "/p", "/x")
    assert from_env({}).ui_enabled is True


def _wheel(path: Path, members: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return path


def test_install_refuses_a_wheel_with_another_hash(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path / "w.whl", {WHEEL_BUILD_DIR + "index.html": "x"})
    with pytest.raises(install.InstallError, match="expected"):
        install.install(tmp_path / "ui", wheel)
    assert not (tmp_path / "ui").exists()


def test_extract_keeps_only_the_build_and_refuses_escapes(tmp_path: Path) -> None:
    wheel = _wheel(
        tmp_path / "w.whl",
        {
            WHEEL_BUILD_DIR + "index.html": "<html>",
            WHEEL_BUILD_DIR + "static/js/a.12345678.js": "js",
            "mlflow/__init__.py": "python",
        },
    )
    assert install.extract_build(wheel, tmp_path / "out") == 2
    assert sorted(p.name for p in (tmp_path / "out").rglob("*") if p.is_file()) == [
        "a.12345678.js",
        "index.html",
    ]
    bad = _wheel(tmp_path / "bad.whl", {WHEEL_BUILD_DIR + "../../evil.txt": "x"})
    with pytest.raises(install.InstallError, match="unexpected path"):
        install.extract_build(bad, tmp_path / "out2")
    assert not (tmp_path / "evil.txt").exists()
