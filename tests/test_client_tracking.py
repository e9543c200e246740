"""The stock mlflow client logs runs, params, metrics, tags and datasets to a real server."""

import math
import random
import sys
import time
import uuid
from collections.abc import Callable, Iterator

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunStatus, RunTag
from mlflow.exceptions import MlflowException

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
    while mlflow.active_run():
        mlflow.end_run()


def new_experiment(prefix: str = "client") -> str:
    return mlflow.set_experiment(f"{prefix}-{uuid.uuid4().hex}").experiment_id


def test_fluent_run_round_trip(client: MlflowClient) -> None:
    experiment_id = new_experiment()
    before = int(time.time() * 1000)
    with mlflow.start_run(run_name="fluent") as run:
        mlflow.log_param("alpha", 0.5)
        mlflow.log_params({"layers": 3, "optimizer": "adam"})
        for step in range(5):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        mlflow.log_metrics({"acc": 0.9, "f1": 0.8}, step=7)
        mlflow.set_tag("team", "vision")
        mlflow.set_tags({"stage": "dev", "owner": "me"})
        assert mlflow.active_run().info.status == "RUNNING"
    run_id = run.info.run_id

    fetched = client.get_run(run_id)
    assert fetched.info.experiment_id == experiment_id
    assert fetched.info.status == "FINISHED"
    assert fetched.info.lifecycle_stage == "active"
    assert before <= fetched.info.start_time <= fetched.info.end_time
    assert fetched.info.end_time <= int(time.time() * 1000)
    assert fetched.data.params == {"alpha": "0.5", "layers": "3", "optimizer": "adam"}
    assert fetched.data.metrics == {"loss": 0.2, "acc": 0.9, "f1": 0.8}
    tags = fetched.data.tags
    assert {k: tags[k] for k in ("team", "stage", "owner")} == {
        "team": "vision",
        "stage": "dev",
        "owner": "me",
    }
    assert tags["mlflow.runName"] == "fluent"
    history = client.get_metric_history(run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(s, 1.0 / (s + 1)) for s in range(5)]
    assert client.get_metric_history(run_id, "never-logged") == []


@pytest.mark.parametrize("status", ["FAILED", "KILLED"])
def test_end_run_status(client: MlflowClient, status: str) -> None:
    new_experiment()
    run = mlflow.start_run()
    mlflow.end_run(status=status)
    info = client.get_run(run.info.run_id).info
    assert info.status == status
    assert info.end_time is not None and info.end_time >= info.start_time


def test_exception_in_run_context_marks_failed(client: MlflowClient) -> None:
    new_experiment()
    with pytest.raises(RuntimeError), mlflow.start_run() as run:
        raise RuntimeError("boom")
    assert client.get_run(run.info.run_id).info.status == "FAILED"


def test_client_created_run_terminated(client: MlflowClient) -> None:
    experiment_id = new_experiment()
    run = client.create_run(experiment_id, start_time=1_000, tags={"k": "v"})
    assert run.info.status == "RUNNING" and run.info.end_time is None
    assert run.data.tags["k"] == "v"
    client.set_terminated(run.info.run_id, status="FINISHED", end_time=5_000)
    info = client.get_run(run.info.run_id).info
    assert (info.status, info.start_time, info.end_time) == ("FINISHED", 1_000, 5_000)


def test_nested_runs(client: MlflowClient) -> None:
    experiment_id = new_experiment()
    with mlflow.start_run(run_name="parent") as parent:
        children = []
        for i in range(3):
            with mlflow.start_run(run_name=f"child-{i}", nested=True) as child:
                children.append(child.info.run_id)
                if i == 0:
                    with mlflow.start_run(nested=True) as grandchild:
                        pass
    parent_id = parent.info.run_id
    for child_id in children:
        assert client.get_run(child_id).data.tags["mlflow.parentRunId"] == parent_id
    assert "mlflow.parentRunId" not in client.get_run(parent_id).data.tags
    found = client.search_runs(
        [experiment_id], f"tags.mlflow.parentRunId = '{parent_id}'", order_by=["run_name"]
    )
    assert [r.info.run_id for r in found] == children
    found = client.search_runs([experiment_id], f"tags.`mlflow.parentRunId` = '{children[0]}'")
    assert [r.info.run_id for r in found] == [grandchild.info.run_id]
    top_level = client.search_runs([experiment_id], "tags.mlflow.parentRunId IS NULL")
    assert [r.info.run_id for r in top_level] == [parent_id]


