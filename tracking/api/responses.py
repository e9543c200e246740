"""JSON responses encoded with orjson."""

from typing import Any

import orjson
from aiohttp import web


def json_response(payload: dict[str, Any]) -> web.Response:
    return web.Response(body=orjson.dumps(payload), content_type="application/json")


EMPTY = b"{}"


def empty() -> web.Response:
    return web.Response(body=EMPTY, content_type="application/json")


def encoded_fields_response(fields: dict[str, bytes]) -> web.Response:
    """A JSON object whose field values are already encoded JSON."""
    parts = [orjson.dumps(name) + b":" + value for name, value in fields.items()]
    return web.Response(body=b"{" + b",".join(parts) + b"}", content_type="application/json")
