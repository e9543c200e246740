"""`gc`: deleted runs and experiments go for good, with their rows and artifacts; nothing else."""

import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import start_server, stop_server
from tracking.__main__ import main
from tracking.artifacts.local import STAGING, LocalRepository
from tracking.config import Settings
from tracking.store import tables
from tracking.store.engine import make_engine

DAY_MS = 24 * 3600 * 1000
DATASET = {"name": "d", "digest": "1", "source_type": "local", "source": "{}"}
RUN_TABLES = (
    tables.params,
    tables.tags,
    tables.metrics,
    tables.latest_metrics,
    tables.dataset_inputs,
    tables.run_model_inputs,
    tables.runs,
)


async def sql(uri: str, statement: Any) -> Any:
    engine = make_engine(uri, pool_size=1)
    try:
        async with engine.begin() as conn:
            result = await conn.execute(statement)
            return result.all() if result.returns_rows else None
    finally:
        await engine.dispose()


async def row_counts(uri: str, run_id: str) -> dict[str, int]:
    counts = {}
    for table in RUN_TABLES:
        query = sa.select(sa.func.count()).select_from(table).where(table.c.run_uuid == run_id)
        counts[table.name] = (await sql(uri, query))[0][0]
    return counts


async def input_tag_count(uri: str) -> int:
    return int((await sql(uri, sa.select(sa.func.count()).select_from(tables.input_tags)))[0][0])


async def chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


class World:
    """Runs made through the API, artifact files written straight into the destination."""

    def __init__(self, api: Any, settings: Settings) -> None:
        self.api = api
        self.uri = settings.backend_store_uri
        self.destination = Path(settings.artifacts_destination)
        self.repo = LocalRepository(self.destination)

    async def run(self, experiment_id: str) -> str:
        run_id = str((await self.api.run(experiment_id))["info"]["run_id"])
        batch = {
            "run_id": run_id,
            "params": [{"key": "p", "value": "1"}],
            "tags": [{"key": "t", "value": "x"}],
            "metrics": [{"key": "m", "value": 1.0, "timestamp": 1, "step": s} for s in range(3)],
        }
        await self.api.ok("POST", "/runs/log-batch", batch)
        inputs = {
            "run_id": run_id,
            "datasets": [{"dataset": DATASET, "tags": [{"key": "k", "value": "v"}]}],
            "models": [{"model_id": "m-1"}],
        }
        await self.api.ok("POST", "/runs/log-inputs", inputs)
        await self.repo.write(f"{experiment_id}/{run_id}/artifacts/model/w.bin", chunks(b"w"))
        return run_id

    def run_folder(self, experiment_id: str, run_id: str) -> Path:
        return self.destination / experiment_id / run_id

    async def delete(self, run_id: str, days_ago: int = 0) -> None:
        await self.api.ok("POST", "/runs/delete", {"run_id": run_id})
        if days_ago:
            when = int(time.time() * 1000) - days_ago * DAY_MS
            update = sa.update(tables.runs).where(tables.runs.c.run_uuid == run_id)
            await sql(self.uri, update.values(deleted_time=when))

    async def delete_experiment(self, experiment_id: str, days_ago: int = 0) -> None:
        await self.api.ok("POST", "/experiments/delete", {"experiment_id": experiment_id})
        if days_ago:
            when = int(time.time() * 1000) - days_ago * DAY_MS
            table = tables.experiments
            update = sa.update(table).where(table.c.experiment_id == int(experiment_id))
            await sql(self.uri, update.values(last_update_time=when))

    async def gone(self, experiment_id: str, run_id: str) -> bool:
        counts = await row_counts(self.uri, run_id)
        folder_gone = not self.run_folder(experiment_id, run_id).exists()
        return folder_gone and not any(counts.values())

    async def intact(self, experiment_id: str, run_id: str) -> bool:
        counts = await row_counts(self.uri, run_id)
        weights = self.run_folder(experiment_id, run_id) / "artifacts/model/w.bin"
        return weights.read_bytes() == b"w" and all(counts.values())

    async def experiment_exists(self, experiment_id: str) -> bool:
        table = tables.experiments
        query = sa.select(table.c.experiment_id).where(table.c.experiment_id == int(experiment_id))
        return bool(await sql(self.uri, query))


@pytest.fixture
def world(api: Any, settings: Settings) -> World:
    return World(api, settings)


async def gc(settings: Settings, capsys: Any, *args: str) -> tuple[int, str, str]:
    argv = ["gc", "--backend-store-uri", settings.backend_store_uri]
    argv += ["--artifacts-destination", settings.artifacts_destination, *args]
    code = await asyncio.to_thread(main, argv)
    out = capsys.readouterr()
    return code, out.out, out.err


