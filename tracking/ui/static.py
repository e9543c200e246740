"""`/` and `/static-files/...`: the installed React build, with cache headers fit for it."""

import asyncio
import os
import re
from pathlib import Path

from aiohttp import web

from tracking.artifacts.paths import validate
from tracking.errors import InvalidParameterValue
from tracking.keys import UI_BUILD_DIR
from tracking.ui.build import install_hint, is_installed

# Webpack names every asset after its content hash (main.c2f5f8d4.js, 1234.5a6b7c8d.chunk.css):
# such a file never changes under its name. Everything else (index.html, manifest.json,
# favicon.ico) is revalidated.
_HASHED = re.compile(r"\.[0-9a-f]{8,}\.")
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


def cache_control(relative: str) -> str:
    return IMMUTABLE if _HASHED.search(relative.rsplit("/", 1)[-1]) else REVALIDATE


def contained_file(root: Path, raw: str) -> Path | None:
    """The regular file `raw` names inside `root`, never one reached through a symlink."""
    try:
        relative = validate(raw)
    except InvalidParameterValue:
        return None
    if not relative:
        return None
    path = root.joinpath(*relative.split("/"))
    real_root = os.path.realpath(root)
    if os.path.realpath(path) != os.path.join(real_root, *relative.split("/")):
        return None
    return path if path.is_file() else None


async def index(request: web.Request) -> web.StreamResponse:
    root = request.app[UI_BUILD_DIR]
    if not await asyncio.to_thread(is_installed, root):
        return web.Response(text=install_hint(root), content_type="text/plain")
    return web.FileResponse(root / "index.html", headers={"Cache-Control": REVALIDATE})


async def static_file(request: web.Request) -> web.StreamResponse:
    relative = request.match_info["path"]
    path = await asyncio.to_thread(contained_file, request.app[UI_BUILD_DIR], relative)
    if path is None:
        raise web.HTTPNotFound(text="Not Found")
    return web.FileResponse(path, headers={"Cache-Control": cache_control(relative)})
