"""The stock mlflow client searches runs and experiments: filters, ordering, paging, pandas."""

import functools
import math
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag, ViewType
from mlflow.exceptions import MlflowException

from tests.client_support import assert_clean_log, fail_fast_client
from tests.conftest import ServerProcess

N_RUNS = 125
T0 = 1_700_000_000_000
STATUSES = ["FINISHED", "FAILED", "KILLED", "RUNNING"]


@pytest.fixture(scope="module", autouse=True)
def mlflow_env(server: ServerProcess) -> Iterator[None]:
    with fail_fast_client(server.url):
        yield
    assert_clean_log(server.log)


@pytest.fixture(scope="module")
def client(server: ServerProcess, mlflow_env: None) -> MlflowClient:
    return MlflowClient(tracking_uri=server.url)


@dataclass
class Row:
    """What the corpus holds for one run, to compute expected search results in Python."""

    i: int
    run_id: str = ""
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return f"run-{self.i:03d}"

    @property
    def start_time(self) -> int:
        return T0 + (self.i // 2) * 1000  # pairs share a start time: run_id breaks the tie

    @property
    def status(self) -> str:
        return STATUSES[self.i % 4]


@dataclass
class Corpus:
    experiment_id: str
    rows: list[Row]

    def ids(self, keep: Callable[[Row], bool], order_by: list[str] | None = None) -> list[str]:
        chosen = [r for r in self.rows if keep(r)]
        chosen.sort(key=functools.cmp_to_key(lambda a, b: compare(a, b, order_by or [])))
        return [r.run_id for r in chosen]


def make_row(i: int) -> Row:
    row = Row(i)
    if i % 10:
        row.metrics["loss"] = 100 - i * 0.5
    row.metrics["acc"] = (i % 7) / 7
    if i % 6 == 1:
        row.metrics["score"] = math.nan
    elif i % 6 != 2:
        row.metrics["score"] = float(i % 13)
    row.params = {"lr": ["0.1", "0.01", "0.001"][i % 3], "depth": str(i % 5)}
    if i % 2 == 0:
        row.params["seed"] = str(i)
    row.tags = {"group": "abc"[i % 3], "label": f"Item{i}"}
    if i % 2:
        row.tags["odd"] = "yes"
    return row


def slot(row: Row, kind: str, key: str) -> tuple[int, Any]:
    """MLflow's sort slot: present values first, then NaN (metrics only), then missing."""
    if kind == "attributes":
        return 0, {"run_name": row.name, "start_time": row.start_time, "run_id": row.run_id}[key]
    values: dict[str, Any] = getattr(row, kind)
    if key not in values:
        return 2, None
    value = values[key]
    if isinstance(value, float) and math.isnan(value):
        return 1, None
    return 0, value


def compare(a: Row, b: Row, order_by: list[str]) -> int:
    """MLflow's run order: the given clauses, then start_time DESC (unless given), then run_id."""
    clauses = []
    for clause in order_by:
        column, _, direction = clause.partition(" ")
        kind, _, key = column.partition(".")
        clauses.append((kind, key, direction != "DESC"))
    if not any(c[:2] == ("attributes", "start_time") for c in clauses):
        clauses.append(("attributes", "start_time", False))
    clauses.append(("attributes", "run_id", True))
    for kind, key, ascending in clauses:
        (rank_a, va), (rank_b, vb) = slot(a, kind, key), slot(b, kind, key)
        if rank_a != rank_b:
            return rank_a - rank_b
        if va != vb:
            return (-1 if va < vb else 1) * (1 if ascending else -1)
    return 0


def create_run(client: MlflowClient, experiment_id: str, row: Row) -> None:
    run = client.create_run(experiment_id, start_time=row.start_time, run_name=row.name)
    row.run_id = run.info.run_id
    client.log_batch(
        row.run_id,
        metrics=[Metric(k, v, T0, 0) for k, v in row.metrics.items()],
        params=[Param(k, v) for k, v in row.params.items()],
        tags=[RunTag(k, v) for k, v in row.tags.items()],
    )
    if row.status != "RUNNING":
        client.set_terminated(row.run_id, status=row.status, end_time=row.start_time + 500)


@pytest.fixture(scope="module")
def corpus(client: MlflowClient) -> Corpus:
    experiment_id = client.create_experiment(f"search-{uuid.uuid4().hex}")
    rows = [make_row(i) for i in range(N_RUNS)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda row: create_run(client, experiment_id, row), rows))
    return Corpus(experiment_id, rows)


