"""Logged model endpoints (MLflow 3): create, get, finalize, tags, params, delete, search, and
the artifact listing and file download the UI uses."""

from typing import Any

from aiohttp import web

from tracking.api.downloads import send
from tracking.api.responses import empty, json_response
from tracking.api.wire import Fields, read_fields
from tracking.entities_models import LOGGED_MODEL_STATUSES
from tracking.errors import BadRequest, InvalidParameterValue, missing_value
from tracking.keys import LOGGED_MODELS
from tracking.services.logged_models import SearchRequest

# Finalizing to UNSPECIFIED (0) means nothing; the decoder numbers enums from 1.
_FINAL_STATUSES = LOGGED_MODEL_STATUSES[1:]


def _model_id(request: web.Request) -> str:
    return request.match_info["model_id"]


def _pairs(body: Fields, name: str) -> list[tuple[str, str]]:
    return [
        (m.string("key", default=""), m.string("value", default="")) for m in body.messages(name)
    ]


def _model(model: Any) -> web.Response:
    return json_response({"model": model.to_dict()})


async def create_logged_model(request: web.Request) -> web.Response:
    body = await read_fields(request)
    model = await request.app[LOGGED_MODELS].create(
        experiment_id=body.string("experiment_id", required=True),
        name=body.string("name") or None,
        # MLflow stores an absent model_type / source_run_id as "" and echoes it back.
        model_type=body.string("model_type", default=""),
        source_run_id=body.string("source_run_id", default=""),
        params=_pairs(body, "params"),
        tags=_pairs(body, "tags"),
    )
    return _model(model)


async def get_logged_model(request: web.Request) -> web.Response:
    allow_deleted = request.query.get("allow_deleted", "false").lower() == "true"
    model = await request.app[LOGGED_MODELS].get(_model_id(request), allow_deleted=allow_deleted)
    return _model(model)


async def finalize_logged_model(request: web.Request) -> web.Response:
    body = await read_fields(request)
    body.string("model_id", required=True)  # MLflow requires it in the body too
    status = body.enum("status", _FINAL_STATUSES)
    if status is None:
        raise missing_value("status")
    model = await request.app[LOGGED_MODELS].finalize(
        _model_id(request), LOGGED_MODEL_STATUSES.index(status)
    )
    return _model(model)


async def delete_logged_model(request: web.Request) -> web.Response:
    await request.app[LOGGED_MODELS].delete(_model_id(request))
    return empty()


async def set_logged_model_tags(request: web.Request) -> web.Response:
    body = await read_fields(request)
    await request.app[LOGGED_MODELS].set_tags(_model_id(request), _pairs(body, "tags"))
    return empty()


async def delete_logged_model_tag(request: web.Request) -> web.Response:
    await request.app[LOGGED_MODELS].delete_tag(_model_id(request), request.match_info["tag_key"])
    return empty()


async def log_logged_model_params(request: web.Request) -> web.Response:
    body = await read_fields(request)
    body.string("model_id", required=True)  # MLflow requires it in the body too
    await request.app[LOGGED_MODELS].log_params(_model_id(request), _pairs(body, "params"))
    return empty()


def _datasets(body: Fields) -> list[tuple[str, str | None]]:
    datasets = [
        (d.string("dataset_name", default=""), d.string("dataset_digest") or None)
        for d in body.messages("datasets")
    ]
    if not all(name for name, _ in datasets):
        raise InvalidParameterValue("`dataset_name` in the `datasets` clause must be specified.")
    return datasets


def _order_by(body: Fields) -> list[dict[str, Any]] | None:
    """MLflow's order_by dicts, exactly as its handler builds them (page tokens embed them)."""
    entries = [
        {
            "field_name": o.string("field_name", default=""),
            "ascending": o.boolean("ascending"),  # proto3 bool: absent is false
            "dataset_name": o.string("dataset_name") or None,
            "dataset_digest": o.string("dataset_digest") or None,
        }
        for o in body.messages("order_by")
    ]
    return entries or None


async def search_logged_models(request: web.Request) -> web.Response:
    body = await read_fields(request)
    if not body.has("experiment_ids"):
        raise missing_value("experiment_ids")
    page = await request.app[LOGGED_MODELS].search(
        SearchRequest(
            experiment_ids=body.ids("experiment_ids"),
            filter_string=body.string("filter") or None,
            datasets=_datasets(body),
            max_results=body.int32("max_results"),
            order_by=_order_by(body),
            page_token=body.string("page_token") or None,
        )
    )
    out: dict[str, Any] = {}
    if page.models:
        out["models"] = [m.to_dict() for m in page.models]
    if page.next_page_token:
        out["next_page_token"] = page.next_page_token
    return json_response(out)


async def list_logged_model_artifacts(request: web.Request) -> web.Response:
    # The path goes to the path gate as sent, so every unsafe form gets its "Invalid path".
    path = request.query.get("artifact_directory_path")
    root_uri, files = await request.app[LOGGED_MODELS].list_artifacts(_model_id(request), path)
    out: dict[str, Any] = {"root_uri": root_uri}
    if files:
        out["files"] = [f.to_dict() for f in files]
    return json_response(out)


async def get_logged_model_artifact(request: web.Request) -> web.StreamResponse:
    path = request.query.get("artifact_file_path")
    if not path:
        raise BadRequest('Request must include the "artifact_file_path" query parameter.')
    name, download = await request.app[LOGGED_MODELS].open_artifact(_model_id(request), path)
    return await send(request, name, download)
