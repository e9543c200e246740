"""Streaming an artifact to the client as an attachment, with MLflow's content types."""

import mimetypes
import posixpath
import unicodedata
from urllib.parse import quote

from aiohttp import web

from tracking.artifacts.base import Download

# Served as text/plain, as MLflow does, so the UI previews them and browsers never run them.
TEXT_EXTENSIONS = frozenset(
    {
        *("txt", "log", "err", "cfg", "conf", "cnf", "cf", "ini", "properties", "prop"),
        *("hocon", "toml", "yaml", "yml", "xml", "json", "js", "py", "py3", "csv", "tsv"),
        *("md", "rst", "ipynb", "MLmodel", "MLproject"),
    }
)


def content_type(name: str) -> str:
    base = posixpath.basename(name)
    extension = posixpath.splitext(base)[1].lstrip(".") or base
    if extension in TEXT_EXTENSIONS:
        return "text/plain"
    return mimetypes.guess_type(base)[0] or "application/octet-stream"


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def content_disposition(name: str) -> str:
    """RFC 6266 attachment; non-ASCII names get an ASCII fallback and a filename* parameter."""
    base = posixpath.basename(name)
    try:
        base.encode("ascii")
    except UnicodeEncodeError:
        fallback = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode()
        encoded = quote(base, safe="!#$&+-.^_`|~")
        return f"attachment; filename={_quoted(fallback or 'download')}; filename*=UTF-8''{encoded}"
    return f"attachment; filename={_quoted(base)}"


async def send(request: web.Request, name: str, download: Download) -> web.StreamResponse:
    try:
        response = web.StreamResponse(
            headers={
                "Content-Type": content_type(name),
                "Content-Disposition": content_disposition(name),
                "X-Content-Type-Options": "nosniff",
            }
        )
        response.content_length = download.size
        await response.prepare(request)
        async for chunk in download:
            await response.write(chunk)
        await response.write_eof()
        return response
    finally:
        await download.aclose()
