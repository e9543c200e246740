"""Run endpoints: create, get, update, lifecycle and search."""

from aiohttp import web

from tracking.api.responses import empty, json_response
from tracking.api.wire import read_fields
from tracking.entities import RUN_STATUSES, VIEW_TYPES
from tracking.keys import RUNS


async def create_run(request: web.Request) -> web.Response:
    body = await read_fields(request)
    run = await request.app[RUNS].create(
        experiment_id=body.string("experiment_id"),
        user_id=body.string("user_id"),
        run_name=body.string("run_name"),
        start_time=body.int64("start_time"),
        tags=[(t.string("key"), t.string("value", default="")) for t in body.messages("tags")],
    )
    return json_response({"run": run.to_dict()})


async def get_run(request: web.Request) -> web.Response:
    body = await read_fields(request)
    run = await request.app[RUNS].get(body.run_id())
    return json_response({"run": run})


async def update_run(request: web.Request) -> web.Response:
    body = await read_fields(request)
    info = await request.app[RUNS].update(
        body.run_id(),
        status=body.enum("status", RUN_STATUSES),
        end_time=body.int64("end_time"),
        run_name=body.string("run_name"),
    )
    return json_response({"run_info": info.to_dict()})


async def delete_run(request: web.Request) -> web.Response:
    body = await read_fields(request)
    await request.app[RUNS].delete(body.run_id())
    return empty()


async def restore_run(request: web.Request) -> web.Response:
    body = await read_fields(request)
    await request.app[RUNS].restore(body.run_id())
    return empty()


async def search_runs(request: web.Request) -> web.Response:
    body = await read_fields(request)
    page = await request.app[RUNS].search(
        experiment_ids=body.ids("experiment_ids"),
        filter_string=body.string("filter"),
        view_type=body.enum("run_view_type", VIEW_TYPES, default="ACTIVE_ONLY"),
        max_results=body.int32("max_results"),
        order_by=body.strings("order_by"),
        page_token=body.string("page_token"),
    )
    out: dict[str, object] = {}
    if page.runs:
        out["runs"] = page.runs
    if page.next_page_token:
        out["next_page_token"] = page.next_page_token
    return json_response(out)
