"""runs/search and experiments/search over HTTP: filters, ordering, paging and view types."""

import base64
import json

import pytest

from tests.api_support import guarded_client  # noqa: F401 (the `client` fixture)


async def search_runs(api, **body):
    return await api.ok("POST", "/runs/search", body)


def names(body):
    return [r["info"]["run_name"] for r in body.get("runs", [])]


@pytest.fixture
async def three_runs(api):
    """Runs a, b, c in a fresh experiment, with data to filter and order on."""
    experiment_id = await api.experiment("search")
    for index, name in enumerate("abc"):
        run = await api.run(experiment_id, run_name=name, start_time=1000 + index)
        await api.ok(
            "POST",
            "/runs/log-batch",
            {
                "run_id": run["info"]["run_id"],
                "metrics": [{"key": "acc", "value": index / 2, "timestamp": 1, "step": 0}],
                "params": [{"key": "lr", "value": f"0.{index}"}],
                "tags": [{"key": "team", "value": "red" if index < 2 else "blue"}],
            },
        )
    await api.ok("POST", "/runs/update", {"run_id": run["info"]["run_id"], "status": "FINISHED"})
    return experiment_id


async def test_runs_default_order_is_start_time_desc(api, three_runs):
    body = await search_runs(api, experiment_ids=[three_runs])
    assert names(body) == ["c", "b", "a"]
    assert "next_page_token" not in body
    run = body["runs"][0]
    assert run == (await api.ok("GET", "/runs/get", {"run_id": run["info"]["run_id"]}))["run"]


@pytest.mark.parametrize(
    ("filter_string", "expected"),
    [
        ("metrics.acc > 0.2", ["c", "b"]),
        ("metrics.acc = 0", ["a"]),
        ("params.lr = '0.1'", ["b"]),
        ("params.lr IS NOT NULL and params.lr != '0.1'", ["c", "a"]),
        ("tags.team = 'red' and metrics.acc >= 0.5", ["b"]),
        ("tags.team LIKE 'bl%'", ["c"]),
        ("attributes.status = 'FINISHED'", ["c"]),
        ("attributes.run_name = 'a'", ["a"]),
        ("tags.`mlflow.runName` != 'a'", ["c", "b"]),
        ("params.missing = 'x'", []),
    ],
)
async def test_runs_filters(api, three_runs, filter_string, expected):
    body = await search_runs(api, experiment_ids=[three_runs], filter=filter_string)
    assert names(body) == expected
    if not expected:
        assert body == {}


async def test_runs_filter_run_id_in(api, three_runs):
    runs = (await search_runs(api, experiment_ids=[three_runs]))["runs"]
    wanted = [r["info"]["run_id"] for r in runs if r["info"]["run_name"] != "b"]
    quoted = ", ".join(f"'{run_id}'" for run_id in wanted)
    body = await search_runs(
        api, experiment_ids=[three_runs], filter=f"attributes.run_id IN ({quoted})"
    )
    assert names(body) == ["c", "a"]


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        (["metrics.acc ASC"], ["a", "b", "c"]),
        (["params.lr DESC"], ["c", "b", "a"]),
        (["tags.team ASC", "attributes.start_time ASC"], ["c", "a", "b"]),
        (["attributes.run_name"], ["a", "b", "c"]),
    ],
)
async def test_runs_order_by(api, three_runs, order_by, expected):
    assert names(await search_runs(api, experiment_ids=[three_runs], order_by=order_by)) == expected


async def test_runs_paging_across_many_runs(api):
    experiment_id = await api.experiment("many")
    created = []
    for index in range(130):
        run = await api.run(experiment_id, start_time=10_000 - index, run_name=f"r{index:03}")
        created.append(run["info"]["run_id"])
    seen, token, pages = [], None, 0
    while True:
        body = {"experiment_ids": [experiment_id], "max_results": 50}
        body |= {"page_token": token} if token else {}
        page = await search_runs(api, **body)
        seen += [r["info"]["run_id"] for r in page["runs"]]
        pages += 1
        token = page.get("next_page_token")
        if not token:
            break
    assert pages == 3
    assert seen == created  # start_time descending is creation order here
    # The default page is 1000 runs: everything at once, no token.
    everything = await search_runs(api, experiment_ids=[experiment_id])
    assert len(everything["runs"]) == 130 and "next_page_token" not in everything


async def test_runs_paging_ordered_by_a_metric(api):
    """Pages ordered by a metric resume after the previous page's last run (the token carries
    it); together they are the single page's order: ties, NaN and missing values included."""
    experiment_id = await api.experiment("ranked")
    for index in range(40):
        run = await api.run(experiment_id, start_time=1000 + index % 3)
        if index % 5:
            value = "NaN" if index % 7 == 0 else (index % 4) / 2
            await api.ok("POST", "/runs/log-metric", {
                "run_id": run["info"]["run_id"], "key": "acc", "value": value,
                "timestamp": 1, "step": 0,
            })  # fmt: skip
    order = ["metrics.acc DESC"]
    whole = await search_runs(api, experiment_ids=[experiment_id], order_by=order)
    expected = [r["info"]["run_id"] for r in whole["runs"]]
    assert len(expected) == 40
    seen, token = [], None
    while True:
        body = {"experiment_ids": [experiment_id], "max_results": 7, "order_by": order}
        page = await search_runs(api, **body, **({"page_token": token} if token else {}))
        seen += [r["info"]["run_id"] for r in page["runs"]]
        token = page.get("next_page_token")
        if not token:
            break
    assert seen == expected
    # A token whose seek was tampered with is refused, not trusted.
    bad = base64.b64encode(json.dumps({"offset": 7, "seek": ["acc", False, "x", 1, "r"]}).encode())
    status, err = await api.post("/runs/search", {
        "experiment_ids": [experiment_id], "order_by": order, "page_token": bad.decode(),
    })  # fmt: skip
    assert (status, err["error_code"]) == (400, "INVALID_PARAMETER_VALUE")


