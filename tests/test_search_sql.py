"""search_run_ids / search_experiment_ids against real databases, SQLite and PostgreSQL."""

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tracking.errors import InvalidParameterValue
from tracking.store import tables as t
from tracking.store.driver_sql import run_statement
from tracking.store.engine import make_engine
from tracking.store.experiment_search import search_experiments
from tracking.store.run_search import _search_statement, search_run_ids
from tracking.store.run_search_ranked import ALL
from tracking.store.runs import run_dicts


def _run(uuid_: str, exp: int, name: str, status: str, start: int, end: int | None, **kw: Any):
    return {
        "run_uuid": uuid_,
        "experiment_id": exp,
        "name": name,
        "user_id": kw.get("user", "u1"),
        "status": status,
        "start_time": start,
        "end_time": end,
        "lifecycle_stage": kw.get("stage", "active"),
        "artifact_uri": f"s3://bucket/{uuid_}",
        "deleted_time": None,
    }


def _metric(run: str, key: str, value: float) -> dict[str, Any]:
    nan = value != value
    return {"run_uuid": run, "key": key, "step": 0, "timestamp": 1, "value": 0.0 if nan else value}


async def _fixture_rows(engine: AsyncEngine) -> None:
    exp = {"artifact_location": "x", "last_update_time": 0}
    async with engine.begin() as conn:
        await conn.execute(
            t.experiments.insert(),
            [
                {**exp, "experiment_id": 1, "name": "a-default", "lifecycle_stage": "active",
                 "creation_time": 10},
                {**exp, "experiment_id": 2, "name": "b-second", "lifecycle_stage": "active",
                 "creation_time": 20},
                {**exp, "experiment_id": 3, "name": "gone", "lifecycle_stage": "deleted",
                 "creation_time": 30},
                {**exp, "experiment_id": 4, "name": "c-other", "lifecycle_stage": "active",
                 "creation_time": 20},
            ],
        )  # fmt: skip
        await conn.execute(
            t.experiment_tags.insert(),
            [
                {"experiment_id": 1, "key": "team", "value": "a"},
                {"experiment_id": 2, "key": "team", "value": "b"},
            ],
        )
        await conn.execute(
            t.runs.insert(),
            [
                _run("r1", 1, "alpha", "FINISHED", 100, 200),
                _run("r2", 1, "Alpha-2", "RUNNING", 200, None, user="u2"),
                _run("r3", 1, "beta", "FAILED", 300, 400),
                _run("r4", 1, "gamma", "FINISHED", 150, 160, stage="deleted"),
                _run("r5", 2, "delta", "FINISHED", 250, 300),
                _run("r6", 1, "eps", "KILLED", 200, None),
            ],
        )
        await conn.execute(
            t.params.insert(),
            [
                {"run_uuid": "r1", "key": "lr", "value": "0.1"},
                {"run_uuid": "r1", "key": "opt", "value": "Adam"},
                {"run_uuid": "r2", "key": "lr", "value": "0.01"},
                {"run_uuid": "r3", "key": "opt", "value": "sgd"},
                {"run_uuid": "r3", "key": "a b", "value": "spaced"},
            ],
        )
        await conn.execute(
            t.tags.insert(),
            [
                {"run_uuid": "r1", "key": "mlflow.runName", "value": "alpha"},
                {"run_uuid": "r1", "key": "team", "value": "Red"},
                {"run_uuid": "r2", "key": "team", "value": "red"},
            ],
        )
        metrics = [
            _metric("r1", "acc", 0.9),
            _metric("r1", "x-y", 1.0),
            _metric("r2", "acc", float("nan")),
            _metric("r3", "acc", -2.0),
            _metric("r4", "acc", 0.95),
            _metric("r5", "acc", 0.7),
        ]
        experiment_of = {"r5": 2}  # the others are in experiment 1
        latest = [
            {
                **m,
                "is_nan": m["run_uuid"] == "r2",
                "experiment_id": experiment_of.get(m["run_uuid"], 1),
            }
            for m in metrics
        ]
        await conn.execute(t.latest_metrics.insert(), latest)
        ds = {"experiment_id": 1, "source_type": "local", "source": "/d"}
        await conn.execute(
            t.datasets.insert(),
            [
                {**ds, "dataset_uuid": "d1", "name": "train_ds", "digest": "abc"},
                {**ds, "dataset_uuid": "d2", "name": "Eval", "digest": "DEF"},
            ],
        )
        await conn.execute(
            t.dataset_inputs.insert(),
            [
                {"input_uuid": "i1", "run_uuid": "r1", "dataset_uuid": "d1"},
                {"input_uuid": "i2", "run_uuid": "r2", "dataset_uuid": "d2"},
                {"input_uuid": "i3", "run_uuid": "r3", "dataset_uuid": "d1"},
            ],
        )
        await conn.execute(
            t.input_tags.insert(),
            [
                {"input_uuid": "i1", "name": "mlflow.data.context", "value": "training"},
                {"input_uuid": "i2", "name": "mlflow.data.context", "value": "eval"},
            ],
        )


