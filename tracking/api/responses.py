"""JSON responses encoded with orjson."""

from typing import Any

import orjson
from aiohttp import web


def json_response(payload: dict[str, Any]) -> web.Response:
    return web.Response(body=orjson.dumps(payload), content_type="application/json")


EMPTY = b"{}"


def empty() -> web.Response:
    return web.Response(body=EMPTY, content_type="application/json")