async def test_runs_view_types(api, three_runs):
    body = await search_runs(api, experiment_ids=[three_runs], filter="attributes.run_name = 'b'")
    await api.ok("POST", "/runs/delete", {"run_id": body["runs"][0]["info"]["run_id"]})
    ids = [three_runs]
    assert names(await search_runs(api, experiment_ids=ids)) == ["c", "a"]
    assert names(await search_runs(api, experiment_ids=ids, run_view_type="ACTIVE_ONLY")) == [
        "c",
        "a",
    ]
    assert names(await search_runs(api, experiment_ids=ids, run_view_type="DELETED_ONLY")) == ["b"]
    assert names(await search_runs(api, experiment_ids=ids, run_view_type="ALL")) == ["c", "b", "a"]


async def test_runs_search_without_experiments_is_empty(api, three_runs):
    assert await search_runs(api) == {}
    assert await search_runs(api, experiment_ids=["0"]) == {}


INVALID_RUN_SEARCHES = [
    {"filter": "metrics.acc >"},
    {"filter": "metrics.acc > 'high'"},
    {"filter": "nonsense.acc = 1"},
    {"filter": "params.lr = 0.1"},
    {"filter": "params.lr IN ('0.1')"},
    {"filter": "attributes.run_name IN ('a')"},  # MLflow: only run_id takes a list
    {"order_by": ["metrics.acc SIDEWAYS"]},
    {"order_by": ["bogus.field"]},
    {"order_by": "metrics.acc"},
    {"page_token": "not-a-token"},
    {"page_token": "eyJvZmZzZXQiOiAiYSJ9"},  # {"offset": "a"}
    {"max_results": 0},
    {"max_results": 50001},
    {"max_results": "many"},
    {"run_view_type": "SOME"},
    {"experiment_ids": "0"},
    {"experiment_ids": ["abc"]},
]


async def test_runs_search_invalid(api):
    wrong = []
    for body in INVALID_RUN_SEARCHES:
        status, err = await api.post("/runs/search", {"experiment_ids": ["0"], **body})
        if (status, err.get("error_code")) != (400, "INVALID_PARAMETER_VALUE"):
            wrong.append((body, status, err))
    assert not wrong


async def search_experiments(api, method="POST", **body):
    return await api.ok(method, "/experiments/search", body)


def experiment_names(body):
    return [e["name"] for e in body.get("experiments", [])]


async def test_experiments_search(api):
    for name in ("exp-a", "exp-b", "other"):
        await api.experiment(name)
    # Default order: creation_time DESC, experiment_id ASC; Default (id 0) is oldest.
    everything = await search_experiments(api)
    assert experiment_names(everything) == ["other", "exp-b", "exp-a", "Default"]
    body = await search_experiments(api, filter="name LIKE 'exp-%'", order_by=["name DESC"])
    assert experiment_names(body) == ["exp-b", "exp-a"]
    via_get = await search_experiments(api, "GET", filter="name LIKE 'exp-%'", order_by="name DESC")
    assert via_get == body
    assert await search_experiments(api, filter="name = 'nothing'") == {}


async def test_experiments_search_by_tag_and_view_type(api):
    tagged = await api.experiment("tagged")
    await api.ok(
        "POST",
        "/experiments/set-experiment-tag",
        {"experiment_id": tagged, "key": "owner", "value": "me"},
    )
    assert experiment_names(await search_experiments(api, filter="tags.owner = 'me'")) == ["tagged"]
    await api.ok("POST", "/experiments/delete", {"experiment_id": tagged})
    assert experiment_names(await search_experiments(api)) == ["Default"]
    deleted = await search_experiments(api, view_type="DELETED_ONLY")
    assert experiment_names(deleted) == ["tagged"]
    assert experiment_names(await search_experiments(api, view_type="ALL")) == [
        "tagged",
        "Default",
    ]


async def test_experiments_paging(api):
    for index in range(105):
        await api.experiment(f"e{index:03}")
    seen, token = [], None
    while True:
        page = await search_experiments(
            api, max_results=40, order_by=["name ASC"], **({"page_token": token} if token else {})
        )
        seen += experiment_names(page)
        token = page.get("next_page_token")
        if not token:
            break
    assert seen == ["Default"] + [f"e{index:03}" for index in range(105)]


INVALID_EXPERIMENT_SEARCHES = [
    {"filter": "name ="},
    {"filter": "name = 'a' OR name = 'b'"},
    {"filter": "metrics.acc > 1"},
    {"order_by": ["name UP"]},
    {"order_by": ["unknown_column"]},
    {"page_token": "!!!"},
    {"max_results": 0},
    {"max_results": 50001},
    {"view_type": "EVERYTHING"},
]


async def test_experiments_search_invalid(api):
    wrong = []
    for body in INVALID_EXPERIMENT_SEARCHES:
        status, err = await api.post("/experiments/search", body)
        if (status, err.get("error_code")) != (400, "INVALID_PARAMETER_VALUE"):
            wrong.append((body, status, err))
    assert not wrong
