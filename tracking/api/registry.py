"""Registered model endpoints: CRUD, search, latest versions, tags and aliases."""

from typing import Any

from aiohttp import web

from tracking.api.responses import empty, json_response
from tracking.api.wire import Fields, invalid_value, read_fields
from tracking.entities_registry import RegisteredModel
from tracking.errors import InvalidParameterValue
from tracking.keys import REGISTERED_MODELS

MAX_SEARCH_RESULTS = 1000


def tag_pairs(body: Fields) -> list[tuple[str, Any]]:
    return [(t.string("key"), t.string("value", default="")) for t in body.messages("tags")]


def version_field(body: Fields) -> str:
    """`version` is a proto string; a JSON number is accepted too, as protobuf's parser does."""
    try:
        return str(body.string("version", required=True))
    except InvalidParameterValue:
        return str(body.int64("version", required=True))


def max_results(body: Fields, threshold: int) -> int | None:
    value: int | None = body.int32("max_results")
    if value is not None and value > threshold:
        raise invalid_value("max_results", value)
    return value


def _model(model: RegisteredModel) -> web.Response:
    return json_response({"registered_model": model.to_dict()})


async def create_registered_model(request: web.Request) -> web.Response:
    body = await read_fields(request)
    model = await request.app[REGISTERED_MODELS].create(
        body.string("name", required=True),
        tag_pairs(body),
        body.string("description", default=""),  # MLflow stores the proto's ""
    )
    return _model(model)


async def get_registered_model(request: web.Request) -> web.Response:
    body = await read_fields(request)
    return _model(await request.app[REGISTERED_MODELS].get(body.string("name", required=True)))


async def update_registered_model(request: web.Request) -> web.Response:
    body = await read_fields(request)
    model = await request.app[REGISTERED_MODELS].update(
        body.string("name", required=True), body.string("description", default="")
    )
    return _model(model)


async def rename_registered_model(request: web.Request) -> web.Response:
    body = await read_fields(request)
    model = await request.app[REGISTERED_MODELS].rename(
        body.string("name", required=True), body.string("new_name", required=True)
    )
    return _model(model)


async def delete_registered_model(request: web.Request) -> web.Response:
    body = await read_fields(request)
    await request.app[REGISTERED_MODELS].delete(body.string("name", required=True))
    return empty()


async def search_registered_models(request: web.Request) -> web.Response:
    body = await read_fields(request)
    page = await request.app[REGISTERED_MODELS].search(
        body.string("filter") or None,
        max_results(body, MAX_SEARCH_RESULTS),
        body.strings("order_by"),
        body.string("page_token") or None,
    )
    out: dict[str, Any] = {}
    if page.models:
        out["registered_models"] = [m.to_dict() for m in page.models]
    if page.next_page_token:
        out["next_page_token"] = page.next_page_token
    return json_response(out)


async def get_latest_versions(request: web.Request) -> web.Response:
    body = await read_fields(request)
    versions = await request.app[REGISTERED_MODELS].get_latest_versions(
        body.string("name", required=True), body.strings("stages")
    )
    return json_response({"model_versions": [v.to_dict() for v in versions]} if versions else {})


async def set_registered_model_tag(request: web.Request) -> web.Response:
    body = await read_fields(request)
    await request.app[REGISTERED_MODELS].set_tag(
        body.string("name", required=True),
        body.string("key", required=True),
        body.string("value", default=""),
    )
    return empty()


async def delete_registered_model_tag(request: web.Request) -> web.Response:
    body = await read_fields(request)
    await request.app[REGISTERED_MODELS].delete_tag(
        body.string("name", required=True), body.string("key", required=True)
    )
    return empty()


async def set_registered_model_alias(request: web.Request) -> web.Response:
    body = await read_fields(request)
    name = body.string("name", required=True)
    alias = body.string("alias", required=True)
    await request.app[REGISTERED_MODELS].set_alias(name, alias, version_field(body))
    return empty()


async def delete_registered_model_alias(request: web.Request) -> web.Response:
    # The client sends DELETE with a JSON body; a query string is read for GET only.
    body = await read_fields(request)
    await request.app[REGISTERED_MODELS].delete_alias(
        body.string("name", required=True), body.string("alias", required=True)
    )
    return empty()


async def get_model_version_by_alias(request: web.Request) -> web.Response:
    body = await read_fields(request)
    version = await request.app[REGISTERED_MODELS].get_version_by_alias(
        body.string("name", required=True), body.string("alias", required=True)
    )
    return json_response({"model_version": version.to_dict()})
