"""The UI's routes: the React build, `/graphql` and the ajax-only extras."""

from aiohttp import web

from tracking.api import server_info
from tracking.keys import GRAPHQL_LIMITS, GRAPHQL_SCHEMA, SETTINGS, UI_BUILD_DIR
from tracking.ui import extras, graphql_api, static
from tracking.ui.build import build_dir
from tracking.ui.graphql_limits import Limits
from tracking.ui.graphql_schema import make_schema


def add_ui_routes(app: web.Application) -> None:
    """Register before the API's catch-all routes. `/graphql` and the extras are there even with
    the UI turned off, as other clients of MLflow's server may use them."""
    settings = app[SETTINGS]
    app[GRAPHQL_SCHEMA] = make_schema()
    app[GRAPHQL_LIMITS] = Limits.from_env()
    router = app.router
    router.add_route("GET", "/graphql", graphql_api.graphql)
    router.add_route("POST", "/graphql", graphql_api.graphql)
    extras.add_extra_routes(router)
    if settings.ui_enabled:
        app[UI_BUILD_DIR] = build_dir(settings)
        router.add_get("/", static.index)
        router.add_get("/static-files/{path:.+}", static.static_file)


def mount(app: web.Application) -> web.Application:
    """MLflow's `--static-prefix`: the whole server (UI and API) under the prefix."""
    settings = app[SETTINGS]
    prefix = "/" + settings.static_prefix.strip("/") if settings.static_prefix.strip("/") else ""
    if not prefix:
        return app
    outer = web.Application(client_max_size=settings.max_body_bytes)

    async def to_slash(request: web.Request) -> web.Response:
        # index.html names its assets relatively: it must be served from a path ending in "/".
        raise web.HTTPFound(prefix + "/")

    outer.router.add_get(prefix, to_slash)
    # Also at the root (MLflow has it under the prefix only): probes and supervisors need not
    # know the prefix.
    outer.router.add_get("/health", server_info.health)
    outer.add_subapp(prefix, app)
    return outer