def all_pages(client: MlflowClient, corpus: Corpus, page_size: int, **kwargs: object) -> list[str]:
    ids, token, pages = [], None, 0
    while True:
        page = client.search_runs(
            [corpus.experiment_id], max_results=page_size, page_token=token, **kwargs
        )
        assert len(page) <= page_size
        ids += [r.info.run_id for r in page]
        pages += 1
        token = page.token
        if not token:
            return ids
        assert pages < 100, "paging does not terminate"


ORDERINGS = [
    None,
    ["metrics.score DESC"],
    ["metrics.score ASC"],
    ["metrics.loss DESC"],
    ["params.depth ASC", "attributes.run_name DESC"],
    ["tags.group DESC", "metrics.loss ASC"],
    ["attributes.start_time ASC"],
    ["attributes.run_name"],
    ["params.seed DESC"],
]


@pytest.mark.parametrize("order_by", ORDERINGS, ids=str)
def test_paging_every_run_once_in_order(
    client: MlflowClient, corpus: Corpus, order_by: list[str] | None
) -> None:
    ids = all_pages(client, corpus, 17, order_by=order_by)
    assert len(ids) == len(set(ids)) == N_RUNS
    assert ids == corpus.ids(lambda r: True, order_by)


def test_paging_exact_multiple_has_no_trailing_token(client: MlflowClient, corpus: Corpus) -> None:
    ids: list[str] = []
    token = None
    for _ in range(5):
        page = client.search_runs([corpus.experiment_id], max_results=25, page_token=token)
        assert len(page) == 25
        ids += [r.info.run_id for r in page]
        token = page.token
    assert token is None
    assert ids == corpus.ids(lambda r: True)


FILTERS: list[tuple[str, Callable[[Row], bool]]] = [
    ("metrics.loss >= 70", lambda r: r.metrics.get("loss", -1) >= 70),
    ("metrics.acc < 0.3 AND params.lr = '0.1'", lambda r: r.metrics["acc"] < 0.3 and r.i % 3 == 0),
    ("metrics.loss != 50", lambda r: "loss" in r.metrics and r.metrics["loss"] != 50),
    ("params.depth != '0'", lambda r: r.i % 5 != 0),
    ("params.seed IS NULL", lambda r: r.i % 2 == 1),
    ("params.lr LIKE '%01'", lambda r: r.i % 3 in (1, 2)),
    ("tags.group = 'b'", lambda r: r.i % 3 == 1),
    ("tags.odd IS NOT NULL AND tags.group != 'a'", lambda r: r.i % 2 == 1 and r.i % 3 != 0),
    ("tags.label LIKE 'Item1%'", lambda r: str(r.i).startswith("1")),
    ("tags.label LIKE 'item1%'", lambda r: False),  # LIKE is case-sensitive on every backend
    ("tags.label ILIKE 'item1%'", lambda r: str(r.i).startswith("1")),
    ("attributes.run_name = 'run-042'", lambda r: r.i == 42),
    ("attributes.run_name LIKE 'run-04%'", lambda r: 40 <= r.i < 50),
    ("attributes.status = 'FAILED'", lambda r: r.status == "FAILED"),
    ("attributes.status != 'RUNNING'", lambda r: r.status != "RUNNING"),
    (
        f"attributes.start_time > {T0 + 30_000} AND attributes.start_time <= {T0 + 40_000}",
        lambda r: 62 <= r.i < 82,
    ),
    (f"attributes.end_time < {T0 + 10_000}", lambda r: r.i < 20 and r.status != "RUNNING"),
    ("metrics.loss > 90 AND tags.odd = 'yes' AND params.depth = '3'", lambda r: r.i in (3, 13)),
]


@pytest.mark.parametrize(("filter_string", "keep"), FILTERS, ids=[f for f, _ in FILTERS])
def test_filters(
    client: MlflowClient, corpus: Corpus, filter_string: str, keep: Callable[[Row], bool]
) -> None:
    found = client.search_runs([corpus.experiment_id], filter_string, max_results=1000)
    assert [r.info.run_id for r in found] == corpus.ids(keep)


def test_filtered_paging_by_metric(client: MlflowClient, corpus: Corpus) -> None:
    order_by = ["metrics.acc DESC", "attributes.run_name ASC"]
    ids = all_pages(client, corpus, 7, filter_string="tags.group != 'c'", order_by=order_by)
    assert ids == corpus.ids(lambda r: r.tags["group"] != "c", order_by)


