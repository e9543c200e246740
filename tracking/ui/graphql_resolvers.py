"""Root and extension resolvers: each calls one service through the app's keys."""

from typing import Any

from aiohttp import web
from graphql import GraphQLResolveInfo

from tracking.keys import ARTIFACTS, DATASETS, EXPERIMENTS, METRICS, MODEL_VERSIONS, RUNS
from tracking.ui.graphql_values import camelize

Input = dict[str, Any] | None


def _app(info: GraphQLResolveInfo) -> web.Application:
    app: web.Application = info.context
    return app


def _run_id(args: dict[str, Any]) -> str:
    return str(args.get("runId") or args.get("runUuid") or "")


async def get_experiment(_root: Any, info: GraphQLResolveInfo, input: Input = None) -> Any:
    args = input or {}
    experiment = await _app(info)[EXPERIMENTS].get(args.get("experimentId"))
    return {"experiment": camelize(experiment.to_dict())}


async def get_run(_root: Any, info: GraphQLResolveInfo, input: Input = None) -> Any:
    run = await _app(info)[RUNS].get(_run_id(input or {}))
    return {"run": camelize(run)}


async def search_runs(_root: Any, info: GraphQLResolveInfo, input: Input = None) -> Any:
    args = input or {}
    page = await _app(info)[RUNS].search(
        experiment_ids=[str(e) for e in args.get("experimentIds") or []],
        filter_string=args.get("filter"),
        view_type=args.get("runViewType") or "ACTIVE_ONLY",
        max_results=args.get("maxResults"),
        order_by=[o for o in args.get("orderBy") or [] if o is not None],
        page_token=args.get("pageToken"),
    )
    return {
        "runs": [camelize(r) for r in page.runs],
        "nextPageToken": page.next_page_token or None,
    }


async def get_metric_history_bulk_interval(
    _root: Any, info: GraphQLResolveInfo, input: Input = None
) -> Any:
    args = input or {}
    points = await _app(info)[METRICS].history_bulk_interval(
        [r for r in args.get("runIds") or [] if r is not None],
        args.get("metricKey") or "",
        max_results=args.get("maxResults"),
        start_step=args.get("startStep"),
        end_step=args.get("endStep"),
    )
    return {"metrics": camelize(points.to_dicts(with_run_id=True)) if points else []}


async def list_artifacts(_root: Any, info: GraphQLResolveInfo, input: Input = None) -> Any:
    args = input or {}
    root_uri, files = await _app(info)[ARTIFACTS].list_run(_run_id(args), args.get("path"))
    return {"rootUri": root_uri, "files": [camelize(f.to_dict()) for f in files]}


async def search_model_versions(_root: Any, info: GraphQLResolveInfo, input: Input = None) -> Any:
    args = input or {}
    page = await _app(info)[MODEL_VERSIONS].search(
        args.get("filter") or None,
        args.get("maxResults"),
        [o for o in args.get("orderBy") or [] if o is not None],
        args.get("pageToken") or None,
    )
    return {
        "modelVersions": [camelize(v.to_dict()) for v in page.versions],
        "nextPageToken": page.next_page_token or None,
    }


async def search_datasets(_root: Any, info: GraphQLResolveInfo, input: Input = None) -> Any:
    args = input or {}
    ids = [str(e) for e in args.get("experimentIds") or []]
    summaries = await _app(info)[DATASETS].search(ids)
    return {"datasetSummaries": [camelize(s.to_dict()) for s in summaries]}


async def run_experiment(run: dict[str, Any], info: GraphQLResolveInfo) -> Any:
    experiment = await _app(info)[EXPERIMENTS].get(run["info"]["experimentId"])
    return camelize(experiment.to_dict())


async def run_model_versions(run: dict[str, Any], info: GraphQLResolveInfo) -> Any:
    run_id = run["info"]["runId"]
    page = await _app(info)[MODEL_VERSIONS].search(f"run_id='{run_id}'", None, [], None)
    return [camelize(v.to_dict()) for v in page.versions]


def echo(_root: Any, _info: GraphQLResolveInfo, inputString: str | None = None) -> Any:
    return {"output": inputString}


QUERIES = {
    "mlflowGetExperiment": get_experiment,
    "mlflowGetRun": get_run,
    "mlflowGetMetricHistoryBulkInterval": get_metric_history_bulk_interval,
    "mlflowListArtifacts": list_artifacts,
    "mlflowSearchModelVersions": search_model_versions,
    "mlflowSearchRuns": search_runs,
    "test": echo,
}
MUTATIONS = {
    "mlflowSearchRuns": search_runs,
    "mlflowSearchDatasets": search_datasets,
    "testMutation": echo,
}
