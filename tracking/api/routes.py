"""The route table: every MLflow RPC under both the REST and the ajax prefixes."""

from aiohttp import web
from aiohttp.typedefs import Handler

from tracking.api import (
    artifacts,
    experiments,
    logged_models,
    metrics,
    registry,
    registry_versions,
    run_data,
    runs,
    server_info,
)
from tracking.errors import EndpointNotFound, MethodNotAllowed

PREFIXES = ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow")
AJAX_PREFIX = "/ajax-api/2.0/mlflow"

# (methods, path, handler) for routes served under both prefixes.
TRACKING: list[tuple[tuple[str, ...], str, Handler]] = [
    (("POST",), "/experiments/create", experiments.create_experiment),
    (("GET",), "/experiments/get", experiments.get_experiment),
    (("GET",), "/experiments/get-by-name", experiments.get_experiment_by_name),
    (("GET", "POST"), "/experiments/search", experiments.search_experiments),
    (("POST",), "/experiments/update", experiments.update_experiment),
    (("POST",), "/experiments/delete", experiments.delete_experiment),
    (("POST",), "/experiments/restore", experiments.restore_experiment),
    (("POST",), "/experiments/set-experiment-tag", experiments.set_experiment_tag),
    (("POST",), "/experiments/delete-experiment-tag", experiments.delete_experiment_tag),
    (("POST",), "/runs/create", runs.create_run),
    (("GET",), "/runs/get", runs.get_run),
    (("POST",), "/runs/update", runs.update_run),
    (("POST",), "/runs/delete", runs.delete_run),
    (("POST",), "/runs/restore", runs.restore_run),
    (("POST",), "/runs/search", runs.search_runs),
    (("POST",), "/runs/log-metric", run_data.log_metric),
    (("POST",), "/runs/log-parameter", run_data.log_param),
    (("POST",), "/runs/set-tag", run_data.set_tag),
    (("POST",), "/runs/delete-tag", run_data.delete_tag),
    (("POST",), "/runs/log-batch", run_data.log_batch),
    (("POST",), "/runs/log-inputs", run_data.log_inputs),
    (("POST",), "/runs/outputs", run_data.log_outputs),
    (("GET",), "/metrics/get-history", metrics.get_metric_history),
    (("GET",), "/metrics/get-history-bulk-interval", metrics.get_metric_history_bulk_interval),
    (("GET",), "/artifacts/list", artifacts.list_run_artifacts),
    (("POST",), "/logged-models", logged_models.create_logged_model),
    (("POST",), "/logged-models/search", logged_models.search_logged_models),
]

# Routes MLflow serves to its web UI only.
AJAX_ONLY: list[tuple[tuple[str, ...], str, Handler]] = [
    (("GET",), "/metrics/get-history-bulk", metrics.get_metric_history_bulk),
    (("POST",), "/experiments/search-datasets", metrics.search_datasets),
    (("POST",), "/upload-artifact", artifacts.upload_artifact),
]

# MLflow 3's REST-style routes naming a resource in the path: (prefixes, methods, path, handler).
# Kept apart from the tables above, whose every path answers a request with an empty body.
BY_PATH: list[tuple[tuple[str, ...], tuple[str, ...], str, Handler]] = [
    (PREFIXES, ("GET",), "/logged-models/{model_id}", logged_models.get_logged_model),
    (PREFIXES, ("PATCH",), "/logged-models/{model_id}", logged_models.finalize_logged_model),
    (PREFIXES, ("DELETE",), "/logged-models/{model_id}", logged_models.delete_logged_model),
    (
        PREFIXES,
        ("PATCH",),
        "/logged-models/{model_id}/tags",
        logged_models.set_logged_model_tags,
    ),
    (
        PREFIXES,
        ("DELETE",),
        "/logged-models/{model_id}/tags/{tag_key}",
        logged_models.delete_logged_model_tag,
    ),
    (
        PREFIXES,
        ("POST",),
        "/logged-models/{model_id}/params",
        logged_models.log_logged_model_params,
    ),
    (
        PREFIXES,
        ("GET",),
        "/logged-models/{model_id}/artifacts/directories",
        logged_models.list_logged_model_artifacts,
    ),
    (
        (AJAX_PREFIX,),
        ("GET",),
        "/logged-models/{model_id}/artifacts/files",
        logged_models.get_logged_model_artifact,
    ),
]

