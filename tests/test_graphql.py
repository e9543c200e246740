"""`/graphql` as the MLflow UI queries it: MLflow's schema, camelCase, int64 as strings, NaN as
null, errors as plain strings, and MLflow's limits on depth, aliases and root fields."""

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.conftest import Api

GET_RUN = """
query MlflowGetRunQuery($data: MlflowGetRunInput!) @component(name: "MLflow.RunPage") {
  mlflowGetRun(input: $data) {
    apiError { code message }
    run {
      info { runUuid runName experimentId status startTime endTime lifecycleStage }
      data { metrics { key value step timestamp } params { key value } tags { key value } }
      inputs { datasetInputs { dataset { name digest } } modelInputs { modelId } }
      experiment { experimentId name tags { key value } }
      modelVersions { name version }
    }
  }
}
"""


async def gql(client: TestClient, query: str, variables: Any = None, **extra: Any) -> Any:
    resp = await client.post("/graphql", json={"query": query, "variables": variables, **extra})
    assert resp.status == 200
    return await resp.json()


async def logged_run(api: Api) -> tuple[str, str]:
    exp = await api.experiment("gql")
    run = await api.run(exp, run_name="r1")
    run_id = run["info"]["run_id"]
    await api.ok(
        "POST",
        "/runs/log-batch",
        {
            "run_id": run_id,
            "metrics": [
                {"key": "loss", "value": 0.5, "timestamp": 2**40, "step": 3_000_000_000},
                {"key": "bad", "value": "NaN", "timestamp": 1, "step": 0},
            ],
            "params": [{"key": "lr", "value": "0.1"}],
            "tags": [{"key": "t", "value": "v"}],
        },
    )
    return exp, run_id


async def test_get_run_camel_case_long_strings_and_nan(client: TestClient, api: Api) -> None:
    exp, run_id = await logged_run(api)
    body = await gql(client, GET_RUN, {"data": {"runId": run_id}})
    assert body["errors"] is None
    run = body["data"]["mlflowGetRun"]["run"]
    assert body["data"]["mlflowGetRun"]["apiError"] is None
    assert run["info"]["runUuid"] == run_id
    assert run["info"]["runName"] == "r1"
    assert run["info"]["status"] == "RUNNING"
    assert run["info"]["startTime"] == "1000"
    metrics = {m["key"]: m for m in run["data"]["metrics"]}
    assert metrics["loss"] == {
        "key": "loss",
        "value": 0.5,
        "step": "3000000000",
        "timestamp": str(2**40),
    }
    assert metrics["bad"]["value"] is None
    assert run["data"]["params"] == [{"key": "lr", "value": "0.1"}]
    assert {"key": "t", "value": "v"} in run["data"]["tags"]
    assert run["inputs"] == {"datasetInputs": [], "modelInputs": []}
    assert run["experiment"] == {"experimentId": exp, "name": "gql", "tags": []}
    assert run["modelVersions"] == []


async def test_errors_are_mlflow_messages(client: TestClient) -> None:
    body = await gql(client, GET_RUN, {"data": {"runId": "f" * 32}})
    assert body == {
        "data": {"mlflowGetRun": None},
        "errors": [f"Run with id={'f' * 32} not found"],
    }
    body = await gql(
        client, '{ mlflowGetExperiment(input: {experimentId: "404"}) { experiment { name } } }'
    )
    assert body == {
        "data": {"mlflowGetExperiment": None},
        "errors": ["No Experiment with id=404 exists"],
    }
    body = await gql(client, "{ nope }")
    assert body["data"] is None
    assert body["errors"] == ["Cannot query field 'nope' on type 'Query'."]
    body = await gql(client, "{ mlflowGetRun(")
    assert body["data"] is None
    assert body["errors"][0].startswith("Syntax Error")