async def test_removes_runs_deleted_longer_ago_than_the_age(world, settings, capsys):
    exp = await world.api.experiment()
    old, recent, alive = [await world.run(exp) for _ in range(3)]
    await world.delete(old, days_ago=10)
    await world.delete(recent)

    code, out, err = await gc(settings, capsys, "--older-than", "1d")
    assert (code, err) == (0, "")
    assert f"Run with ID {old} has been permanently deleted." in out
    assert "gc: removed 1 run(s) and 0 experiment(s), 1 artifact folder(s)" in out
    assert await world.gone(exp, old)
    assert await world.intact(exp, recent)
    assert await world.intact(exp, alive)
    assert await input_tag_count(world.uri) == 2  # the old run's input tag went with it

    # Without --older-than every deleted run goes, however recent.
    code, out, _ = await gc(settings, capsys)
    assert code == 0
    assert out.splitlines()[0] == f"Run with ID {recent} has been permanently deleted."
    assert await world.gone(exp, recent)
    assert await world.intact(exp, alive)
    assert await world.experiment_exists(exp)


async def test_age_formats_follow_mlflow(world, settings, capsys):
    exp = await world.api.experiment()
    run_id = await world.run(exp)
    await world.delete(run_id, days_ago=2)
    code, _, _ = await gc(settings, capsys, "--older-than", "2d1h")
    assert code == 0 and await world.intact(exp, run_id)
    code, _, _ = await gc(settings, capsys, "--older-than", "1d23h59m30.5s")
    assert code == 0 and await world.gone(exp, run_id)


async def test_run_ids_remove_only_those_runs(world, settings, capsys):
    exp = await world.api.experiment()
    named, other = [await world.run(exp) for _ in range(2)]
    await world.delete(named)
    await world.delete(other)
    code, out, _ = await gc(settings, capsys, "--run-ids", named)
    assert code == 0, out
    assert await world.gone(exp, named)
    assert await world.intact(exp, other)


@pytest.mark.parametrize(
    ("which", "extra", "message"),
    [
        ("alive", (), "is not in `deleted` lifecycle stage"),
        ("missing", (), "Run with id=nope not found"),
        ("recent", ("--older-than", "1d"), "is not older than the required age"),
    ],
)
async def test_run_ids_refuse_and_change_nothing(world, settings, capsys, which, extra, message):
    exp = await world.api.experiment()
    deleted, recent, alive = [await world.run(exp) for _ in range(3)]
    await world.delete(deleted, days_ago=5)
    await world.delete(recent)
    ids = {"alive": alive, "missing": "nope", "recent": recent}
    code, out, err = await gc(settings, capsys, "--run-ids", f"{deleted},{ids[which]}", *extra)
    assert code == 1
    assert err.startswith("gc: ") and message in err
    assert out == ""
    for run_id in (deleted, recent, alive):
        assert await world.intact(exp, run_id)


async def test_deleted_experiments_older_than_the_age_go_with_their_runs(world, settings, capsys):
    old, recent, active = [await world.api.experiment(name) for name in ("a", "b", "c")]
    await world.api.ok(
        "POST", "/experiments/set-experiment-tag", {"experiment_id": old, "key": "k", "value": "v"}
    )
    runs = {exp: await world.run(exp) for exp in (old, recent, active)}
    await world.repo.write(f"{old}/notes.txt", chunks(b"n"))
    await world.delete_experiment(old, days_ago=10)
    await world.delete_experiment(recent)
    # Runs carried into the deleted stage with their experiment are recent; the experiment's age
    # is what counts, as in MLflow.
    code, out, err = await gc(settings, capsys, "--older-than", "1d")
    assert (code, err) == (0, ""), out
    assert f"Experiment with ID {old} has been permanently deleted." in out
    assert "removed 1 run(s) and 1 experiment(s)" in out
    assert not await world.experiment_exists(old)
    assert not (world.destination / old).exists()
    assert await world.gone(old, runs[old])
    for table in (tables.experiment_tags, tables.datasets):
        query = sa.select(table).where(table.c.experiment_id == int(old))
        assert not await sql(world.uri, query)
    for exp in (recent, active):
        assert await world.experiment_exists(exp)
        assert await world.intact(exp, runs[exp])

    code, _, err = await gc(settings, capsys, "--experiment-ids", active)
    assert code == 1 and "are not in the deleted lifecycle stage" in err
    code, _, err = await gc(settings, capsys, "--experiment-ids", recent, "--older-than", "1d")
    assert code == 1 and "are not older than the required age" in err
    code, _, err = await gc(settings, capsys, "--experiment-ids", "12345")
    assert code == 1 and "No Experiment with id=12345 exists" in err
    assert await world.intact(recent, runs[recent])

    code, out, _ = await gc(settings, capsys, "--experiment-ids", recent)
    assert code == 0, out
    assert not await world.experiment_exists(recent)
    assert await world.gone(recent, runs[recent])
    assert await world.intact(active, runs[active])


