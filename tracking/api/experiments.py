"""Experiment endpoints."""

import orjson
from aiohttp import web

from tracking.api.responses import empty, encoded_fields_response, json_response
from tracking.api.wire import read_fields
from tracking.entities import VIEW_TYPES
from tracking.keys import EXPERIMENTS


async def create_experiment(request: web.Request) -> web.Response:
    body = await read_fields(request)
    experiment_id = await request.app[EXPERIMENTS].create(
        body.string("name", required=True),
        body.string("artifact_location"),
        [(t.string("key"), t.string("value", default="")) for t in body.messages("tags")],
    )
    return json_response({"experiment_id": str(experiment_id)})


async def get_experiment(request: web.Request) -> web.Response:
    body = await read_fields(request)
    experiment = await request.app[EXPERIMENTS].get(body.string("experiment_id", required=True))
    return json_response({"experiment": experiment.to_dict()})


async def get_experiment_by_name(request: web.Request) -> web.Response:
    body = await read_fields(request)
    name = body.string("experiment_name", required=True)
    experiment = await request.app[EXPERIMENTS].get_by_name(name)
    return json_response({"experiment": experiment.to_dict()})


async def search_experiments(request: web.Request) -> web.Response:
    body = await read_fields(request)
    page = await request.app[EXPERIMENTS].search(
        filter_string=body.string("filter"),
        view_type=body.enum("view_type", VIEW_TYPES, default="ACTIVE_ONLY"),
        max_results=body.int64("max_results"),
        order_by=body.strings("order_by"),
        page_token=body.string("page_token"),
    )
    out: dict[str, bytes] = {}
    if page.count:
        out["experiments"] = page.experiments_json
    if page.next_page_token:
        out["next_page_token"] = orjson.dumps(page.next_page_token)
    return encoded_fields_response(out)


async def update_experiment(request: web.Request) -> web.Response:
    body = await read_fields(request)
    await request.app[EXPERIMENTS].rename(
        body.string("experiment_id", required=True), body.string("new_name", required=True)
    )
    return empty()


async def delete_experiment(request: web.Request) -> web.Response:
    body = await read_fields(request)
    await request.app[EXPERIMENTS].delete(body.string("experiment_id", required=True))
    return empty()


async def restore_experiment(request: web.Request) -> web.Response:
    body = await read_fields(request)
    await request.app[EXPERIMENTS].restore(body.string("experiment_id", required=True))
    return empty()


async def set_experiment_tag(request: web.Request) -> web.Response:
    body = await read_fields(request)
    await request.app[EXPERIMENTS].set_tag(
        body.string("experiment_id", required=True),
        body.string("key", required=True),
        body.string("value", default=""),
    )
    return empty()


async def delete_experiment_tag(request: web.Request) -> web.Response:
    body = await read_fields(request)
    await request.app[EXPERIMENTS].delete_tag(
        body.string("experiment_id", required=True), body.string("key", required=True)
    )
    return empty()
