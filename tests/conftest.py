"""Fixtures: every test gets a fresh, migrated database on SQLite and on PostgreSQL.

PostgreSQL comes from TRACKING_TEST_POSTGRES_URL (a server URL; databases are created on it)
or, when that is unset, from a throwaway cluster started for the session. Fresh databases are
copied from a template migrated once, so a test pays milliseconds, not a migration.
"""

import concurrent.futures
import itertools
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from tests.postgres import free_port, throwaway_cluster
from tests.processes import stop_process, wait_until_ready
from tracking.app import create_app
from tracking.config import Settings
from tracking.store import migrate
from tracking.store.database import Database

pytest_plugins = ["tests.s3_server"]
BACKENDS = ["sqlite", "postgresql"]
API = "/api/2.0/mlflow"
_names = itertools.count()


def off_loop(fn: Callable[..., Any], *args: Any) -> Any:
    """Run blocking code (alembic runs its own event loop) on a fresh thread."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(fn, *args).result()


def psql(base_url: str, sql: str) -> None:
    subprocess.run(
        ["psql", f"{base_url}/postgres", "-v", "ON_ERROR_STOP=1", "-q", "-c", sql],
        check=True,
        stdout=subprocess.DEVNULL,
    )


@pytest.fixture(scope="session")
def pg_base_url() -> Iterator[str]:
    given = os.environ.get("TRACKING_TEST_POSTGRES_URL")
    if given:
        yield given.rstrip("/")
        return
    with throwaway_cluster() as url:
        yield url


@pytest.fixture(scope="session")
def pg_template(pg_base_url: str) -> str:
    name = f"tracking_template_{os.getpid()}"
    psql(pg_base_url, f"DROP DATABASE IF EXISTS {name}")
    psql(pg_base_url, f"CREATE DATABASE {name}")
    off_loop(migrate.upgrade, f"{pg_base_url}/{name}")
    return name


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    off_loop(migrate.upgrade, f"sqlite:///{path}")
    return path


class Databases:
    """Creates fresh databases of either backend and drops them at the end."""

    def __init__(self, request: pytest.FixtureRequest) -> None:
        self.request = request
        self.created: list[tuple[str, str]] = []

    def new(self, backend: str, directory: Path) -> str:
        if backend == "sqlite":
            path = directory / f"mlruns-{next(_names)}.db"
            shutil.copy(self.request.getfixturevalue("sqlite_template"), path)
            return f"sqlite:///{path}"
        base = self.request.getfixturevalue("pg_base_url")
        template = self.request.getfixturevalue("pg_template")
        name = f"t_{os.getpid()}_{next(_names)}"
        psql(base, f"CREATE DATABASE {name} TEMPLATE {template}")
        self.created.append((base, name))
        return f"{base}/{name}"

    def drop_all(self) -> None:
        for base, name in self.created:
            psql(base, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def databases(request: pytest.FixtureRequest) -> Iterator[Databases]:
    dbs = Databases(request)
    yield dbs
    dbs.drop_all()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def backend_uri(backend: str, databases: Databases, tmp_path: Path) -> str:
    return databases.new(backend, tmp_path)


@pytest.fixture
def settings(backend_uri: str, tmp_path: Path) -> Settings:
    return Settings(
        backend_store_uri=backend_uri,
        artifacts_destination=str(tmp_path / "mlartifacts"),
    )


@pytest.fixture
async def client(aiohttp_client: Any, settings: Settings) -> TestClient:
    return await aiohttp_client(create_app(settings))


class Api:
    """JSON calls against the test client returning (status, body)."""

    def __init__(self, client: TestClient, prefix: str = API) -> None:
        self.client = client
        self.prefix = prefix

    async def post(self, path: str, body: Any = None) -> tuple[int, Any]:
        resp = await self.client.post(self.prefix + path, json=body if body is not None else {})
        return resp.status, await resp.json()

    async def get(self, path: str, params: Any = None) -> tuple[int, Any]:
        resp = await self.client.get(self.prefix + path, params=params)
        return resp.status, await resp.json()

    async def ok(self, method: str, path: str, body: Any = None) -> Any:
        status, data = await (self.post(path, body) if method == "POST" else self.get(path, body))
        assert status == 200, data
        return data

    async def experiment(self, name: str = "exp") -> str:
        data = await self.ok("POST", "/experiments/create", {"name": name})
        return str(data["experiment_id"])

    async def run(self, experiment_id: str, **fields: Any) -> dict[str, Any]:
        body = {"experiment_id": experiment_id, "start_time": 1000, **fields}
        data = await self.ok("POST", "/runs/create", body)
        return dict(data["run"])


@pytest.fixture
def api(client: TestClient) -> Api:
    return Api(client)


@pytest.fixture
async def database(backend_uri: str) -> AsyncIterator[Database]:
    """A started Database (group-commit writer running) on the test's fresh database."""
    db = Database(backend_uri)
    await db.start()
    yield db
    await db.close()


class ServerProcess:
    def __init__(self, url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
        self.url = url
        self.proc = proc
        self.log = log


def start_server(
    uri: str, workdir: Path, *extra: str, env: dict[str, str] | None = None
) -> ServerProcess:
    """`python -m tracking serve` as a real process, output to a file, ready when /health is.

    `env` adds variables to the server's environment (e.g. S3 endpoint and credentials).
    """
    port = free_port()
    log = workdir / f"server-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tracking",
                "serve",
                "--port",
                str(port),
                "--backend-store-uri",
                uri,
                "--artifacts-destination",
                str(workdir / "mlartifacts"),
                *extra,
            ],
            cwd=workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
    url = f"http://127.0.0.1:{port}"
    wait_until_ready(proc, url + "/health", log, "server", timeout=30)
    return ServerProcess(url, proc, log)


def stop_server(server: ServerProcess) -> None:
    stop_process(server.proc)


@pytest.fixture(scope="module", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """A real server process per test module and backend, for the stock mlflow client."""
    workdir = tmp_path_factory.mktemp(f"server-{request.param}")
    dbs = Databases(request)
    proc = start_server(dbs.new(request.param, workdir), workdir)
    yield proc
    stop_server(proc)
    dbs.drop_all()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session