def test_run_id_in(client: MlflowClient, corpus: Corpus) -> None:
    chosen = {corpus.rows[i].run_id for i in (3, 50, 121)}
    quoted = ", ".join(f"'{run_id}'" for run_id in sorted(chosen))
    found = client.search_runs([corpus.experiment_id], f"attributes.run_id IN ({quoted})")
    assert {r.info.run_id for r in found} == chosen
    found = client.search_runs(
        [corpus.experiment_id], f"run_id NOT IN ({quoted})", max_results=1000
    )
    assert [r.info.run_id for r in found] == corpus.ids(lambda r: r.run_id not in chosen)


def test_search_several_experiments(client: MlflowClient, corpus: Corpus) -> None:
    other = client.create_experiment(f"search-other-{uuid.uuid4().hex}")
    # Between run-124 (T0 + 62s) and run-122/123 (T0 + 61s) in the default order.
    extra = client.create_run(other, start_time=T0 + 61_500, run_name="run-1xx").info.run_id
    found = client.search_runs(
        [corpus.experiment_id, other], "attributes.run_name LIKE 'run-1%'", max_results=1000
    )
    newest, *rest = corpus.ids(lambda r: r.i >= 100)
    assert [r.info.run_id for r in found] == [newest, extra, *rest]


def test_quoted_keys_values_and_aliases(client: MlflowClient) -> None:
    experiment_id = client.create_experiment(f"quoting-{uuid.uuid4().hex}")
    r1 = client.create_run(experiment_id, start_time=1000, run_name="it's").info.run_id
    r2 = client.create_run(experiment_id, start_time=2000, run_name='say "hi"').info.run_id
    client.log_batch(r1, [Metric("m/1", 3.0, 0, 0)], [Param("a.b", "x")], [RunTag("my key", "v 1")])
    client.log_batch(r2, [Metric("m/1", 4.0, 0, 0)], [], [RunTag("my key", "it's")])
    names = {r1: "r1", r2: "r2"}

    def found(filter_string: str = "", order_by: list[str] | None = None) -> list[str]:
        runs = client.search_runs([experiment_id], filter_string, order_by=order_by)
        return [names[r.info.run_id] for r in runs]

    assert found("tags.`my key` = 'v 1'") == ["r1"]
    assert found('tags."my key" = "v 1"') == ["r1"]
    assert found('tags.`my key` = "it\'s"') == ["r2"]
    assert found("params.`a.b` = 'x'") == ["r1"]
    assert found("metrics.`m/1` > 3.5") == ["r2"]
    assert found('attributes.run_name = "it\'s"') == ["r1"]
    assert found("attributes.run_name = 'say \"hi\"'") == ["r2"]
    assert found("run_name ILIKE 'IT%'") == ["r1"]
    # MLflow's aliases for entity types and attributes.
    assert found("tag.`my key` = 'v 1' and param.`a.b` = 'x' and metric.`m/1` = 3") == ["r1"]
    assert found('attribute.`Run name` = "it\'s"') == ["r1"]
    assert found("attributes.created > 1500") == ["r2"]
    assert found(order_by=["attributes.created ASC"]) == ["r1", "r2"]
    assert found(order_by=["tags.`my key` DESC"]) == ["r1", "r2"]
    assert found(order_by=["metrics.`m/1` desc"]) == ["r2", "r1"]
    assert found(order_by=["params.`a.b` DESC"]) == ["r1", "r2"]  # missing values sort last
    assert found(order_by=["attributes.run_id"]) == [names[r] for r in sorted(names)]


def test_search_returns_full_runs(client: MlflowClient, corpus: Corpus) -> None:
    row = corpus.rows[33]
    (run,) = client.search_runs([corpus.experiment_id], f"attributes.run_id = '{row.run_id}'")
    assert run.info.run_name == row.name
    assert (run.info.status, run.info.start_time, run.info.end_time) == (
        "FAILED",
        row.start_time,
        row.start_time + 500,
    )
    assert run.data.metrics == row.metrics
    assert run.data.params == row.params
    assert {k: v for k, v in run.data.tags.items() if not k.startswith("mlflow.")} == row.tags


@pytest.mark.parametrize(
    "filter_string",
    [
        "attributes.run_name IN ('run-001')",
        "metrics.loss = 'high'",
        "params.lr > 0.1",
        "nonsense.key = 'x'",
        "metrics.loss >",
        "tags.group = 'a' OR tags.group = 'b'",
    ],
)
def test_invalid_filters_are_rejected(
    client: MlflowClient, corpus: Corpus, filter_string: str
) -> None:
    with pytest.raises(MlflowException) as err:
        client.search_runs([corpus.experiment_id], filter_string)
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"


