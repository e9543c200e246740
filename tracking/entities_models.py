"""Logged models (MLflow 3's LoggedModel) in MLflow's proto-JSON shape."""

from dataclasses import dataclass, field
from typing import Any

from tracking.entities import Metric, key_values

# LoggedModelStatus by its proto number; MLflow stores the number.
LOGGED_MODEL_STATUSES = (
    "LOGGED_MODEL_STATUS_UNSPECIFIED",
    "LOGGED_MODEL_PENDING",
    "LOGGED_MODEL_READY",
    "LOGGED_MODEL_UPLOAD_FAILED",
)
PENDING = 1


@dataclass(frozen=True, slots=True)
class ModelMetric:
    """A metric point linked to a model; unlike a run's metric it names its run."""

    metric: Metric
    run_id: str

    def to_dict(self) -> dict[str, Any]:
        return {**self.metric.to_dict(), "run_id": self.run_id}


@dataclass(frozen=True, slots=True)
class LoggedModelInfo:
    model_id: str
    experiment_id: int
    name: str
    artifact_uri: str
    creation_timestamp: int
    last_updated_timestamp: int
    status: int
    lifecycle_stage: str
    model_type: str | None
    source_run_id: str | None
    status_message: str | None


@dataclass(frozen=True, slots=True)
class LoggedModel:
    info: LoggedModelInfo
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    metrics: list[ModelMetric] = field(default_factory=list)

    @property
    def model_id(self) -> str:
        return self.info.model_id

    def to_dict(self) -> dict[str, Any]:
        info = self.info
        out: dict[str, Any] = {
            "model_id": info.model_id,
            "experiment_id": str(info.experiment_id),
            "name": info.name,
            "creation_timestamp_ms": info.creation_timestamp,
            "last_updated_timestamp_ms": info.last_updated_timestamp,
            "artifact_uri": info.artifact_uri,
            "status": _status_name(info.status),
        }
        # MLflow stores the request's "" for an absent model_type/source_run_id and echoes it.
        if info.model_type is not None:
            out["model_type"] = info.model_type
        if info.source_run_id is not None:
            out["source_run_id"] = info.source_run_id
        if info.status_message is not None:
            out["status_message"] = info.status_message
        if self.tags:
            out["tags"] = key_values(self.tags)
        data: dict[str, Any] = {}
        if self.params:
            data["params"] = key_values(self.params)
        if self.metrics:
            data["metrics"] = [m.to_dict() for m in self.metrics]
        return {"info": out, "data": data}


def _status_name(status: int) -> str:
    if 0 <= status < len(LOGGED_MODEL_STATUSES):
        return LOGGED_MODEL_STATUSES[status]
    return LOGGED_MODEL_STATUSES[0]
