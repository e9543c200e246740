"""The stock mlflow client logs, finds and loads MLflow 3 logged models on a real server."""

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.entities import LoggedModelStatus
from sklearn.linear_model import LinearRegression, LogisticRegression

from tests.client_support import assert_clean_log, fail_fast_client
from tests.conftest import ServerProcess


@pytest.fixture(scope="module", autouse=True)
def mlflow_env(server: ServerProcess) -> Iterator[None]:
    with fail_fast_client(server.url):
        yield
    assert_clean_log(server.log)


@pytest.fixture
def client(server: ServerProcess) -> Iterator[MlflowClient]:
    mlflow.set_tracking_uri(server.url)
    yield MlflowClient(tracking_uri=server.url)
    mlflow.sklearn.autolog(disable=True)
    while mlflow.active_run():
        mlflow.end_run()


def new_experiment() -> str:
    return mlflow.set_experiment(f"models-{uuid.uuid4().hex}").experiment_id


def training_data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(size=(40, 3)), columns=["a", "b", "c"])
    y = (x["a"] + 0.5 * x["b"] > 0).astype(int).to_numpy()
    return x, y


class AddN(mlflow.pyfunc.PythonModel):
    def __init__(self, n: int) -> None:
        self.n = n

    def predict(
        self, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        return model_input + self.n


def test_sklearn_log_model_and_load_from_run_and_model_uris(client: MlflowClient) -> None:
    experiment_id = new_experiment()
    x, y = training_data()
    model = LogisticRegression().fit(x, y)
    with mlflow.start_run() as run:
        mlflow.log_metric("accuracy", 0.9)
        info = mlflow.sklearn.log_model(model, name="model", input_example=x.head(2))
    run_id = run.info.run_id
    assert info.model_id.startswith("m-")

    expected = model.predict(x)
    from_run = mlflow.sklearn.load_model(f"runs:/{run_id}/model")
    from_model = mlflow.sklearn.load_model(f"models:/{info.model_id}")
    np.testing.assert_array_equal(from_run.predict(x), expected)
    np.testing.assert_array_equal(from_model.predict(x), expected)
    pyfunc = mlflow.pyfunc.load_model(f"models:/{info.model_id}")
    np.testing.assert_array_equal(pyfunc.predict(x), expected)

    logged = client.get_logged_model(info.model_id)
    assert logged.experiment_id == experiment_id
    assert logged.source_run_id == run_id
    assert logged.name == "model"
    assert logged.status == LoggedModelStatus.READY
    assert logged.artifact_location.endswith(f"/models/{info.model_id}/artifacts")
    # The run's metrics at the output step belong to the model, as MLflow links them.
    assert [(m.key, m.value) for m in logged.metrics] == [("accuracy", 0.9)]
    assert [o.model_id for o in client.get_run(run_id).outputs.model_outputs] == [info.model_id]
    names = {f.path for f in client.list_artifacts(run_id, "model")}
    assert "model/MLmodel" in names


def test_pyfunc_log_model(client: MlflowClient) -> None:
    new_experiment()
    frame = pd.DataFrame({"v": [1.0, 2.0, 3.0]})
    with mlflow.start_run() as run:
        info = mlflow.pyfunc.log_model(name="adder", python_model=AddN(5), input_example=frame)
    for uri in (f"runs:/{run.info.run_id}/adder", f"models:/{info.model_id}"):
        loaded = mlflow.pyfunc.load_model(uri)
        pd.testing.assert_frame_equal(loaded.predict(frame), frame + 5)


def test_log_model_without_a_run(client: MlflowClient) -> None:
    new_experiment()
    x, y = training_data()
    model = LinearRegression().fit(x, y)
    info = mlflow.sklearn.log_model(model, name="standalone")
    loaded = mlflow.sklearn.load_model(f"models:/{info.model_id}")
    np.testing.assert_allclose(loaded.predict(x), model.predict(x))
    assert client.get_logged_model(info.model_id).source_run_id in (None, "")


def test_run_artifact_listing_and_download_go_through_logged_model_search(
    client: MlflowClient, tmp_path: Path
) -> None:
    new_experiment()
    source = tmp_path / "src"
    (source / "dir" / "nested").mkdir(parents=True)
    (source / "dir" / "a.txt").write_text("alpha")
    (source / "dir" / "nested" / "b.txt").write_text("beta")
    with mlflow.start_run() as run:
        mlflow.log_artifacts(str(source / "dir"), artifact_path="some/dir")
    run_id = run.info.run_id

    listed = client.list_artifacts(run_id, "some/dir")
    assert sorted((f.path, f.is_dir) for f in listed) == [
        ("some/dir/a.txt", False),
        ("some/dir/nested", True),
    ]
    local = mlflow.artifacts.download_artifacts(
        run_id=run_id, artifact_path="some/dir", dst_path=str(tmp_path / "out")
    )
    assert (Path(local) / "a.txt").read_text() == "alpha"
    assert (Path(local) / "nested" / "b.txt").read_text() == "beta"


def test_search_logged_models_and_model_metrics(client: MlflowClient) -> None:
    experiment_id = new_experiment()
    x, y = training_data()
    with mlflow.start_run() as run:
        small = mlflow.sklearn.log_model(
            LogisticRegression(C=0.1).fit(x, y), name="small", params={"C": "0.1"}
        )
        big = mlflow.sklearn.log_model(
            LogisticRegression(C=10.0).fit(x, y), name="big", params={"C": "10.0"}
        )
        mlflow.log_metric("f1", 0.6, model_id=small.model_id)
        mlflow.log_metric("f1", 0.8, model_id=big.model_id, step=1)

    found = mlflow.search_logged_models(
        experiment_ids=[experiment_id], filter_string="metrics.f1 > 0.7", output_format="list"
    )
    assert [m.model_id for m in found] == [big.model_id]
    found = mlflow.search_logged_models(
        experiment_ids=[experiment_id],
        filter_string=f"params.C = '0.1' AND source_run_id = '{run.info.run_id}'",
        output_format="list",
    )
    assert [m.model_id for m in found] == [small.model_id]
    ordered = mlflow.search_logged_models(
        experiment_ids=[experiment_id],
        order_by=[{"field_name": "metrics.f1", "ascending": True}],
        output_format="list",
    )
    assert [m.model_id for m in ordered] == [small.model_id, big.model_id]
    frame = mlflow.search_logged_models(experiment_ids=[experiment_id])
    assert len(frame) == 2

    metrics = client.get_logged_model(big.model_id).metrics
    assert [(m.key, m.value, m.step, m.run_id) for m in metrics] == [
        ("f1", 0.8, 1, run.info.run_id)
    ]
    paged = client.search_logged_models(experiment_ids=[experiment_id], max_results=1)
    assert len(paged) == 1 and paged.token
    rest = client.search_logged_models(
        experiment_ids=[experiment_id], max_results=1, page_token=paged.token
    )
    assert {paged[0].model_id, rest[0].model_id} == {small.model_id, big.model_id}


def test_model_tags_params_and_delete(client: MlflowClient) -> None:
    experiment_id = new_experiment()
    model = mlflow.initialize_logged_model(name="external", tags={"a": "1"})
    mlflow.set_logged_model_tags(model.model_id, {"b": "2"})
    client.log_model_params(model.model_id, {"p": "x"})
    client.delete_logged_model_tag(model.model_id, "a")
    mlflow.finalize_logged_model(model.model_id, LoggedModelStatus.READY)
    fetched = mlflow.get_logged_model(model.model_id)
    assert fetched.tags["b"] == "2" and "a" not in fetched.tags
    assert fetched.params == {"p": "x"}
    assert fetched.status == LoggedModelStatus.READY
    client.delete_logged_model(model.model_id)
    assert client.search_logged_models(experiment_ids=[experiment_id]) == []
    with pytest.raises(mlflow.exceptions.MlflowException, match="not found"):
        client.get_logged_model(model.model_id)


@pytest.mark.parametrize("active_run", [True, False])
def test_sklearn_autolog(client: MlflowClient, active_run: bool) -> None:
    experiment_id = new_experiment()
    x, y = training_data()
    mlflow.sklearn.autolog(log_input_examples=False, silent=True)
    if active_run:
        with mlflow.start_run() as run:
            LogisticRegression(C=2.0).fit(x, y)
        run_id = run.info.run_id
    else:
        LogisticRegression(C=2.0).fit(x, y)
        last = mlflow.last_active_run()
        assert last is not None
        run_id = last.info.run_id
    mlflow.sklearn.autolog(disable=True)

    recorded = client.get_run(run_id)
    assert recorded.info.experiment_id == experiment_id
    assert recorded.data.params["C"] == "2.0"
    assert "training_accuracy_score" in recorded.data.metrics
    models = client.search_logged_models(
        experiment_ids=[experiment_id], filter_string=f"source_run_id = '{run_id}'"
    )
    assert len(models) == 1
    model = models[0]
    assert model.status == LoggedModelStatus.READY
    assert "training_accuracy_score" in {m.key for m in model.metrics}
    loaded = mlflow.sklearn.load_model(f"models:/{model.model_id}")
    np.testing.assert_array_equal(loaded.predict(x), LogisticRegression(C=2.0).fit(x, y).predict(x))
    assert {"model/MLmodel"} <= {f.path for f in client.list_artifacts(run_id, "model")}
