"""The stock mlflow client deletes and restores runs and experiments, and writes concurrently."""

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import mlflow
import pytest
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag, ViewType
from mlflow.exceptions import MlflowException

from tests.client_support import assert_clean_log, fail_fast_client
from tests.conftest import Databases, ServerProcess, start_server, stop_server


@pytest.fixture(scope="module", autouse=True)
def mlflow_env() -> Iterator[None]:
    with fail_fast_client(None):
        yield


@pytest.fixture(scope="module")
def checked_server(server: ServerProcess) -> Iterator[ServerProcess]:
    yield server
    assert_clean_log(server.log)


@pytest.fixture
def client(checked_server: ServerProcess) -> Iterator[MlflowClient]:
    mlflow.set_tracking_uri(checked_server.url)
    yield MlflowClient(tracking_uri=checked_server.url)
    while mlflow.active_run():
        mlflow.end_run()


def error_code(call: object, *args: object, **kwargs: object) -> str:
    with pytest.raises(MlflowException) as err:
        call(*args, **kwargs)  # type: ignore[operator]
    return str(err.value.error_code)


def run_ids(client: MlflowClient, experiment_id: str, view: int = ViewType.ACTIVE_ONLY) -> set[str]:
    return {r.info.run_id for r in client.search_runs([experiment_id], run_view_type=view)}


def test_delete_and_restore_run(client: MlflowClient) -> None:
    experiment_id = client.create_experiment(f"lifecycle-{uuid.uuid4().hex}")
    keep, gone = (client.create_run(experiment_id).info.run_id for _ in range(2))
    client.log_param(gone, "p", "1")

    client.delete_run(gone)
    run = client.get_run(gone)  # deleted runs can still be fetched
    assert run.info.lifecycle_stage == "deleted"
    assert run.data.params == {"p": "1"}
    assert run_ids(client, experiment_id) == {keep}
    assert run_ids(client, experiment_id, ViewType.DELETED_ONLY) == {gone}
    assert run_ids(client, experiment_id, ViewType.ALL) == {keep, gone}
    df = mlflow.search_runs([experiment_id], run_view_type=ViewType.DELETED_ONLY)
    assert df["run_id"].tolist() == [gone]

    # A deleted run takes no writes.
    assert error_code(client.log_param, gone, "q", "2") == "INVALID_PARAMETER_VALUE"
    assert error_code(client.log_metric, gone, "m", 1.0) == "INVALID_PARAMETER_VALUE"
    assert error_code(client.set_tag, gone, "t", "v") == "INVALID_PARAMETER_VALUE"
    assert error_code(client.log_batch, gone, [Metric("m", 1, 1, 0)]) == "INVALID_PARAMETER_VALUE"
    assert error_code(client.set_terminated, gone) == "INVALID_PARAMETER_VALUE"

    client.restore_run(gone)
    assert client.get_run(gone).info.lifecycle_stage == "active"
    assert run_ids(client, experiment_id) == {keep, gone}
    assert run_ids(client, experiment_id, ViewType.DELETED_ONLY) == set()
    client.log_param(gone, "q", "2")
    assert client.get_run(gone).data.params == {"p": "1", "q": "2"}


def test_missing_run_and_experiment(client: MlflowClient) -> None:
    missing = uuid.uuid4().hex
    assert error_code(client.get_run, missing) == "RESOURCE_DOES_NOT_EXIST"
    assert error_code(client.delete_run, missing) == "RESOURCE_DOES_NOT_EXIST"
    assert error_code(client.log_param, missing, "p", "1") == "RESOURCE_DOES_NOT_EXIST"
    assert error_code(client.get_experiment, "987654321") == "RESOURCE_DOES_NOT_EXIST"
    assert error_code(client.delete_experiment, "987654321") == "RESOURCE_DOES_NOT_EXIST"
    assert client.get_experiment_by_name(f"missing-{missing}") is None


def test_delete_and_restore_experiment(client: MlflowClient) -> None:
    name = f"lifecycle-{uuid.uuid4().hex}"
    experiment_id = mlflow.set_experiment(name).experiment_id
    client.set_experiment_tag(experiment_id, "team", "core")
    runs = {client.create_run(experiment_id).info.run_id for _ in range(3)}
    deleted_first = sorted(runs)[0]
    client.delete_run(deleted_first)

    client.delete_experiment(experiment_id)
    experiment = client.get_experiment(experiment_id)
    assert experiment.lifecycle_stage == "deleted"
    assert experiment.tags["team"] == "core"
    assert client.get_experiment_by_name(name).lifecycle_stage == "deleted"
    # MLflow deletes an experiment's runs along with it.
    assert {client.get_run(r).info.lifecycle_stage for r in runs} == {"deleted"}
    assert run_ids(client, experiment_id) == set()
    assert run_ids(client, experiment_id, ViewType.DELETED_ONLY) == runs
    found = client.search_experiments(filter_string=f"name = '{name}'")
    assert found == []
    found = client.search_experiments(ViewType.DELETED_ONLY, filter_string=f"name = '{name}'")
    assert [e.experiment_id for e in found] == [experiment_id]

    assert error_code(client.create_run, experiment_id) == "INVALID_PARAMETER_VALUE"
    assert error_code(client.create_experiment, name) == "RESOURCE_ALREADY_EXISTS"
    assert error_code(mlflow.set_experiment, name) == "INVALID_PARAMETER_VALUE"

    client.restore_experiment(experiment_id)
    assert client.get_experiment(experiment_id).lifecycle_stage == "active"
    # ... and restores all of them, including one deleted on its own before.
    assert run_ids(client, experiment_id) == runs
    assert mlflow.set_experiment(name).experiment_id == experiment_id
    found = client.search_experiments(filter_string=f"name = '{name}'")
    assert [e.experiment_id for e in found] == [experiment_id]


