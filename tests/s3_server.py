"""A real S3-compatible server for the test session: moto's standalone server as a subprocess.

`s3_server` starts it once per session; `s3_destination` gives each test a fresh bucket and points
this process's AWS environment at the server, so `open_s3_repository` (and a server started from
this environment) finds it.
"""

import functools
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.postgres import free_port
from tests.processes import stop_process, wait_until_ready

REGION = "us-east-1"


class S3Server:
    def __init__(self, endpoint_url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
        self.endpoint_url = endpoint_url
        self.proc = proc
        self.log = log
        self.env = {
            "MLFLOW_S3_ENDPOINT_URL": endpoint_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
        }

    @functools.cached_property
    def client(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id=self.env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=self.env["AWS_SECRET_ACCESS_KEY"],
        )

    def create_bucket(self, name: str | None = None) -> str:
        name = name or f"test-{uuid.uuid4().hex[:20]}"
        self.client.create_bucket(Bucket=name)
        return name


def start_s3_server(workdir: Path) -> S3Server:
    port = free_port()
    log = workdir / f"moto-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            cwd=workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"},
        )
    url = f"http://127.0.0.1:{port}"
    wait_until_ready(proc, url + "/moto-api/", log, "moto server", timeout=60)
    return S3Server(url, proc, log)


def stop_s3_server(server: S3Server) -> None:
    stop_process(server.proc)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    with tempfile.TemporaryDirectory(prefix="tracking-s3-") as workdir:
        server = start_s3_server(Path(workdir))
        try:
            yield server
        finally:
            stop_s3_server(server)


@pytest.fixture
def s3_destination(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> str:
    for name in (
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_REGION",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in s3_server.env.items():
        monkeypatch.setenv(name, value)
    return f"s3://{s3_server.create_bucket()}/artifacts"
