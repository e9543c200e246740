"""The artifact endpoints over HTTP: proxy, run listings, UI get/upload, and path safety."""

import asyncio
import hashlib
import io
import os
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.conftest import API
from tests.test_artifact_paths import BAD_PATHS

PROXY = "/api/2.0/mlflow-artifacts/artifacts"
AJAX_PROXY = "/ajax-api/2.0/mlflow-artifacts/artifacts"


async def put(client, path: str, data: bytes, prefix: str = PROXY):
    resp = await client.put(f"{prefix}/{path}", data=io.BytesIO(data))
    return resp.status, await resp.json()


async def raw_request(client, method: str, target: str, body: bytes = b"") -> tuple[int, bytes]:
    """One HTTP/1.1 request with the target sent byte for byte (no client-side normalizing)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", client.server.port)
    head = f"{method} {target} HTTP/1.1\r\nHost: t\r\nContent-Length: {len(body)}\r\n"
    writer.write(head.encode() + b"Connection: close\r\n\r\n" + body)
    await writer.drain()
    response = await reader.read()
    writer.close()
    status_line, _, rest = response.partition(b"\r\n")
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


@pytest.fixture
def root(settings) -> Path:
    return Path(settings.artifacts_destination)


async def test_proxy_round_trip(client, root):
    data = os.urandom(3 * 1024 * 1024 + 17)
    assert await put(client, "1/r/artifacts/dir/blob.bin", data) == (200, {})
    assert (root / "1/r/artifacts/dir/blob.bin").read_bytes() == data

    resp = await client.get(f"{PROXY}/1/r/artifacts/dir/blob.bin")
    assert resp.status == 200
    assert await resp.read() == data
    assert resp.headers["Content-Type"] == "application/octet-stream"
    assert resp.headers["Content-Disposition"] == 'attachment; filename="blob.bin"'
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert int(resp.headers["Content-Length"]) == len(data)


async def test_proxy_retry_of_same_bytes_gives_same_result(client, root):
    for _ in range(3):
        assert await put(client, "1/r/artifacts/a.txt", b"same") == (200, {})
    assert (root / "1/r/artifacts/a.txt").read_bytes() == b"same"
    assert await put(client, "1/r/artifacts/a.txt", b"newer") == (200, {})
    resp = await client.get(f"{PROXY}/1/r/artifacts/a.txt")
    assert await resp.read() == b"newer"


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("notes.txt", "text/plain"),
        ("MLmodel", "text/plain"),
        ("page.html", "text/html"),
        ("data.json", "text/plain"),
        ("plot.png", "image/png"),
        ("weights", "application/octet-stream"),
    ],
)
async def test_download_content_type(client, name, content_type):
    await put(client, f"1/r/artifacts/{name}", b"x")
    resp = await client.get(f"{PROXY}/1/r/artifacts/{name}")
    assert resp.headers["Content-Type"].split(";")[0] == content_type
    assert resp.headers["Content-Disposition"] == f'attachment; filename="{name}"'


async def test_non_ascii_file_name_download(client):
    await put(client, "1/r/artifacts/%C3%BCber.txt", b"x")
    resp = await client.get(f"{PROXY}/1/r/artifacts/%C3%BCber.txt")
    assert resp.status == 200
    assert resp.headers["Content-Disposition"] == (
        "attachment; filename=\"uber.txt\"; filename*=UTF-8''%C3%BCber.txt"
    )


async def test_proxy_listing(client):
    await put(client, "1/r/artifacts/a.txt", b"abc")
    await put(client, "1/r/artifacts/sub/b.txt", b"b")
    resp = await client.get(PROXY, params={"path": "1/r/artifacts"})
    assert await resp.json() == {
        "files": [
            {"path": "a.txt", "is_dir": False, "file_size": 3},
            {"path": "sub", "is_dir": True},
        ]
    }
    resp = await client.get(AJAX_PROXY, params={"path": "1/r/artifacts/sub/"})
    assert await resp.json() == {"files": [{"path": "b.txt", "is_dir": False, "file_size": 1}]}
    resp = await client.get(PROXY, params={"path": "1/nothing"})
    assert (resp.status, await resp.json()) == (200, {})
    resp = await client.get(PROXY)
    assert await resp.json() == {"files": [{"path": "1", "is_dir": True}]}


async def test_proxy_delete(client, root):
    await put(client, "1/r/artifacts/a.txt", b"a")
    await put(client, "1/r/artifacts/d/b.txt", b"b")
    resp = await client.delete(f"{PROXY}/1/r/artifacts/a.txt")
    assert (resp.status, await resp.json()) == (200, {})
    resp = await client.delete(f"{PROXY}/1/r/artifacts/d")
    assert resp.status == 200
    resp = await client.delete(f"{PROXY}/1/r/artifacts/d")  # again: still fine
    assert resp.status == 200
    assert sorted(p.name for p in (root / "1/r/artifacts").iterdir()) == []


async def test_proxy_delete_of_root_is_refused(client, root):
    await put(client, "1/r/artifacts/a.txt", b"a")
    for target in (PROXY, f"{PROXY}/", f"{PROXY}?path="):
        resp = await client.delete(target)
        assert resp.status == 400, target
    assert (root / "1/r/artifacts/a.txt").exists()


@pytest.mark.parametrize("path", ["1/missing.txt", "1/r/artifacts"])
async def test_download_of_missing_file_or_directory_is_404(client, path):
    await put(client, "1/r/artifacts/a.txt", b"a")
    resp = await client.get(f"{PROXY}/{path}")
    assert resp.status == 404
    body = await resp.json()
    assert body["error_code"] == "RESOURCE_DOES_NOT_EXIST"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/2.0/mlflow-artifacts/mpu/create/1/a.bin"),
        ("POST", "/api/2.0/mlflow-artifacts/mpu/complete/1/a.bin"),
        ("POST", "/ajax-api/2.0/mlflow-artifacts/mpu/abort/1/a.bin"),
        ("GET", "/api/2.0/mlflow-artifacts/presigned/1/a.bin"),
    ],
)
async def test_multipart_and_presigned_are_not_implemented(client, method, path):
    resp = await client.request(method, path, json={})
    assert resp.status == 501
    assert (await resp.json())["error_code"] == "NOT_IMPLEMENTED"


async def test_server_info_advertises_plain_uploads(client):
    resp = await client.get("/api/3.0/mlflow/server-info")
    info = await resp.json()
    assert info["multipart_uploads_enabled"] is False
    assert info["multipart_downloads_enabled"] is False


# -- run-relative endpoints --


async def test_run_artifact_listing_and_download(api, client):
    run = await api.run(await api.experiment())
    run_id = run["info"]["run_id"]
    root_uri = run["info"]["artifact_uri"]
    assert root_uri == f"mlflow-artifacts:/{run['info']['experiment_id']}/{run_id}/artifacts"
    base = root_uri.removeprefix("mlflow-artifacts:/")
    await put(client, f"{base}/model/MLmodel", b"flavors: {}")
    await put(client, f"{base}/top.txt", b"top")

    listing = await api.ok("GET", "/artifacts/list", {"run_id": run_id})
    assert listing == {
        "root_uri": root_uri,
        "files": [
            {"path": "model", "is_dir": True},
            {"path": "top.txt", "is_dir": False, "file_size": 3},
        ],
    }
    listing = await api.ok("GET", "/artifacts/list", {"run_uuid": run_id, "path": "model"})
    assert listing["files"] == [{"path": "model/MLmodel", "is_dir": False, "file_size": 11}]
    assert await api.ok("GET", "/artifacts/list", {"run_id": run_id, "path": "none"}) == {
        "root_uri": root_uri
    }

    resp = await client.get("/get-artifact", params={"run_uuid": run_id, "path": "model/MLmodel"})
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith("text/plain")
    assert await resp.read() == b"flavors: {}"
    resp = await client.get("/get-artifact", params={"run_id": run_id, "path": "absent.txt"})
    assert resp.status == 404


async def test_run_artifacts_of_unknown_run_are_404(api, client):
    status, body = await api.get("/artifacts/list", {"run_id": "f" * 32})
    assert status == 404
    assert body["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    resp = await client.get("/get-artifact", params={"run_id": "f" * 32, "path": "a"})
    assert resp.status == 404


async def test_ui_upload_artifact(api, client):
    run = await api.run(await api.experiment())
    run_id = run["info"]["run_id"]
    target = "/ajax-api/2.0/mlflow/upload-artifact"
    resp = await client.post(target, params={"run_uuid": run_id, "path": "up/a.txt"}, data=b"hi")
    assert (resp.status, await resp.json()) == (200, {})
    resp = await client.get("/get-artifact", params={"run_uuid": run_id, "path": "up/a.txt"})
    assert await resp.read() == b"hi"

    too_big = b"x" * (10 * 1024 * 1024 + 1)
    resp = await client.post(
        target, params={"run_uuid": run_id, "path": "big"}, data=io.BytesIO(too_big)
    )
    assert resp.status == 400
    assert "too large" in (await resp.json())["message"]
    for params in ({"path": "a"}, {"run_uuid": run_id}):
        resp = await client.post(target, params=params, data=b"x")
        assert resp.status == 400
    resp = await client.post(target, params={"run_uuid": run_id, "path": "e"}, data=b"")
    assert resp.status == 400
    listing = await api.ok("GET", "/artifacts/list", {"run_id": run_id})
    assert listing["files"] == [{"path": "up", "is_dir": True}]


# -- path safety: every endpoint, every form --


def wire_forms(bad: str, in_query: bool) -> list[str]:
    """What to put on the request line so the server receives `bad` raw, encoded, double-encoded.

    aiohttp decodes a request target once; each form is encoded once more for the wire. In the
    URL path, slashes stay literal so dot segments reach the router as written.
    """
    safe = "" if in_query else "/"
    once = quote(bad, safe="")
    return [quote(form, safe=safe) for form in (bad, once, quote(once, safe=""))]


@pytest.fixture
async def traversal_setup(api, client, root, tmp_path):
    """A run, a secret file outside the artifact root, and a snapshot of everything outside it."""
    run = await api.run(await api.experiment())
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    (root / "1").mkdir(parents=True, exist_ok=True)
    return run["info"]["run_id"], outside


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


ENDPOINTS = [
    ("GET", f"{PROXY}/{{p}}", False),
    ("PUT", f"{PROXY}/{{p}}", False),
    ("DELETE", f"{PROXY}/{{p}}", False),
    ("GET", f"{AJAX_PROXY}/{{p}}", False),
    ("GET", f"{PROXY}?path={{p}}", True),
    ("DELETE", f"{PROXY}?path={{p}}", True),
    ("GET", f"{API}/artifacts/list?run_id={{run}}&path={{p}}", True),
    ("GET", "/get-artifact?run_uuid={run}&path={p}", True),
    ("POST", "/ajax-api/2.0/mlflow/upload-artifact?run_uuid={run}&path={p}", True),
]


@pytest.mark.parametrize(("method", "template", "in_query"), ENDPOINTS)
async def test_every_escaping_path_is_refused(
    client, traversal_setup, tmp_path, method, template, in_query
):
    run_id, _ = traversal_setup
    before = snapshot(tmp_path)
    for bad in BAD_PATHS:
        for form in wire_forms(bad, in_query):
            target = template.format(p=form, run=run_id)
            status, body = await raw_request(client, method, target, b"pwned")
            assert status == 400, (target, status, body)
            assert b'"error_code":"INVALID_PARAMETER_VALUE"' in body, target
            assert b"Invalid path" in body, target
            assert b"secret" not in body
    assert snapshot(tmp_path) == before


async def test_symlinks_inside_the_root_are_not_followed(client, api, root, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("secret")
    base = root / "1" / "r" / "artifacts"
    base.mkdir(parents=True)
    (base / "file-link.txt").symlink_to(outside / "secret.txt")
    (base / "dir-link").symlink_to(outside)
    before = snapshot(outside)

    resp = await client.get(f"{PROXY}/1/r/artifacts/file-link.txt")
    assert resp.status == 404
    assert b"secret" not in await resp.read()
    resp = await client.get(f"{PROXY}/1/r/artifacts/dir-link/secret.txt")
    assert resp.status == 404
    resp = await client.get(PROXY, params={"path": "1/r/artifacts/dir-link"})
    assert await resp.json() == {}
    resp = await client.get(PROXY, params={"path": "1/r/artifacts"})
    assert await resp.json() == {}  # links are not listed
    status, _ = await put(client, "1/r/artifacts/dir-link/planted.txt", b"x")
    assert status == 400
    status, _ = await put(client, "1/r/artifacts/file-link.txt", b"overwritten")
    assert status == 200  # replaces the link itself, inside the root
    assert (base / "file-link.txt").read_bytes() == b"overwritten"
    resp = await client.delete(f"{PROXY}/1/r/artifacts/dir-link")
    assert resp.status == 200
    assert snapshot(outside) == before
    assert hashlib.sha256((outside / "secret.txt").read_bytes()).hexdigest()


async def test_a_symlinked_parent_of_the_run_is_not_followed(client, root, tmp_path):
    outside = tmp_path / "elsewhere"
    (outside / "r" / "artifacts").mkdir(parents=True)
    (outside / "r" / "artifacts" / "secret.txt").write_text("secret")
    root.mkdir(parents=True, exist_ok=True)
    (root / "7").symlink_to(outside)
    resp = await client.get(f"{PROXY}/7/r/artifacts/secret.txt")
    assert resp.status == 404
    status, _ = await put(client, "7/r/artifacts/new.txt", b"x")
    assert status == 400
    assert not (outside / "r" / "artifacts" / "new.txt").exists()