def test_rename_and_tag_experiment(client: MlflowClient) -> None:
    name = f"lifecycle-{uuid.uuid4().hex}"
    experiment_id = client.create_experiment(name, tags={"a": "1"})
    client.rename_experiment(experiment_id, f"{name}-renamed")
    client.set_experiment_tag(experiment_id, "b", "2")
    client.delete_experiment_tag(experiment_id, "a")
    experiment = client.get_experiment_by_name(f"{name}-renamed")
    assert experiment.experiment_id == experiment_id
    assert experiment.tags == {"b": "2"}
    assert client.get_experiment_by_name(name) is None
    assert experiment.last_update_time >= experiment.creation_time


THREADS = 8
ROUNDS = 5
BATCH = 50


def write_concurrently(client: MlflowClient) -> None:
    """Threads log to one shared run and to a run each; every write must land exactly once."""
    experiment_id = client.create_experiment(f"concurrent-{uuid.uuid4().hex}")
    shared = client.create_run(experiment_id).info.run_id
    barrier = threading.Barrier(THREADS)

    def worker(t: int) -> str:
        own = client.create_run(experiment_id, run_name=f"worker-{t}").info.run_id
        barrier.wait()
        for k in range(ROUNDS):
            base = t * 1000 + k * BATCH
            steps = range(base, base + BATCH)
            client.log_batch(
                shared,
                metrics=[Metric("shared", s * 0.5, 1_000_000 + s, s) for s in steps],
                params=[Param(f"p{t}_{k}", str(base)), Param("common", "same")],
                tags=[RunTag(f"t{t}_{k}", str(k)), RunTag("last_writer", str(t))],
            )
            client.log_param(shared, "common", "same")  # racing idempotent writes
            client.set_tag(shared, "last_writer", str(t))
            client.log_batch(own, metrics=[Metric("m", s, 1_000_000 + s, s) for s in steps])
            client.log_metric(own, "single", k, timestamp=1_000_000 + k, step=k)
            client.log_param(own, f"k{k}", str(k))
        return own

    with ThreadPoolExecutor(THREADS) as pool:
        owns = list(pool.map(worker, range(THREADS)))  # re-raises any thread's error

    all_steps = sorted(t * 1000 + k for t in range(THREADS) for k in range(ROUNDS * BATCH))
    history = client.get_metric_history(shared, "shared")
    assert [m.step for m in history] == all_steps
    assert [m.value for m in history] == [s * 0.5 for s in all_steps]
    run = client.get_run(shared)
    assert run.data.metrics == {"shared": all_steps[-1] * 0.5}
    expected_params = {
        f"p{t}_{k}": str(t * 1000 + k * BATCH) for t in range(THREADS) for k in range(ROUNDS)
    }
    assert run.data.params == {**expected_params, "common": "same"}
    tags = {k: v for k, v in run.data.tags.items() if not k.startswith("mlflow.")}
    assert tags.pop("last_writer") in {str(t) for t in range(THREADS)}
    assert tags == {f"t{t}_{k}": str(k) for t in range(THREADS) for k in range(ROUNDS)}

    for t, own in enumerate(owns):
        run = client.get_run(own)
        assert run.info.run_name == f"worker-{t}"
        history = client.get_metric_history(own, "m")
        expected = [t * 1000 + s for s in range(ROUNDS * BATCH)]
        assert [(m.step, m.value) for m in history] == [(s, float(s)) for s in expected]
        assert [m.value for m in client.get_metric_history(own, "single")] == list(range(ROUNDS))
        assert run.data.params == {f"k{k}": str(k) for k in range(ROUNDS)}
    assert run_ids(client, experiment_id) == {shared, *owns}


def create_experiment_race(client: MlflowClient) -> None:
    """Concurrent creates of one name: exactly one wins, the rest get RESOURCE_ALREADY_EXISTS."""
    name = f"race-{uuid.uuid4().hex}"
    barrier = threading.Barrier(THREADS)

    def create(_: int) -> str:
        barrier.wait()
        try:
            return client.create_experiment(name)
        except MlflowException as exc:
            return str(exc.error_code)

    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = list(pool.map(create, range(THREADS)))
    winners = [o for o in outcomes if o != "RESOURCE_ALREADY_EXISTS"]
    assert len(winners) == 1, outcomes
    assert client.get_experiment_by_name(name).experiment_id == winners[0]


def test_concurrent_writers(client: MlflowClient) -> None:
    write_concurrently(client)


def test_concurrent_experiment_creation(client: MlflowClient) -> None:
    create_experiment_race(client)


def test_concurrent_writers_two_workers(backend: str, databases: Databases, tmp_path: Path) -> None:
    server = start_server(databases.new(backend, tmp_path), tmp_path, "--workers", "2")
    try:
        client = MlflowClient(tracking_uri=server.url)
        write_concurrently(client)
        create_experiment_race(client)
    finally:
        stop_server(server)
    assert_clean_log(server.log)
