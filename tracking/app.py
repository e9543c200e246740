"""Application factory: middlewares, routes and the lifecycle of shared resources."""

import asyncio
from collections.abc import AsyncIterator

from aiohttp import web

from tracking.api.routes import add_routes
from tracking.artifacts.roots import ArtifactRoots
from tracking.config import Settings
from tracking.errors import error_middleware
from tracking.keys import (
    ARTIFACT_ROOTS,
    ARTIFACTS,
    DATABASE,
    DATASETS,
    EXPERIMENTS,
    LOGGED_MODELS,
    METRICS,
    MODEL_VERSIONS,
    REGISTERED_MODELS,
    RUN_DATA,
    RUNS,
    SETTINGS,
)
from tracking.services.artifacts import ArtifactService
from tracking.services.datasets import DatasetService
from tracking.services.experiments import ExperimentService
from tracking.services.logged_models import LoggedModelService
from tracking.services.metrics import MetricService
from tracking.services.registry import RegisteredModelService
from tracking.services.registry_versions import ModelVersionService
from tracking.services.run_data import RunDataService
from tracking.services.runs import RunService
from tracking.store import migrate
from tracking.store.database import Database
from tracking.ui.routes import add_ui_routes, mount


async def database(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    if settings.should_migrate:
        await asyncio.to_thread(migrate.upgrade, settings.backend_store_uri)
    db = Database(
        settings.backend_store_uri,
        pool_size=settings.db_pool_size,
        max_batch_ops=settings.max_batch_ops,
    )
    try:
        await migrate.check_schema(db.reader, settings.backend_store_uri)
    except BaseException:
        await db.close()
        raise
    await db.start()
    app[DATABASE] = db
    yield
    await db.close()


async def artifact_roots(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    roots = await ArtifactRoots.open(settings.artifacts_destination, settings.artifact_roots)
    app[ARTIFACT_ROOTS] = roots
    yield
    await roots.close()


async def services(app: web.Application) -> AsyncIterator[None]:
    db = app[DATABASE]
    roots = app[ARTIFACT_ROOTS]
    experiments = ExperimentService(db, app[SETTINGS].default_artifact_root, roots.check_location)
    await experiments.ensure_default()
    app[EXPERIMENTS] = experiments
    app[RUNS] = RunService(db)
    app[RUN_DATA] = RunDataService(db)
    app[METRICS] = MetricService(db)
    app[DATASETS] = DatasetService(db)
    app[ARTIFACTS] = ArtifactService(db, roots)
    app[LOGGED_MODELS] = LoggedModelService(db, roots)
    app[REGISTERED_MODELS] = RegisteredModelService(db)
    app[MODEL_VERSIONS] = ModelVersionService(db, roots)
    yield


def create_app(settings: Settings) -> web.Application:
    app = web.Application(client_max_size=settings.max_body_bytes, middlewares=[error_middleware])
    app[SETTINGS] = settings
    app.cleanup_ctx.append(database)
    app.cleanup_ctx.append(artifact_roots)
    app.cleanup_ctx.append(services)
    add_ui_routes(app)  # before add_routes: its catch-alls would shadow the UI's ajax extras
    add_routes(app)
    return mount(app)