async def test_artifacts_outside_the_storage_are_left_with_a_note(world, settings, capsys):
    exp = await world.api.experiment()
    run_id = await world.run(exp)
    await world.delete(run_id)
    elsewhere = sa.update(tables.runs).where(tables.runs.c.run_uuid == run_id)
    await sql(world.uri, elsewhere.values(artifact_uri="s3://someone-else/x"))
    code, out, _ = await gc(settings, capsys)
    assert code == 0
    assert f"Note: artifacts of run {run_id} at s3://someone-else/x" in out
    assert "1 artifact location(s) left in place" in out
    assert not any((await row_counts(world.uri, run_id)).values())
    assert world.run_folder(exp, run_id).exists()


async def test_incomplete_uploads_older_than_a_day_are_purged(world, settings, capsys):
    staging = world.destination / STAGING
    stale, fresh = staging / "stale", staging / "fresh"
    stale.write_bytes(b"partial")
    fresh.write_bytes(b"partial")
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(stale, (two_days_ago, two_days_ago))
    code, out, _ = await gc(settings, capsys)
    assert code == 0
    assert "1 incomplete upload(s)" in out
    assert not stale.exists() and fresh.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--older-than", "soon"], "Could not parse any time information from 'soon'"),
        (["--older-than", "."], "Could not parse any time information"),
        (["--experiment-ids", "abc"], "Invalid experiment ID 'abc'"),
        (["--run-ids", ","], "--run-ids names no ids"),
        (["--artifacts-destination", "ftp://x/y"], "Unsupported artifact storage"),
    ],
)
def test_bad_input_exits_non_zero_with_a_message(databases, tmp_path, args, message):
    uri = databases.new("sqlite", tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "tracking", "gc", "--backend-store-uri", uri, *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    assert message in result.stderr


def test_refuses_a_database_without_schema(tmp_path):
    uri = f"sqlite:///{tmp_path / 'empty.db'}"
    destination = str(tmp_path / "mlartifacts")
    assert main(["gc", "--backend-store-uri", uri, "--artifacts-destination", destination]) == 2


async def test_a_shared_experiment_folder_is_left_in_place(world, settings, capsys):
    gone, staying = [await world.api.experiment(name) for name in ("gone", "staying")]
    run_id = await world.run(staying)
    table = tables.experiments
    shared = sa.update(table).where(table.c.experiment_id == int(gone))
    await sql(world.uri, shared.values(artifact_location=f"mlflow-artifacts:/{staying}"))
    await world.delete_experiment(gone)
    code, out, _ = await gc(settings, capsys)
    assert code == 0
    assert f"Note: artifacts of experiment {gone} at mlflow-artifacts:/{staying} overlap" in out
    assert not await world.experiment_exists(gone)
    assert await world.intact(staying, run_id)


def http_json(url: str, body: Any = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, json.load(resp)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_gc_beside_a_running_server(backend, databases, tmp_path):
    uri = databases.new(backend, tmp_path)
    server = start_server(uri, tmp_path)
    api = server.url + "/api/2.0/mlflow"
    try:
        _, created = http_json(api + "/experiments/create", {"name": "e"})
        exp = created["experiment_id"]
        _, run = http_json(api + "/runs/create", {"experiment_id": exp, "start_time": 1})
        run_id = run["run"]["info"]["run_id"]
        folder = tmp_path / "mlartifacts" / exp / run_id / "artifacts"
        folder.mkdir(parents=True)
        (folder / "f.txt").write_text("x")
        assert http_json(api + "/runs/delete", {"run_id": run_id}) == (200, {})
        result = subprocess.run(
            [sys.executable, "-m", "tracking", "gc", "--backend-store-uri", uri],
            cwd=tmp_path,  # the server's default destination, ./mlartifacts, is found the same way
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert f"Run with ID {run_id} has been permanently deleted." in result.stdout
        status, body = http_json(f"{api}/runs/get?run_id={run_id}")
        assert (status, body["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
        assert not (tmp_path / "mlartifacts" / exp / run_id).exists()
    finally:
        stop_server(server)