def test_log_batch_entities(client: MlflowClient) -> None:
    run_id = client.create_run(new_experiment()).info.run_id
    client.log_batch(
        run_id,
        metrics=[
            Metric("m", 1.0, 100, 5),
            Metric("m", 2.0, 200, 3),  # later timestamp, lower step: not the latest
            Metric("m", -1.5, 50, 4),
            Metric("other", 7.0, 10, 0),
        ],
        params=[Param("p1", "v1"), Param("p2", "")],
        tags=[RunTag("t1", "x"), RunTag("t2", "y" * 5000)],
    )
    run = client.get_run(run_id)
    # MLflow's latest value is the one with the highest (step, timestamp, value).
    assert run.data.metrics == {"m": 1.0, "other": 7.0}
    assert run.data.params == {"p1": "v1", "p2": ""}
    assert run.data.tags["t1"] == "x" and run.data.tags["t2"] == "y" * 5000
    history = client.get_metric_history(run_id, "m")
    assert [(m.timestamp, m.step, m.value) for m in history] == [
        (50, 4, -1.5),
        (100, 5, 1.0),
        (200, 3, 2.0),
    ]
    client.delete_tag(run_id, "t1")
    assert "t1" not in client.get_run(run_id).data.tags
    with pytest.raises(MlflowException) as err:
        client.delete_tag(run_id, "t1")
    assert err.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_duplicate_metric_points_are_stored_once(client: MlflowClient) -> None:
    run_id = client.create_run(new_experiment()).info.run_id
    client.log_metric(run_id, "d", 1.0, timestamp=5, step=1)
    client.log_metric(run_id, "d", 1.0, timestamp=5, step=1)
    client.log_batch(
        run_id, [Metric("d", 1.0, 5, 1), Metric("d", 2.0, 5, 1), Metric("d", 2.0, 5, 1)]
    )
    client.log_batch(run_id, [Metric("n", math.nan, 5, 1), Metric("n", math.nan, 5, 1)])
    client.log_batch(run_id, [Metric("n", math.nan, 5, 1)])
    history = client.get_metric_history(run_id, "d")
    assert [(m.timestamp, m.step, m.value) for m in history] == [(5, 1, 1.0), (5, 1, 2.0)]
    assert len(client.get_metric_history(run_id, "n")) == 1
    assert client.get_run(run_id).data.metrics["d"] == 2.0


def test_metric_history_30k_points(client: MlflowClient) -> None:
    run_id = client.create_run(new_experiment()).info.run_id
    n, chunk = 30_000, 1000
    value = lambda step: (step % 977) * 0.25 - 100  # noqa: E731
    starts = list(range(0, n, chunk))
    random.Random(7).shuffle(starts)  # arrival order must not leak into the history order
    for start in starts:
        client.log_batch(
            run_id,
            metrics=[
                Metric("series", value(s), 1_000_000 + s, s) for s in range(start, start + chunk)
            ],
        )
    history = client.get_metric_history(run_id, "series")  # two pages of 25,000 max
    assert len(history) == n
    assert [m.step for m in history] == list(range(n))
    assert [m.timestamp for m in history] == [1_000_000 + s for s in range(n)]
    assert [m.value for m in history] == [value(s) for s in range(n)]
    assert {m.key for m in history} == {"series"}
    assert client.get_run(run_id).data.metrics == {"series": value(n - 1)}