@pytest.fixture
async def engine(backend_uri: str) -> AsyncIterator[AsyncEngine]:
    # A fresh migrated database per test from conftest, on SQLite and PostgreSQL, with the
    # server's own connection setup (case-sensitive LIKE, foreign keys).
    eng = make_engine(backend_uri)
    await _fixture_rows(eng)
    yield eng
    await eng.dispose()


async def runs(
    engine: AsyncEngine,
    filter_string: str | None = None,
    order_by: list[str] | None = None,
    view_type: str = "ACTIVE_ONLY",
    experiment_ids: list[int] | None = None,
    offset: int = 0,
    limit: int = 100,
) -> list[str]:
    async with engine.connect() as conn:
        found = await search_run_ids(
            conn,
            experiment_ids=[1, 2] if experiment_ids is None else experiment_ids,
            filter_string=filter_string,
            view_type=view_type,
            order_by=order_by or [],
            offset=offset,
            limit=limit,
        )
    return [f.run_id for f in found]


async def experiments(
    engine: AsyncEngine,
    filter_string: str | None = None,
    order_by: list[str] | None = None,
    view_type: str = "ACTIVE_ONLY",
) -> list[int]:
    async with engine.connect() as conn:
        found = await search_experiments(
            conn,
            filter_string=filter_string,
            view_type=view_type,
            order_by=order_by or [],
            offset=0,
            limit=100,
        )
    return [int(e["experiment_id"]) for e in found]


