"""The stock mlflow client registers, stages, aliases, finds and loads models on a real server."""

import uuid
from collections.abc import Iterator

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from sklearn.linear_model import LogisticRegression

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
    mlflow.set_registry_uri(server.url)
    yield MlflowClient(tracking_uri=server.url, registry_uri=server.url)
    while mlflow.active_run():
        mlflow.end_run()


def training_data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(size=(40, 3)), columns=["a", "b", "c"])
    y = (x["a"] + 0.5 * x["b"] > 0).astype(int).to_numpy()
    return x, y


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


# Stages are deprecated in MLflow (a FutureWarning per call) but still part of the contract.
@pytest.mark.filterwarnings("ignore:.*Model registry stages will be removed:FutureWarning")
def test_register_stage_alias_load_search_delete(client: MlflowClient) -> None:
    mlflow.set_experiment(unique("registry"))
    x, y = training_data()
    model = LogisticRegression().fit(x, y)
    with mlflow.start_run() as run:
        info = mlflow.sklearn.log_model(model, name="model")
    expected = model.predict(x)

    from_model = unique("from-model")
    v = mlflow.register_model(f"models:/{info.model_id}", from_model)
    assert v.version == "1"
    assert v.run_id == run.info.run_id
    assert client.get_model_version_download_uri(from_model, "1").endswith(
        f"/models/{info.model_id}/artifacts"
    )
    loaded = mlflow.pyfunc.load_model(f"models:/{from_model}/1")
    np.testing.assert_array_equal(loaded.predict(x), expected)

    name = unique("from-run")
    v1 = mlflow.register_model(f"runs:/{run.info.run_id}/model", name)
    v2 = mlflow.register_model(f"runs:/{run.info.run_id}/model", name)
    assert (v1.version, v2.version) == ("1", "2")
    assert v1.status == "READY"

    staged = client.transition_model_version_stage(name, "1", "Staging")
    assert staged.current_stage == "Staging"
    client.set_registered_model_alias(name, "champion", "2")
    by_alias = client.get_model_version_by_alias(name, "champion")
    assert by_alias.version == "2"
    assert by_alias.aliases == ["champion"]

    from_alias = mlflow.pyfunc.load_model(f"models:/{name}@champion")
    np.testing.assert_array_equal(from_alias.predict(x), expected)
    from_stage = mlflow.pyfunc.load_model(f"models:/{name}/Staging")
    np.testing.assert_array_equal(from_stage.predict(x), expected)
    sk = mlflow.sklearn.load_model(f"models:/{name}/2")
    np.testing.assert_array_equal(sk.predict(x), expected)

    found = client.search_registered_models(filter_string=f"name = '{name}'")
    assert [m.name for m in found] == [name]
    assert found[0].aliases == {"champion": "2"}
    assert {mv.version: mv.current_stage for mv in found[0].latest_versions} == {
        "1": "Staging",
        "2": "None",
    }
    versions = client.search_model_versions(f"name = '{name}'", order_by=["version_number ASC"])
    assert [mv.version for mv in versions] == ["1", "2"]
    assert client.get_latest_versions(name, stages=["Staging"])[0].version == "1"

    client.delete_registered_model_alias(name, "champion")
    with pytest.raises(MlflowException, match="alias champion not found"):
        client.get_model_version_by_alias(name, "champion")
    client.delete_model_version(name, "1")
    with pytest.raises(MlflowException, match="not found"):
        client.get_model_version(name, "1")
    assert [mv.version for mv in client.search_model_versions(f"name = '{name}'")] == ["2"]
    client.delete_registered_model(name)
    with pytest.raises(MlflowException, match="not found"):
        client.get_registered_model(name)
    assert client.search_registered_models(filter_string=f"name = '{name}'") == []


def test_registered_model_metadata(client: MlflowClient) -> None:
    name = unique("meta")
    client.create_registered_model(name, tags={"team": "a"}, description="first")
    client.update_registered_model(name, description="second")
    client.set_registered_model_tag(name, "stage", "dev")
    client.delete_registered_model_tag(name, "team")
    client.rename_registered_model(name, name + "-new")
    model = client.get_registered_model(name + "-new")
    assert model.description == "second"
    assert model.tags == {"stage": "dev"}
    with pytest.raises(MlflowException, match="already exists"):
        client.create_registered_model(name + "-new")
    with pytest.raises(MlflowException, match="reserved"):
        client.set_registered_model_alias(name + "-new", "latest", "1")
    client.delete_registered_model(name + "-new")