def test_nan_and_infinite_metrics(client: MlflowClient) -> None:
    run_id = client.create_run(new_experiment()).info.run_id
    for step, v in enumerate([math.nan, math.inf, -math.inf, 1.5]):
        client.log_metric(run_id, "odd", v, step=step)
    client.log_batch(
        run_id,
        metrics=[
            Metric("nan", math.nan, 1, 0),
            Metric("pinf", math.inf, 1, 0),
            Metric("ninf", -math.inf, 1, 0),
        ],
    )
    metrics = client.get_run(run_id).data.metrics
    assert math.isnan(metrics["nan"])
    # MLflow's SQL store keeps infinities as the largest finite doubles.
    assert metrics["pinf"] == sys.float_info.max
    assert metrics["ninf"] == -sys.float_info.max
    assert metrics["odd"] == 1.5
    values = [m.value for m in client.get_metric_history(run_id, "odd")]
    assert math.isnan(values[0])
    assert values[1:] == [sys.float_info.max, -sys.float_info.max, 1.5]


def test_params_are_write_once(client: MlflowClient) -> None:
    run_id = client.create_run(new_experiment()).info.run_id
    client.log_param(run_id, "lr", "0.1")
    client.log_param(run_id, "lr", "0.1")  # same value again is fine
    client.log_batch(run_id, params=[Param("lr", "0.1"), Param("depth", "3")])
    with pytest.raises(MlflowException) as err:
        client.log_param(run_id, "lr", "0.2")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    assert "Changing param values is not allowed" in err.value.message
    with pytest.raises(MlflowException) as err:
        client.log_batch(run_id, params=[Param("depth", "4")])
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"
    assert client.get_run(run_id).data.params == {"lr": "0.1", "depth": "3"}
    new_experiment()
    with mlflow.start_run(), pytest.raises(MlflowException) as err:
        mlflow.log_param("x", 1)
        mlflow.log_param("x", 2)
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"


def test_run_names(client: MlflowClient) -> None:
    experiment_id = new_experiment()
    with mlflow.start_run(run_name="alpha") as run:
        pass
    run_id = run.info.run_id
    fetched = client.get_run(run_id)
    assert fetched.info.run_name == fetched.data.tags["mlflow.runName"] == "alpha"

    client.update_run(run_id, name="beta")
    fetched = client.get_run(run_id)
    assert fetched.info.run_name == fetched.data.tags["mlflow.runName"] == "beta"
    assert fetched.info.status == "FINISHED"  # renaming does not touch the status
    found = client.search_runs([experiment_id], "attributes.run_name = 'beta'")
    assert [r.info.run_id for r in found] == [run_id]

    client.set_tag(run_id, "mlflow.runName", "gamma")
    fetched = client.get_run(run_id)
    assert fetched.info.run_name == fetched.data.tags["mlflow.runName"] == "gamma"

    client.update_run(run_id, status=RunStatus.to_string(RunStatus.KILLED))
    assert client.get_run(run_id).info.run_name == "gamma"

    unnamed = client.create_run(experiment_id)
    assert unnamed.info.run_name  # the server generates one
    assert unnamed.data.tags["mlflow.runName"] == unnamed.info.run_name

    with pytest.raises(MlflowException) as err:
        client.create_run(experiment_id, run_name="a", tags={"mlflow.runName": "b"})
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"