DEFAULT_ORDER = ["r3", "r5", "r2", "r6", "r1"]  # start_time DESC, then run_uuid ASC


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        (None, DEFAULT_ORDER),
        ("", DEFAULT_ORDER),
        ("metrics.acc > 0.5", ["r5", "r1"]),
        ("metrics.acc > -5", ["r3", "r5", "r1"]),  # the NaN run (r2) never matches
        ("metrics.acc = 0", []),  # NaN is stored as 0 but is not 0
        ("metrics.acc != 0.9", ["r3", "r5", "r2"]),  # NaN != anything; r6 has no acc
        ("metrics.acc <= -2", ["r3"]),
        ("metrics.acc >= 7e-1", ["r5", "r1"]),
        ("metrics.`x-y` = 1", ["r1"]),
        ("metrics.acc > 0.5 and params.lr = '0.1'", ["r1"]),
        ("params.lr = '0.1' AND params.opt = 'Adam' AND metrics.acc < 1", ["r1"]),
        ('params."a b" = "spaced"', ["r3"]),
        ("params.lr != '0.1'", ["r2"]),  # only runs that have the param
        ("params.opt IS NULL", ["r5", "r2", "r6"]),
        ("params.opt is not null", ["r3", "r1"]),
        ("params.opt LIKE 'adam'", []),
        ("params.opt ILIKE 'adam'", ["r1"]),
        ("params.lr LIKE '0.%'", ["r2", "r1"]),
        ("tags.`mlflow.runName` = 'alpha'", ["r1"]),
        ("tags.mlflow.runName = 'alpha'", ["r1"]),
        ("tags.team LIKE 'red'", ["r2"]),
        ("tags.team ILIKE 'RED'", ["r2", "r1"]),
        ("tags.team != 'red'", ["r1"]),
        ("tags.team IS NULL", ["r3", "r5", "r6"]),
        ("attributes.run_id IN ('r1', 'r3', 'zzz')", ["r3", "r1"]),
        ("run_id NOT IN ('r1')", ["r3", "r5", "r2", "r6"]),
        ("run_id = 'r5'", ["r5"]),
        ("attributes.status = 'FINISHED'", ["r5", "r1"]),
        ("status != 'FINISHED'", ["r3", "r2", "r6"]),
        ("run_name LIKE 'alpha%'", ["r1"]),  # LIKE is case-sensitive
        ("run_name ILIKE 'alpha%'", ["r2", "r1"]),
        ("attributes.run_name = 'Alpha-2'", ["r2"]),
        ("`Run name` = 'beta'", ["r3"]),
        ("user_id = 'u2'", ["r2"]),
        ("artifact_uri LIKE '%/r5'", ["r5"]),
        ("attributes.start_time > 150", ["r3", "r5", "r2", "r6"]),
        ("start_time >= 200.5", ["r3", "r5"]),
        ("created < 150", ["r1"]),
        ("end_time > 100", ["r3", "r5", "r1"]),
        ("end_time != 200", ["r3", "r5"]),  # NULL end_time matches nothing
        ("start_time > 99999999999999999999999", []),
        ("datasets.name IN ('train_ds')", ["r3", "r1"]),
        ("datasets.name NOT IN ('train_ds')", ["r2"]),
        ("datasets.digest = 'def'", []),
        ("datasets.digest ILIKE 'def'", ["r2"]),
        ("datasets.name LIKE 'Ev%'", ["r2"]),
        ("datasets.context = 'training'", ["r1"]),
        ("dataset.context IN ('training', 'eval')", ["r2", "r1"]),
        ("datasets.name = 'train_ds' and datasets.context = 'training'", ["r1"]),
        ("params.lr = 'x'' OR ''1''=''1'", []),  # quotes stay data, never SQL
        ("params.lr = '0.1; DROP TABLE runs'", []),
    ],
)
async def test_run_filters(engine: AsyncEngine, filter_string: str | None, expected: list[str]):
    assert await runs(engine, filter_string) == expected


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        # numbers first, then NaN, then missing, in both directions
        (["metrics.acc"], ["r3", "r5", "r1", "r2", "r6"]),
        (["metrics.acc DESC"], ["r1", "r5", "r3", "r2", "r6"]),
        (["metrics.`acc` asc"], ["r3", "r5", "r1", "r2", "r6"]),
        (["params.lr"], ["r2", "r1", "r3", "r5", "r6"]),
        (["params.lr DESC"], ["r1", "r2", "r3", "r5", "r6"]),
        (["tags.mlflow.runName"], ["r1", "r3", "r5", "r2", "r6"]),
        (["attributes.status"], ["r3", "r5", "r1", "r6", "r2"]),
        (["start_time ASC"], ["r1", "r2", "r6", "r5", "r3"]),
        (["created DESC"], DEFAULT_ORDER),
        (["end_time"], ["r1", "r5", "r3", "r2", "r6"]),
        (["end_time DESC"], ["r3", "r5", "r1", "r2", "r6"]),
        (["run_id DESC"], ["r6", "r5", "r3", "r2", "r1"]),
        (["params.opt DESC", "metrics.acc"], ["r3", "r1", "r5", "r2", "r6"]),
    ],
)
async def test_run_ordering(engine: AsyncEngine, order_by: list[str], expected: list[str]):
    assert await runs(engine, order_by=order_by) == expected


