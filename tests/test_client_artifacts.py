"""The stock mlflow client logs, lists and downloads artifacts through the server's proxy.

Each test runs against a real server process on both database backends and both storage
backends: a local folder and an S3-compatible server (moto's standalone server).
"""

import hashlib
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import matplotlib
import mlflow
import numpy as np
import pytest
from mlflow import MlflowClient

from tests.client_support import assert_clean_log, fail_fast_client
from tests.conftest import BACKENDS, Databases, ServerProcess, start_server, stop_server

matplotlib.use("Agg")
import matplotlib.pyplot as plt

STORAGES = ["local", "s3"]


@pytest.fixture(
    scope="module", params=[(b, s) for b in BACKENDS for s in STORAGES], ids=lambda p: "-".join(p)
)
def artifact_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    backend, storage = request.param
    workdir = tmp_path_factory.mktemp(f"artifacts-{backend}-{storage}")
    extra: list[str] = []
    env: dict[str, str] = {}
    if storage == "s3":
        s3 = request.getfixturevalue("s3_server")
        extra = ["--artifacts-destination", f"s3://{s3.create_bucket()}/mlartifacts"]
        env = s3.env
    dbs = Databases(request)
    server = start_server(dbs.new(backend, workdir), workdir, *extra, env=env)
    with fail_fast_client(server.url):
        yield server
    stop_server(server)
    dbs.drop_all()
    assert_clean_log(server.log)


@pytest.fixture
def client(artifact_server: ServerProcess) -> Iterator[MlflowClient]:
    mlflow.set_experiment(f"artifacts-{uuid.uuid4().hex}")
    yield MlflowClient(tracking_uri=artifact_server.url)
    while mlflow.active_run():
        mlflow.end_run()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_every_log_function_and_read_back(client: MlflowClient, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "x" / "y").mkdir(parents=True)
    (tree / "top.txt").write_text("top")
    (tree / "x" / "y" / "deep.bin").write_bytes(os.urandom(4096))
    single = tmp_path / "single.csv"
    single.write_text("a,b\n1,2\n")

    with mlflow.start_run() as run:
        mlflow.log_artifact(str(single))
        mlflow.log_artifact(str(single), artifact_path="copies")
        mlflow.log_artifacts(str(tree), artifact_path="tree")
        mlflow.log_text("hello artifacts", "notes/hello.txt")
        mlflow.log_dict({"lr": 0.1, "layers": [1, 2]}, "config/params.json")
        fig, ax = plt.subplots()
        ax.plot([1, 2, 3])
        mlflow.log_figure(fig, "plots/curve.png")
        plt.close(fig)
        mlflow.log_image(np.full((6, 4, 3), 200, dtype=np.uint8), "images/grey.png")
    run_id = run.info.run_id

    root = {f.path: f for f in client.list_artifacts(run_id)}
    assert sorted(root) == ["config", "copies", "images", "notes", "plots", "single.csv", "tree"]
    assert root["single.csv"].file_size == single.stat().st_size
    assert root["tree"].is_dir
    assert [(f.path, f.is_dir) for f in client.list_artifacts(run_id, "tree")] == [
        ("tree/top.txt", False),
        ("tree/x", True),
    ]
    deep = client.list_artifacts(run_id, "tree/x/y")
    assert [(f.path, f.file_size) for f in deep] == [("tree/x/y/deep.bin", 4096)]

    assert mlflow.artifacts.load_text(f"runs:/{run_id}/notes/hello.txt") == "hello artifacts"
    assert mlflow.artifacts.load_dict(f"runs:/{run_id}/config/params.json") == {
        "lr": 0.1,
        "layers": [1, 2],
    }
    png = Path(client.download_artifacts(run_id, "plots/curve.png", str(tmp_path / "dl1")))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = Path(
        mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path="images/grey.png", dst_path=str(tmp_path / "dl2")
        )
    )
    assert image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    folder = Path(
        mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path="tree", dst_path=str(tmp_path / "dl3")
        )
    )
    assert (folder / "top.txt").read_text() == "top"
    assert sha256(folder / "x" / "y" / "deep.bin") == sha256(tree / "x" / "y" / "deep.bin")
    whole = Path(
        mlflow.artifacts.download_artifacts(run.info.artifact_uri, dst_path=str(tmp_path / "dl4"))
    )
    assert json.loads((whole / "config" / "params.json").read_text())["lr"] == 0.1


def test_twenty_megabytes_round_trip_byte_for_byte(client: MlflowClient, tmp_path: Path) -> None:
    blob = tmp_path / "blob.bin"
    blob.write_bytes(os.urandom(20 * 1024 * 1024))
    with mlflow.start_run() as run:
        mlflow.log_artifact(str(blob), artifact_path="data")
    listed = client.list_artifacts(run.info.run_id, "data")
    assert [(f.path, f.file_size) for f in listed] == [("data/blob.bin", blob.stat().st_size)]
    back = Path(client.download_artifacts(run.info.run_id, "data/blob.bin", str(tmp_path / "d")))
    assert sha256(back) == sha256(blob)


def test_artifacts_of_separate_runs_stay_separate(client: MlflowClient) -> None:
    with mlflow.start_run() as first:
        mlflow.log_text("one", "same/name.txt")
    with mlflow.start_run() as second:
        mlflow.log_text("two", "same/name.txt")
    assert mlflow.artifacts.load_text(f"runs:/{first.info.run_id}/same/name.txt") == "one"
    assert mlflow.artifacts.load_text(f"runs:/{second.info.run_id}/same/name.txt") == "two"