def test_log_input_dataset(client: MlflowClient) -> None:
    experiment_id = new_experiment()
    name = f"ds-{uuid.uuid4().hex[:8]}"
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0, 1, 0]})
    dataset = mlflow.data.from_pandas(df, source="s3://bucket/train.csv", name=name, targets="y")
    other = mlflow.data.from_pandas(df.head(2), source="s3://bucket/eval.csv", name="eval")
    run_ids = []
    for context in ("training", "tuning"):
        with mlflow.start_run() as run:
            mlflow.log_input(dataset, context=context)
            mlflow.log_input(other, context="eval")
        run_ids.append(run.info.run_id)
    with mlflow.start_run() as unrelated:
        mlflow.log_input(other, context="eval")

    inputs = client.get_run(run_ids[0]).inputs.dataset_inputs
    by_name = {i.dataset.name: i for i in inputs}
    assert set(by_name) == {name, "eval"}
    logged = by_name[name]
    assert logged.dataset.digest == dataset.digest
    assert logged.dataset.source_type == "s3"
    assert logged.dataset.source == dataset.source.to_json()
    assert logged.dataset.schema == dataset._to_mlflow_entity().schema
    assert logged.dataset.profile == dataset._to_mlflow_entity().profile
    assert [(t.key, t.value) for t in logged.tags] == [("mlflow.data.context", "training")]

    def found(filter_string: str) -> set[str]:
        return {r.info.run_id for r in client.search_runs([experiment_id], filter_string)}

    assert found(f"datasets.name IN ('{name}', 'nope')") == set(run_ids)
    assert found(f"datasets.digest = '{dataset.digest}'") == set(run_ids)
    assert found("datasets.name = 'eval'") == {*run_ids, unrelated.info.run_id}
    assert found(f"datasets.name = '{name}' AND datasets.context = 'tuning'") == {run_ids[1]}
    assert found("datasets.name IN ('nope')") == set()
    (searched,) = client.search_runs([experiment_id], f"attributes.run_id = '{run_ids[1]}'")
    assert {i.dataset.name: i.tags[0].value for i in searched.inputs.dataset_inputs} == {
        name: "tuning",
        "eval": "eval",
    }


def test_resume_run(client: MlflowClient) -> None:
    new_experiment()
    with mlflow.start_run(run_name="resumable", tags={"a": "1"}, description="notes") as run:
        mlflow.log_metric("m", 1.0, step=0)
    run_id = run.info.run_id
    with mlflow.start_run(run_id=run_id):
        assert client.get_run(run_id).info.status == "RUNNING"
        mlflow.log_metric("m", 2.0, step=1)
    fetched = client.get_run(run_id)
    assert fetched.info.status == "FINISHED"
    assert fetched.info.run_name == "resumable"
    assert fetched.data.tags["a"] == "1"
    assert fetched.data.tags["mlflow.note.content"] == "notes"
    assert [m.value for m in client.get_metric_history(run_id, "m")] == [1.0, 2.0]


def test_async_logging(client: MlflowClient) -> None:
    new_experiment()
    with mlflow.start_run() as run:
        ops = [mlflow.log_metric("a", i, step=i, synchronous=False) for i in range(50)]
        ops.append(mlflow.log_params({"x": 1, "y": 2}, synchronous=False))
        ops.append(mlflow.set_tag("t", "v", synchronous=False))
        for op in ops:
            op.wait()
    fetched = client.get_run(run.info.run_id)
    assert [m.step for m in client.get_metric_history(run.info.run_id, "a")] == list(range(50))
    assert fetched.data.params == {"x": "1", "y": "2"}
    assert fetched.data.tags["t"] == "v"


def test_server_side_validation(client: MlflowClient) -> None:
    run_id = client.create_run(new_experiment()).info.run_id
    # MLflow truncates over-long param and tag values rather than rejecting them.
    client.log_param(run_id, "long", "p" * 6001)
    client.set_tag(run_id, "long", "t" * 8001)
    data = client.get_run(run_id).data
    assert data.params["long"] == "p" * 6000
    assert data.tags["long"] == "t" * 8000

    def code(call: Callable[[], object]) -> str:
        with pytest.raises(MlflowException) as err:
            call()
        return str(err.value.error_code)

    assert code(lambda: client.log_metric(run_id, "bad key!", 1.0)) == "INVALID_PARAMETER_VALUE"
    assert code(lambda: client.log_metric(run_id, "../up", 1.0)) == "INVALID_PARAMETER_VALUE"
    assert code(lambda: client.log_param(run_id, "k" * 251, "v")) == "INVALID_PARAMETER_VALUE"
    assert code(lambda: client.search_runs(["0"], max_results=50_001)) == "INVALID_PARAMETER_VALUE"
    assert code(lambda: client.get_experiment("abc")) == "INVALID_PARAMETER_VALUE"
    assert code(lambda: client.create_experiment("")) == "INVALID_PARAMETER_VALUE"