async def test_view_types_experiments_and_paging(engine: AsyncEngine):
    assert await runs(engine, view_type="DELETED_ONLY") == ["r4"]
    assert await runs(engine, view_type="ALL") == ["r3", "r5", "r2", "r6", "r4", "r1"]
    assert await runs(engine, experiment_ids=[2]) == ["r5"]
    assert await runs(engine, experiment_ids=[]) == []
    assert await runs(engine, offset=1, limit=2) == ["r5", "r2"]
    assert await runs(engine, offset=10, limit=2) == []
    assert await runs(engine, "metrics.acc > 0", view_type="ALL") == ["r5", "r4", "r1"]
    # filters (correlated EXISTS) combine with ordering joins on the same keys
    assert await runs(engine, "params.lr LIKE '0%'", ["metrics.acc DESC"]) == ["r1", "r2"]
    assert await runs(engine, "metrics.acc < 1", ["metrics.acc"], offset=1, limit=1) == ["r5"]


async def _one_statement(
    engine: AsyncEngine,
    filter_string: str | None,
    order_by: list[str],
    view_type: str,
    experiment_ids: list[int],
) -> list[str]:
    """The reference order: the whole search as one sorted statement, no index walk."""
    async with engine.connect() as conn:
        statement = _search_statement(
            conn.dialect, filter_string, view_type, tuple(order_by), len(experiment_ids), ALL
        )
        values = {f"experiment_ids_{i}": e for i, e in enumerate(experiment_ids, start=1)}
        rows = await run_statement(conn, statement, offset=0, limit=1000, **values)
    return [r[0] for r in rows]


@pytest.mark.parametrize(
    ("filter_string", "order_by", "view_type", "experiment_ids"),
    [
        (None, ["metrics.acc DESC"], "ACTIVE_ONLY", [1]),
        (None, ["metrics.acc"], "ALL", [1, 2]),
        ("params.lr LIKE '0%'", ["metrics.acc DESC", "params.opt"], "ALL", [1, 2]),
        ("metrics.acc > 0.3", ["metrics.acc", "start_time ASC"], "ACTIVE_ONLY", [1, 2]),
        (None, ["metrics.loss", "metrics.acc DESC"], "ACTIVE_ONLY", [1, 2]),
    ],
)
async def test_metric_ordered_pages_match_one_sorted_statement(
    engine: AsyncEngine, filter_string, order_by, view_type, experiment_ids
):
    """A search ordered by a metric reads the runs with a value by walking the index and the
    rest (NaN, missing) separately; every page, wherever it starts and ends, is the slice of
    the one-statement order: inside the ranked runs, across the boundary, past it."""
    async with engine.begin() as conn:
        await conn.execute(
            t.runs.insert(),
            [_run(f"p{i:02d}", 1 + i % 2, f"n{i}", "FINISHED", 1000 + i % 7, None,
                  stage="deleted" if i % 9 == 0 else "active") for i in range(40)],
        )  # fmt: skip
        await conn.execute(
            t.params.insert(),
            [{"run_uuid": f"p{i:02d}", "key": "lr", "value": f"0.{i % 4}"} for i in range(40)],
        )
        values = {i: float("nan") if i % 5 == 0 else (i % 6) / 10 for i in range(40) if i % 4}
        await conn.execute(
            t.latest_metrics.insert(),
            [
                {**_metric(f"p{i:02d}", "acc", v), "is_nan": v != v, "experiment_id": 1 + i % 2}
                for i, v in values.items()
            ],
        )
    everything = await _one_statement(engine, filter_string, order_by, view_type, experiment_ids)
    assert len(everything) > 5
    for limit in (1, 3, 7, 100):
        for offset in range(len(everything) + 2):
            page = await runs(engine, filter_string, order_by, view_type, experiment_ids,
                              offset=offset, limit=limit)  # fmt: skip
            assert page == everything[offset : offset + limit], (offset, limit)
        # Paging as the service does, each page resuming after the previous page's last run.
        walked: list[str] = []
        seek = None
        async with engine.connect() as conn:
            while True:
                found = await search_run_ids(
                    conn, experiment_ids=experiment_ids, filter_string=filter_string,
                    view_type=view_type, order_by=order_by, offset=len(walked),
                    limit=limit, seek=seek,
                )  # fmt: skip
                walked += [f.run_id for f in found]
                if len(found) < limit:
                    break
                seek = found[-1].seek
        assert walked == everything, limit


