"""Model version endpoints: create, get, update, stages, delete, search, tags, downloads."""

from typing import Any

from aiohttp import web

from tracking.api.downloads import send
from tracking.api.registry import max_results, tag_pairs, version_field
from tracking.api.responses import empty, json_response
from tracking.api.wire import Fields, read_fields
from tracking.entities_registry import ModelVersion
from tracking.errors import missing_value
from tracking.keys import MODEL_VERSIONS
from tracking.services.registry_versions import CreateRequest

MAX_SEARCH_RESULTS = 200_000


def _version(version: ModelVersion) -> web.Response:
    return json_response({"model_version": version.to_dict()})


def _name(body: Fields) -> str:
    return str(body.string("name", required=True))


async def create_model_version(request: web.Request) -> web.Response:
    body = await read_fields(request)
    version = await request.app[MODEL_VERSIONS].create(
        CreateRequest(
            name=_name(body),
            source=body.string("source", required=True),
            # None when absent: MLflow's lineage checks tell "absent" from "empty".
            run_id=body.string("run_id"),
            model_id=body.string("model_id"),
            tags=tag_pairs(body),
            run_link=body.string("run_link", default=""),
            description=body.string("description", default=""),
        )
    )
    return _version(version)


async def get_model_version(request: web.Request) -> web.Response:
    body = await read_fields(request)
    return _version(await request.app[MODEL_VERSIONS].get(_name(body), version_field(body)))


async def update_model_version(request: web.Request) -> web.Response:
    body = await read_fields(request)
    version = await request.app[MODEL_VERSIONS].update(
        _name(body), version_field(body), body.string("description")
    )
    return _version(version)


async def transition_model_version_stage(request: web.Request) -> web.Response:
    body = await read_fields(request)
    name, number = _name(body), version_field(body)
    version = await request.app[MODEL_VERSIONS].transition_stage(
        name,
        number,
        body.string("stage", required=True),
        body.boolean("archive_existing_versions"),
    )
    return _version(version)


async def delete_model_version(request: web.Request) -> web.Response:
    body = await read_fields(request)
    await request.app[MODEL_VERSIONS].delete(_name(body), version_field(body))
    return empty()


async def search_model_versions(request: web.Request) -> web.Response:
    body = await read_fields(request)
    page = await request.app[MODEL_VERSIONS].search(
        body.string("filter") or None,
        max_results(body, MAX_SEARCH_RESULTS),
        body.strings("order_by"),
        body.string("page_token") or None,
    )
    out: dict[str, Any] = {}
    if page.versions:
        out["model_versions"] = [v.to_dict() for v in page.versions]
    if page.next_page_token:
        out["next_page_token"] = page.next_page_token
    return json_response(out)


async def get_model_version_download_uri(request: web.Request) -> web.Response:
    body = await read_fields(request)
    uri = await request.app[MODEL_VERSIONS].download_uri(_name(body), version_field(body))
    return json_response({"artifact_uri": uri})


async def set_model_version_tag(request: web.Request) -> web.Response:
    body = await read_fields(request)
    name, number = _name(body), version_field(body)
    await request.app[MODEL_VERSIONS].set_tag(
        name, number, body.string("key", required=True), body.string("value", default="")
    )
    return empty()


async def delete_model_version_tag(request: web.Request) -> web.Response:
    body = await read_fields(request)
    name, number = _name(body), version_field(body)
    await request.app[MODEL_VERSIONS].delete_tag(name, number, body.string("key", required=True))
    return empty()


async def get_model_version_artifact(request: web.Request) -> web.StreamResponse:
    """GET /model-versions/get-artifact?name=&version=&path= at the server root (the UI's)."""
    query = request.query
    for required in ("name", "version", "path"):
        if not query.get(required):
            raise missing_value(required)
    name, download = await request.app[MODEL_VERSIONS].open_artifact(
        query["name"], query["version"], query["path"]
    )
    return await send(request, name, download)