def test_invalid_page_token_is_rejected(client: MlflowClient, corpus: Corpus) -> None:
    with pytest.raises(MlflowException) as err:
        client.search_runs([corpus.experiment_id], page_token="not-a-token")
    assert err.value.error_code == "INVALID_PARAMETER_VALUE"


def test_search_runs_into_pandas(client: MlflowClient, corpus: Corpus) -> None:
    df = mlflow.search_runs(
        [corpus.experiment_id], "params.lr = '0.01'", order_by=["attributes.run_name"]
    )
    assert isinstance(df, pd.DataFrame)
    expected = [r for r in corpus.rows if r.params["lr"] == "0.01"]
    assert df["run_id"].tolist() == [r.run_id for r in expected]
    assert {"metrics.loss", "metrics.acc", "metrics.score"} <= set(df.columns)
    assert {"params.lr", "params.depth", "params.seed", "tags.group", "tags.label"} <= set(
        df.columns
    )
    assert {"tags.mlflow.runName", "status", "start_time", "end_time", "experiment_id"} <= set(
        df.columns
    )
    first = df.iloc[0]
    assert first["tags.mlflow.runName"] == expected[0].name
    assert first["metrics.acc"] == expected[0].metrics["acc"]
    assert first["params.depth"] == expected[0].params["depth"]
    assert first["status"] == expected[0].status
    assert (df["experiment_id"] == corpus.experiment_id).all()
    everything = mlflow.search_runs([corpus.experiment_id])
    assert len(everything) == N_RUNS  # the fluent API pages through all of them


def test_search_experiments(client: MlflowClient) -> None:
    prefix = f"exps-{uuid.uuid4().hex[:8]}"
    ids = {}
    for name, kind in [("a", "x"), ("b", "y"), ("c", "x"), ("d", "y"), ("e", "x")]:
        ids[name] = client.create_experiment(f"{prefix}-{name}", tags={"kind": kind})
    for name in ("b", "e"):
        client.delete_experiment(ids[name])

    def names(view_type: int = ViewType.ACTIVE_ONLY, **kwargs: object) -> list[str]:
        found = client.search_experiments(
            view_type=view_type,
            filter_string=kwargs.pop("filter_string", f"name LIKE '{prefix}%'"),
            **kwargs,
        )
        return [e.name.removeprefix(f"{prefix}-") for e in found]

    assert names(order_by=["name ASC"]) == ["a", "c", "d"]
    assert names(order_by=["name DESC"]) == ["d", "c", "a"]
    assert names(ViewType.DELETED_ONLY, order_by=["name"]) == ["b", "e"]
    assert names(ViewType.ALL, order_by=["name"]) == ["a", "b", "c", "d", "e"]
    assert names(filter_string=f"name ILIKE '{prefix.upper()}-%' AND tags.kind = 'x'") in (
        ["a", "c"],
        ["c", "a"],
    )
    assert names(filter_string=f"name = '{prefix}-d'") == ["d"]
    assert names(ViewType.ALL, filter_string=f"name LIKE '{prefix}%' AND tags.kind != 'x'") in (
        ["b", "d"],
        ["d", "b"],
    )

    # Default order: newest first, experiment_id breaks ties.
    created = {n: client.get_experiment(i) for n, i in ids.items()}
    expected = sorted(
        created, key=lambda n: (-created[n].creation_time, int(created[n].experiment_id))
    )
    assert names(ViewType.ALL) == expected

    page = client.search_experiments(
        view_type=ViewType.ALL,
        filter_string=f"name LIKE '{prefix}%'",
        max_results=2,
        order_by=["name DESC"],
    )
    seen = [e.name for e in page]
    while page.token:
        page = client.search_experiments(
            view_type=ViewType.ALL,
            filter_string=f"name LIKE '{prefix}%'",
            max_results=2,
            order_by=["name DESC"],
            page_token=page.token,
        )
        seen += [e.name for e in page]
    assert seen == [f"{prefix}-{n}" for n in "edcba"]

    fluent = mlflow.search_experiments(filter_string=f"tags.kind = 'y' AND name LIKE '{prefix}%'")
    assert [e.name for e in fluent] == [f"{prefix}-d"]