async def _page(engine: AsyncEngine, order_by: list[str], offset: int, seek: Any) -> list[str]:
    async with engine.connect() as conn:
        found = await search_run_ids(
            conn, experiment_ids=[1, 2], filter_string=None, view_type="ALL",
            order_by=order_by, offset=offset, limit=2, seek=seek,
        )  # fmt: skip
    return [f.run_id for f in found]


async def test_seek_resumes_after_the_named_run_and_only_for_its_order(engine: AsyncEngine):
    # ALL, acc DESC: r4 0.95, r1 0.9, r5 0.7, r3 -2 (start 300), then NaN r2, missing r6
    first = await runs(engine, order_by=["metrics.acc DESC"], view_type="ALL", limit=2)
    assert first == ["r4", "r1"]
    async with engine.connect() as conn:
        found = await search_run_ids(
            conn, experiment_ids=[1, 2], filter_string=None, view_type="ALL",
            order_by=["metrics.acc DESC"], offset=0, limit=2,
        )  # fmt: skip
    seek = found[-1].seek
    assert seek == ["acc", False, 0.9, 100, "r1"]
    assert await _page(engine, ["metrics.acc DESC"], 2, seek) == ["r5", "r3"]
    # The seek, not the offset, positions the ranked runs; the offset places the rest.
    assert await _page(engine, ["metrics.acc DESC"], 2, ["acc", False, 0.7, 250, "r5"]) == [
        "r3",
        "r2",
    ]
    # Made for another order (or direction): ignored, the offset decides.
    assert await _page(engine, ["metrics.acc"], 2, seek) == ["r1", "r4"]
    assert await _page(engine, ["metrics.loss DESC"], 0, seek) == ["r3", "r5"]
    # A second order key after the metric: pages carry no seek at all.
    async with engine.connect() as conn:
        found = await search_run_ids(
            conn, experiment_ids=[1, 2], filter_string=None, view_type="ALL",
            order_by=["metrics.acc DESC", "params.lr"], offset=0, limit=2,
        )  # fmt: skip
    assert [f.seek for f in found] == [None, None]


@pytest.mark.parametrize(
    "seek",
    [
        "x",
        ["acc", False, 0.9, 100],
        ["acc", "no", 0.9, 100, "r1"],
        ["acc", False, "0.9", 100, "r1"],
        ["acc", False, float("nan"), 100, "r1"],
        ["acc", False, 0.9, 1.5, "r1"],
        ["acc", False, 0.9, 2**63, "r1"],
        ["acc", False, True, 100, "r1"],
        ["acc", False, 0.9, 100, 7],
    ],
)
async def test_malformed_seek_is_refused(engine: AsyncEngine, seek: Any):
    with pytest.raises(InvalidParameterValue, match="Invalid page token"):
        await _page(engine, ["metrics.acc DESC"], 2, seek)


@pytest.mark.parametrize(
    ("filter_string", "order_by"),
    [
        ("metrics.acc > 'x'", None),
        ("params.lr > '1'", None),
        ("metrics.acc > 1 OR params.lr = '1'", None),
        ("lifecycle_stage = 'active'", None),
        (None, ["metrics.acc", "metrics.acc DESC"]),
        (None, ["created", "start_time"]),
        (None, ["datasets.name"]),
    ],
)
async def test_run_search_rejects(
    engine: AsyncEngine, filter_string: str | None, order_by: list[str] | None
):
    with pytest.raises(InvalidParameterValue):
        await runs(engine, filter_string, order_by)
    with pytest.raises(InvalidParameterValue):
        await runs(engine, view_type="SOME")


