"""Artifact endpoints: the mlflow-artifacts proxy, run listings, and the UI's get/upload."""

from aiohttp import web

from tracking.api.downloads import send
from tracking.api.responses import empty, json_response
from tracking.api.wire import read_fields
from tracking.artifacts.base import CHUNK_BYTES, FileInfo
from tracking.errors import InvalidParameterValue, NotImplementedYet, missing_value
from tracking.keys import ARTIFACTS
from tracking.services.artifacts import MAX_UI_UPLOAD_BYTES


def _files(files: list[FileInfo]) -> dict[str, object]:
    return {"files": [f.to_dict() for f in files]} if files else {}


# -- /api/2.0/mlflow-artifacts/artifacts: paths relative to the artifacts destination --


async def proxy_upload(request: web.Request) -> web.Response:
    chunks = request.content.iter_chunked(CHUNK_BYTES)
    await request.app[ARTIFACTS].upload(request.match_info["path"], chunks)
    return empty()


async def proxy_get(request: web.Request) -> web.StreamResponse:
    path = request.match_info.get("path", "")
    if not path:  # GET .../artifacts?path=<dir> lists
        return await proxy_list(request)
    name, download = await request.app[ARTIFACTS].download(path)
    return await send(request, name, download)


async def proxy_list(request: web.Request) -> web.Response:
    files = await request.app[ARTIFACTS].list_dir(request.query.get("path"))
    return json_response(_files(files))


async def proxy_delete(request: web.Request) -> web.Response:
    await request.app[ARTIFACTS].delete(request.match_info.get("path") or request.query.get("path"))
    return empty()


async def not_implemented(request: web.Request) -> web.Response:
    raise NotImplementedYet(
        "Multipart uploads and presigned URLs are not supported by this server; "
        "upload with a plain PUT (server-info says so)"
    )


# -- tracking-side endpoints: paths relative to a run's artifact_uri --


async def list_run_artifacts(request: web.Request) -> web.Response:
    body = await read_fields(request)
    # The path goes to the path gate as sent, so every unsafe form gets its "Invalid path".
    path = request.query.get("path")
    root_uri, files = await request.app[ARTIFACTS].list_run(body.run_id(), path)
    return json_response({"root_uri": root_uri, **_files(files)})


async def get_artifact(request: web.Request) -> web.StreamResponse:
    query = request.query
    run_id = query.get("run_id") or query.get("run_uuid")
    if not run_id:
        raise missing_value("run_id")
    if "path" not in query:
        raise missing_value("path")
    name, download = await request.app[ARTIFACTS].open_run_file(run_id, query["path"])
    return await send(request, name, download)


async def upload_artifact(request: web.Request) -> web.Response:
    query = request.query
    run_id = query.get("run_uuid") or query.get("run_id")
    if not run_id:
        raise InvalidParameterValue("Request must specify run_uuid.")
    if not query.get("path"):
        raise InvalidParameterValue("Request must specify path.")
    data = await _read_at_most(request, MAX_UI_UPLOAD_BYTES)
    await request.app[ARTIFACTS].upload_run_file(run_id, query["path"], data)
    return empty()


async def _read_at_most(request: web.Request, limit: int) -> bytes:
    too_large = InvalidParameterValue("Artifact size is too large. Max size is 10MB.")
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    data = bytearray()
    async for chunk in request.content.iter_chunked(CHUNK_BYTES):
        data += chunk
        if len(data) > limit:
            raise too_large
    return bytes(data)