async def test_search_runs_mutation_and_datasets(client: TestClient, api: Api) -> None:
    exp, run_id = await logged_run(api)
    query = """
    mutation SearchRuns($data: MlflowSearchRunsInput, $ids: [String]) {
      mlflowSearchRuns(input: $data) { runs { info { runUuid } data { params { key value } } }
                                       nextPageToken }
      mlflowSearchDatasets(input: {experimentIds: $ids}) { datasetSummaries { name } }
    }
    """
    body = await gql(
        client,
        query,
        {"data": {"experimentIds": [exp], "filter": "params.lr = '0.1'"}, "ids": [exp]},
    )
    assert body["errors"] is None
    assert body["data"] == {
        "mlflowSearchRuns": {
            "runs": [
                {"info": {"runUuid": run_id}, "data": {"params": [{"key": "lr", "value": "0.1"}]}}
            ],
            "nextPageToken": None,
        },
        "mlflowSearchDatasets": {"datasetSummaries": []},
    }
    body = await gql(
        client,
        "query Q($ids: [String]) { mlflowSearchRuns(input: {experimentIds: $ids, "
        "runViewType: DELETED_ONLY}) { runs { info { runUuid } } } }",
        {"ids": [exp]},
    )
    assert body == {"data": {"mlflowSearchRuns": {"runs": []}}, "errors": None}


async def test_metric_history_bulk_interval_and_artifacts(client: TestClient, api: Api) -> None:
    _exp, run_id = await logged_run(api)
    query = """
    query H($r: [String], $k: String, $id: String) {
      mlflowGetMetricHistoryBulkInterval(input: {runIds: $r, metricKey: $k, maxResults: 10}) {
        metrics { runId key value step timestamp }
      }
      mlflowListArtifacts(input: {runId: $id}) { rootUri files { path isDir fileSize } }
    }
    """
    body = await gql(client, query, {"r": [run_id], "k": "loss", "id": run_id})
    assert body["errors"] is None
    assert body["data"]["mlflowGetMetricHistoryBulkInterval"]["metrics"] == [
        {
            "runId": run_id,
            "key": "loss",
            "value": 0.5,
            "step": "3000000000",
            "timestamp": str(2**40),
        }
    ]
    listing = body["data"]["mlflowListArtifacts"]
    assert listing["files"] == []
    assert listing["rootUri"].endswith(f"{run_id}/artifacts")


async def test_search_model_versions(client: TestClient) -> None:
    body = await gql(
        client,
        '{ mlflowSearchModelVersions(input: {filter: "name=\'x\'", maxResults: "10"}) '
        "{ modelVersions { name version aliases } nextPageToken } }",
    )
    assert body == {
        "data": {"mlflowSearchModelVersions": {"modelVersions": [], "nextPageToken": None}},
        "errors": None,
    }


async def test_get_is_accepted(client: TestClient) -> None:
    resp = await client.get("/graphql", params={"query": '{ test(inputString: "hi") { output } }'})
    assert await resp.json() == {"data": {"test": {"output": "hi"}}, "errors": None}


async def test_component_directive_is_declared(client: TestClient) -> None:
    body = await gql(client, "{ __schema { directives { name locations args { name } } } }")
    directives = {d["name"]: d for d in body["data"]["__schema"]["directives"]}
    assert directives["component"]["locations"] == ["QUERY", "MUTATION"]
    assert directives["component"]["args"] == [{"name": "name"}]


@pytest.mark.parametrize(
    ("query", "error"),
    [
        (
            "{ " + " ".join(f'a{i}: test(inputString: "x") {{ output }}' for i in range(11)) + " }",
            "GraphQL queries should have at most 10 root fields, got 11 root fields. "
            "To increase the limit, set the MLFLOW_SERVER_GRAPHQL_MAX_ROOT_FIELDS environment "
            "variable.",
        ),
        (
            '{ test(inputString: "x") { ' + " ".join(f"o{i}: output" for i in range(11)) + " } }",
            "GraphQL queries should have at most 10 aliases, got 11 aliases. "
            "To increase the limit, set the MLFLOW_SERVER_GRAPHQL_MAX_ALIASES environment "
            "variable.",
        ),
        (
            "{ mlflowGetRun(input: {}) { run { experiment { tags { key } } "
            "info { a { b { c { d { e { f { g { h } } } } } } } } } } }",
            "Query exceeds maximum depth of 10",
        ),
    ],
)
async def test_mlflow_limits(client: TestClient, query: str, error: str) -> None:
    assert await gql(client, query) == {"data": None, "errors": [error]}