@pytest.mark.parametrize(
    ("filter_string", "order_by", "view_type", "expected"),
    [
        (None, None, "ACTIVE_ONLY", [2, 4, 1]),  # creation_time DESC, experiment_id ASC
        (None, None, "ALL", [3, 2, 4, 1]),
        (None, None, "DELETED_ONLY", [3]),
        (None, ["name"], "ACTIVE_ONLY", [1, 2, 4]),
        (None, ["name DESC"], "ACTIVE_ONLY", [4, 2, 1]),
        (None, ["creation_time ASC"], "ACTIVE_ONLY", [1, 4, 2]),  # tie-break experiment_id DESC
        (None, ["experiment_id"], "ACTIVE_ONLY", [1, 2, 4]),
        ("name = 'b-second'", None, "ACTIVE_ONLY", [2]),
        ("name LIKE 'B%'", None, "ACTIVE_ONLY", []),
        ("name ILIKE 'B%'", None, "ACTIVE_ONLY", [2]),
        ("attribute.name != 'b-second'", None, "ACTIVE_ONLY", [4, 1]),
        ("tags.team = 'a'", None, "ACTIVE_ONLY", [1]),
        ("tag.team IS NULL", None, "ACTIVE_ONLY", [4]),
        ("tags.team IS NOT NULL", None, "ACTIVE_ONLY", [2, 1]),
        ("tags.team ILIKE 'B'", None, "ACTIVE_ONLY", [2]),
        ("experiment_id IN ('1', '4')", None, "ACTIVE_ONLY", [4, 1]),
        ("experiment_id NOT IN ('1')", None, "ACTIVE_ONLY", [2, 4]),
        ("experiment_id != '1'", None, "ACTIVE_ONLY", [2, 4]),
        ("creation_time >= 20", None, "ALL", [3, 2, 4]),
        ("last_update_time = 0 and name LIKE '%o%'", None, "ALL", [3, 2, 4]),
    ],
)
async def test_experiment_search(
    engine: AsyncEngine,
    filter_string: str | None,
    order_by: list[str] | None,
    view_type: str,
    expected: list[int],
):
    assert await experiments(engine, filter_string, order_by, view_type) == expected


@pytest.mark.parametrize(
    "filter_string",
    ["attributes.name = 'x'", "experiment_id = 'abc'", "creation_time > 1.5", "name IS NULL"],
)
async def test_experiment_search_rejects(engine: AsyncEngine, filter_string: str):
    with pytest.raises(InvalidParameterValue):
        await experiments(engine, filter_string)


async def test_run_pages_load_every_kind_of_row_once_per_run(engine: AsyncEngine):
    """run_dicts probes each id once (one index lookup per id on PostgreSQL): ids in the
    order given, unknown ids left out, a repeated id neither repeats rows nor runs."""
    async with engine.connect() as conn:
        pages = await run_dicts(conn, ["r1", "nope", "r2", "r1"])
    assert [p["info"]["run_id"] for p in pages] == ["r1", "r2", "r1"]
    r1 = pages[0]
    assert r1["data"]["metrics"] == [
        {"key": "acc", "value": 0.9, "timestamp": 1, "step": 0},
        {"key": "x-y", "value": 1.0, "timestamp": 1, "step": 0},
    ]
    assert r1["data"]["params"] == [{"key": "lr", "value": "0.1"}, {"key": "opt", "value": "Adam"}]
    assert r1["data"]["tags"] == [
        {"key": "mlflow.runName", "value": "alpha"},
        {"key": "team", "value": "Red"},
    ]
    assert [i["dataset"]["name"] for i in r1["inputs"]["dataset_inputs"]] == ["train_ds"]
    assert r1["inputs"]["dataset_inputs"][0]["tags"] == [
        {"key": "mlflow.data.context", "value": "training"}
    ]
    assert pages[1]["data"]["metrics"][0]["value"] == "NaN"
