"""Every typed application key, in one place."""

from pathlib import Path

from aiohttp import web
from graphql import GraphQLSchema

from tracking.artifacts.roots import ArtifactRoots
from tracking.config import Settings
from tracking.services.artifacts import ArtifactService
from tracking.services.datasets import DatasetService
from tracking.services.experiments import ExperimentService
from tracking.services.logged_models import LoggedModelService
from tracking.services.metrics import MetricService
from tracking.services.registry import RegisteredModelService
from tracking.services.registry_versions import ModelVersionService
from tracking.services.run_data import RunDataService
from tracking.services.runs import RunService
from tracking.store.database import Database
from tracking.ui.graphql_limits import Limits

SETTINGS = web.AppKey("settings", Settings)
DATABASE = web.AppKey("database", Database)
EXPERIMENTS = web.AppKey("experiments", ExperimentService)
RUNS = web.AppKey("runs", RunService)
RUN_DATA = web.AppKey("run_data", RunDataService)
METRICS = web.AppKey("metrics", MetricService)
DATASETS = web.AppKey("datasets", DatasetService)
ARTIFACT_ROOTS = web.AppKey("artifact_roots", ArtifactRoots)
ARTIFACTS = web.AppKey("artifacts", ArtifactService)
LOGGED_MODELS = web.AppKey("logged_models", LoggedModelService)
REGISTERED_MODELS = web.AppKey("registered_models", RegisteredModelService)
MODEL_VERSIONS = web.AppKey("model_versions", ModelVersionService)
UI_BUILD_DIR = web.AppKey("ui_build_dir", Path)
GRAPHQL_SCHEMA = web.AppKey("graphql_schema", GraphQLSchema)
GRAPHQL_LIMITS = web.AppKey("graphql_limits", Limits)
