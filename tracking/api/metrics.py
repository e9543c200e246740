"""Metric history endpoints and the dataset summaries the UI filters by."""

import orjson
from aiohttp import web

from tracking.api.responses import encoded_fields_response, json_response
from tracking.api.wire import read_fields
from tracking.keys import DATASETS, METRICS


async def get_metric_history(request: web.Request) -> web.Response:
    body = await read_fields(request)
    run_id = body.run_id()
    page = await request.app[METRICS].history(
        run_id,
        body.string("metric_key", required=True),
        max_results=body.int32("max_results"),
        page_token=body.string("page_token"),
    )
    fields: dict[str, bytes] = {}
    if page.count:
        fields["metrics"] = page.metrics_json
    if page.next_page_token:
        fields["next_page_token"] = orjson.dumps(page.next_page_token)
    return encoded_fields_response(fields)


async def get_metric_history_bulk(request: web.Request) -> web.Response:
    body = await read_fields(request)
    points = await request.app[METRICS].history_bulk(
        body.strings("run_id"), body.string("metric_key"), body.int32("max_results")
    )
    return json_response({"metrics": points.to_dicts(with_run_id=True)})


async def get_metric_history_bulk_interval(request: web.Request) -> web.Response:
    body = await read_fields(request)
    points = await request.app[METRICS].history_bulk_interval(
        body.strings("run_ids"),
        body.string("metric_key", required=True),
        max_results=body.int32("max_results"),
        start_step=body.int32("start_step"),
        end_step=body.int32("end_step"),
    )
    out: dict[str, object] = {}
    if points:
        out["metrics"] = points.to_dicts(with_run_id=True)
    return json_response(out)


async def search_datasets(request: web.Request) -> web.Response:
    body = await read_fields(request)
    summaries = await request.app[DATASETS].search(body.ids("experiment_ids"))
    out: dict[str, object] = {}
    if summaries:
        out["dataset_summaries"] = [s.to_dict() for s in summaries]
    return json_response(out)
