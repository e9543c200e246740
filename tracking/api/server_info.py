"""Health, version and server-info endpoints."""

from aiohttp import web

from tracking import MLFLOW_COMPAT_VERSION
from tracking.api.responses import json_response


async def health(request: web.Request) -> web.Response:
    return web.Response(text="OK")


async def version(request: web.Request) -> web.Response:
    return web.Response(text=MLFLOW_COMPAT_VERSION)


async def server_info(request: web.Request) -> web.Response:
    # Artifacts are served by this server (the mlflow-artifacts proxy); uploads and downloads
    # are plain PUT/GET, without multipart or presigned URLs.
    return json_response(
        {
            "store_type": "SqlStore",
            "workspaces_enabled": False,
            "trace_archival_enabled": False,
            "multipart_uploads_enabled": False,
            "multipart_downloads_enabled": False,
            "presigned_upload_run_id_supported": False,
            "presigned_upload_model_id_supported": False,
            "features_enabled": {"gateway": False},
        }
    )
