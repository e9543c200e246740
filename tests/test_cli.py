"""The command line: migrations, schema checks and multi-process serving."""

import http.client
import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import psql, start_server, stop_server


def tracking(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tracking", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def empty_pg_database(pg_base_url: str, name: str) -> str:
    psql(pg_base_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    psql(pg_base_url, f"CREATE DATABASE {name}")
    return f"{pg_base_url}/{name}"


@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_refuses_an_unmigrated_postgres_and_names_the_command(pg_base_url, tmp_path, workers):
    """Checked in the serving process itself, or with several workers in a child the
    supervisor waits for: the same exit code and message either way."""
    uri = empty_pg_database(pg_base_url, "cli_unmigrated")
    result = tracking(
        "serve", "--port", "1", "--backend-store-uri", uri, "--workers", workers, cwd=tmp_path
    )
    assert result.returncode == 2
    assert "python -m tracking db upgrade --backend-store-uri" in result.stderr
    assert "has no schema" in result.stderr


def test_concurrent_db_upgrades_serialise_and_then_serve(pg_base_url, tmp_path):
    uri = empty_pg_database(pg_base_url, "cli_concurrent")
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tracking", "db", "upgrade", "--backend-store-uri", uri],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for _ in range(3)
    ]
    outputs = [p.communicate(timeout=120)[0].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outputs
    server = start_server(uri, tmp_path)
    try:
        with urllib.request.urlopen(
            server.url + "/api/2.0/mlflow/experiments/get?experiment_id=0"
        ) as resp:
            assert json.load(resp)["experiment"]["name"] == "Default"
    finally:
        stop_server(server)
        psql(pg_base_url, "DROP DATABASE IF EXISTS cli_concurrent WITH (FORCE)")


def test_sqlite_is_migrated_at_startup(tmp_path):
    server = start_server(f"sqlite:///{tmp_path / 'fresh.db'}", tmp_path)
    try:
        with urllib.request.urlopen(server.url + "/version") as resp:
            assert resp.read().decode()
    finally:
        stop_server(server)
    assert (tmp_path / "fresh.db").exists()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_workers_share_the_port(backend, databases, tmp_path):
    server = start_server(databases.new(backend, tmp_path), tmp_path, "--workers", "2")
    try:
        ids = set()
        for i in range(20):
            request = urllib.request.Request(
                server.url + "/api/2.0/mlflow/experiments/create",
                data=json.dumps({"name": f"w{i}"}).encode(),
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request) as resp:
                ids.add(json.load(resp)["experiment_id"])
        assert len(ids) == 20
    finally:
        stop_server(server)
    log = server.log.read_text()
    assert "Traceback" not in log


def _open_connections_by_process(pids: list[int], port: int) -> dict[int, int]:
    """Established TCP connections to `port` each process holds (from /proc)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
                inodes.add(fields[9])
    counts = {}
    for pid in pids:
        links = [os.readlink(f) for f in Path(f"/proc/{pid}/fd").iterdir() if f.is_symlink()]
        counts[pid] = sum(link == f"socket:[{inode}]" for link in links for inode in inodes)
    return counts


def test_workers_get_the_connections_in_turn(tmp_path):
    # SO_REUSEPORT hashed 4 connections onto one of 2 workers in 1 start out of 8; dealt in
    # turn, 4 keep-alive connections are 2 and 2 every time.
    server = start_server(f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path, "--workers", "2")
    port = int(server.url.rsplit(":", 1)[1])
    connections = [http.client.HTTPConnection("127.0.0.1", port) for _ in range(4)]
    try:
        for conn in connections:
            conn.request("GET", "/health")
            response = conn.getresponse()
            response.read()
            assert response.status == 200
        children = subprocess.run(
            ["pgrep", "-P", str(server.proc.pid)], capture_output=True, text=True
        ).stdout.split()
        workers = [int(pid) for pid in children]
        counts = _open_connections_by_process([server.proc.pid, *workers], port)
        assert counts.pop(server.proc.pid) == 0  # the supervisor keeps none
        # (the other child of the supervisor, multiprocessing's resource tracker, holds none)
        assert sorted(n for n in counts.values() if n) == [2, 2]
    finally:
        for conn in connections:
            conn.close()
        stop_server(server)


def test_allowed_artifact_locations_from_flag_and_environment():
    from tracking.__main__ import _parser, _settings
    from tracking.config import from_env

    env = {"TRACKING_ALLOWED_ARTIFACT_LOCATIONS": " /data/a, s3://bucket/p ,"}
    assert from_env(env).allowed_artifact_locations == ("/data/a", "s3://bucket/p")
    args = _parser().parse_args(["serve", "--allowed-artifact-locations", "/x,s3://b/y"])
    assert _settings(args).allowed_artifact_locations == ("/x", "s3://b/y")
    settings = from_env(
        {}, default_artifact_root="/srv/art", allowed_artifact_locations=("s3://b",)
    )
    assert settings.artifact_roots == ["/srv/art", "s3://b"]
    assert from_env({}).artifact_roots == []  # mlflow-artifacts:/ is served by the proxy


def test_the_supervisor_of_several_workers_loads_no_database_or_http_library(tmp_path):
    """What `serve` imports before it knows whether it will serve or only supervise; the
    database step and the workers import the rest in their own processes."""
    check = (
        "import sys, tracking.__main__;"
        " heavy = sorted({m.split('.')[0] for m in sys.modules} & {'sqlalchemy', 'alembic',"
        " 'aiohttp', 'asyncpg', 'aiosqlite', 'orjson'});"
        " print(heavy); sys.exit(1 if heavy else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", check], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