# The model registry, under both prefixes (methods as in model_registry.proto).
REGISTRY: list[tuple[tuple[str, ...], str, Handler]] = [
    (("POST",), "/registered-models/create", registry.create_registered_model),
    (("POST",), "/registered-models/rename", registry.rename_registered_model),
    (("PATCH",), "/registered-models/update", registry.update_registered_model),
    (("DELETE",), "/registered-models/delete", registry.delete_registered_model),
    (("GET",), "/registered-models/get", registry.get_registered_model),
    (("GET",), "/registered-models/search", registry.search_registered_models),
    (("GET", "POST"), "/registered-models/get-latest-versions", registry.get_latest_versions),
    (("POST",), "/registered-models/set-tag", registry.set_registered_model_tag),
    (("DELETE",), "/registered-models/delete-tag", registry.delete_registered_model_tag),
    (("POST",), "/registered-models/alias", registry.set_registered_model_alias),
    (("DELETE",), "/registered-models/alias", registry.delete_registered_model_alias),
    (("GET",), "/registered-models/alias", registry.get_model_version_by_alias),
    (("POST",), "/model-versions/create", registry_versions.create_model_version),
    (("PATCH",), "/model-versions/update", registry_versions.update_model_version),
    (
        ("POST",),
        "/model-versions/transition-stage",
        registry_versions.transition_model_version_stage,
    ),
    (("DELETE",), "/model-versions/delete", registry_versions.delete_model_version),
    (("GET",), "/model-versions/get", registry_versions.get_model_version),
    (("GET",), "/model-versions/search", registry_versions.search_model_versions),
    (
        ("GET",),
        "/model-versions/get-download-uri",
        registry_versions.get_model_version_download_uri,
    ),
    (("POST",), "/model-versions/set-tag", registry_versions.set_model_version_tag),
    (("DELETE",), "/model-versions/delete-tag", registry_versions.delete_model_version_tag),
]

ARTIFACT_PREFIXES = ("/api/2.0/mlflow-artifacts", "/ajax-api/2.0/mlflow-artifacts")

# The mlflow-artifacts proxy; paths are relative to the artifacts destination.
PROXY: list[tuple[str, str, Handler]] = [
    ("GET", "/artifacts", artifacts.proxy_list),
    ("GET", "/artifacts/{path:[\\s\\S]*}", artifacts.proxy_get),
    ("PUT", "/artifacts/{path:[\\s\\S]*}", artifacts.proxy_upload),
    ("DELETE", "/artifacts", artifacts.proxy_delete),
    ("DELETE", "/artifacts/{path:[\\s\\S]*}", artifacts.proxy_delete),
    ("POST", "/mpu/create/{path:[\\s\\S]*}", artifacts.not_implemented),
    ("POST", "/mpu/complete/{path:[\\s\\S]*}", artifacts.not_implemented),
    ("POST", "/mpu/abort/{path:[\\s\\S]*}", artifacts.not_implemented),
    ("GET", "/presigned/{path:[\\s\\S]*}", artifacts.not_implemented),
]


def _fallback(known: dict[str, set[str]]) -> Handler:
    """Unknown paths under an API prefix are JSON 404s; known paths with a wrong method 405s."""

    async def endpoint_not_found(request: web.Request) -> web.Response:
        allowed = known.get(request.path)
        if allowed:
            raise MethodNotAllowed(
                f"Method {request.method} is not allowed for {request.path}; "
                f"allowed: {', '.join(sorted(allowed))}"
            )
        raise EndpointNotFound(f"No API endpoint {request.method} {request.path}")

    return endpoint_not_found


def add_routes(app: web.Application) -> None:
    router = app.router
    for prefix in PREFIXES:
        for methods, path, handler in TRACKING:
            for method in methods:
                router.add_route(method, prefix + path, handler)
    for prefix in PREFIXES:
        for methods, path, handler in REGISTRY:
            for method in methods:
                router.add_route(method, prefix + path, handler)
    for methods, path, handler in AJAX_ONLY:
        for method in methods:
            router.add_route(method, AJAX_PREFIX + path, handler)
    for prefixes, methods, path, handler in BY_PATH:
        for prefix in prefixes:
            for method in methods:
                router.add_route(method, prefix + path, handler)
    for prefix in ARTIFACT_PREFIXES:
        for method, path, handler in PROXY:
            router.add_route(method, prefix + path, handler)
    router.add_get("/get-artifact", artifacts.get_artifact)
    router.add_get("/model-versions/get-artifact", registry_versions.get_model_version_artifact)
    for prefix in ("/api/3.0/mlflow", "/ajax-api/3.0/mlflow"):
        router.add_get(prefix + "/server-info", server_info.server_info)
    router.add_get("/health", server_info.health)
    router.add_get("/version", server_info.version)
    known: dict[str, set[str]] = {}
    for route in router.routes():
        info = route.resource.get_info() if route.resource else {}
        if "path" in info:
            known.setdefault(info["path"], set()).add(route.method)
    fallback = _fallback(known)
    for prefix in ("/api", "/ajax-api"):
        router.add_route("*", prefix + "/{tail:.*}", fallback)
