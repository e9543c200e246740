"""Ajax-only calls the UI makes besides the tracking API: telemetry, gateway, GenAI panels.

Telemetry is off, no AI gateway is configured, and the MLflow 3 GenAI features (traces, issues,
scorers, evaluation datasets, the assistant) do not exist here yet: their list and search calls
get the empty answers a stock server with nothing logged gives, so those panels render empty.
"""

from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from tracking.api.responses import json_response

V2 = "/ajax-api/2.0/mlflow"
V3 = "/ajax-api/3.0/mlflow"

# As MLflow's FALLBACK_UI_CONFIG, what its server answers when telemetry is disabled.
TELEMETRY_OFF = {"disable_ui_telemetry": True, "disable_ui_events": [], "ui_rollout_percentage": 0}


async def get_ui_telemetry(request: web.Request) -> web.Response:
    return json_response(TELEMETRY_OFF)


async def post_ui_telemetry(request: web.Request) -> web.Response:
    return json_response({"status": "disabled"})


async def gateway_proxy(request: web.Request) -> web.Response:
    # MLflow without MLFLOW_DEPLOYMENTS_TARGET: "pretend an empty gateway service is running".
    return json_response({"endpoints": []})


def _empty(payload: dict[str, Any]) -> Handler:
    async def empty_result(request: web.Request) -> web.Response:
        return json_response(payload)

    return empty_result


# (methods, path, empty answer), paths as the UI build calls them.
EMPTY_RESULTS: list[tuple[tuple[str, ...], str, dict[str, Any]]] = [
    (("GET",), V2 + "/traces", {"traces": []}),
    (("POST",), V3 + "/traces/search", {"traces": []}),
    (("POST",), V3 + "/traces/metrics", {"data_points": []}),
    (("POST",), V3 + "/issues/search", {"issues": []}),
    (("GET",), V3 + "/scorers/list", {"scorers": []}),
    (("GET", "POST"), V3 + "/datasets/search", {"datasets": []}),
    (("GET",), V3 + "/label-schemas/list", {"label_schemas": []}),
    (("GET",), V3 + "/review-queues/list", {"review_queues": []}),
    (("GET", "POST"), V3 + "/prompt-optimization/jobs/search", {"jobs": []}),
    (("GET",), V3 + "/gateway/endpoints/list", {"endpoints": []}),
    (("GET",), V3 + "/gateway/secrets/list", {"secrets": []}),
    (("GET",), V3 + "/gateway/model-definitions/list", {"model_definitions": []}),
    (("GET",), V3 + "/gateway/budgets/list", {"budget_policies": []}),
    (("GET",), V3 + "/gateway/guardrails/list", {"guardrails": []}),
    # The MLflow Assistant side panel, with no provider configured.
    (
        ("GET",),
        V3 + "/assistant/config",
        {"providers": {}, "projects": {}, "remote_access_allowed": False},
    ),
    (
        ("GET",),
        V3 + "/assistant/providers",
        {"providers": [], "resolved": None, "gateway_vendor_options": {}},
    ),
]


def add_extra_routes(router: web.UrlDispatcher) -> None:
    router.add_get(V3 + "/ui-telemetry", get_ui_telemetry)
    router.add_post(V3 + "/ui-telemetry", post_ui_telemetry)
    router.add_get(V2 + "/gateway-proxy", gateway_proxy)
    router.add_post(V2 + "/gateway-proxy", gateway_proxy)
    for methods, path, payload in EMPTY_RESULTS:
        for method in methods:
            router.add_route(method, path, _empty(payload))
