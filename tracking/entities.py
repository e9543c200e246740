"""Frozen entities: the only things serialized to JSON, in MLflow's proto-JSON shape."""

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

ACTIVE = "active"
DELETED = "deleted"
RUN_STATUSES = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")
VIEW_TYPES = ("ACTIVE_ONLY", "DELETED_ONLY", "ALL")
# MLflow system tags the server itself reads or writes.
RUN_NAME_TAG = "mlflow.runName"  # kept in step with RunInfo.run_name
DATASET_CONTEXT_TAG = "mlflow.data.context"  # a dataset input's role (training, eval, ...)

# MLflow stores +-Infinity as the largest finite doubles; clients read those back.
FLOAT_MAX = 1.7976931348623157e308


def json_double(value: float) -> float | str:
    """Proto-JSON for a double: NaN and infinities are strings, the rest numbers."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def key_values(items: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in items.items()]


@dataclass(frozen=True, slots=True)
class Experiment:
    experiment_id: int
    name: str
    artifact_location: str
    lifecycle_stage: str
    creation_time: int
    last_update_time: int
    tags: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "experiment_id": str(self.experiment_id),
            "name": self.name,
            "artifact_location": self.artifact_location,
            "lifecycle_stage": self.lifecycle_stage,
            "last_update_time": self.last_update_time,
            "creation_time": self.creation_time,
        }
        if self.tags:
            out["tags"] = key_values(self.tags)
        return out


@dataclass(frozen=True, slots=True)
class Metric:
    key: str
    value: float
    timestamp: int
    step: int
    model_id: str | None = None
    dataset_name: str | None = None
    dataset_digest: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "key": self.key,
            "value": json_double(self.value),
            "timestamp": self.timestamp,
            "step": self.step,
        }
        if self.model_id:
            out["model_id"] = self.model_id
        if self.dataset_name:
            out["dataset_name"] = self.dataset_name
        if self.dataset_digest:
            out["dataset_digest"] = self.dataset_digest
        return out


PointRow = tuple[str, int, int, float, bool, str | None, str | None, str | None]


@dataclass(frozen=True, slots=True)
class MetricPoints:
    """Points of one metric key as stored rows, serialized without an entity per point.

    Histories run to hundreds of thousands of points; building a Metric and then a dict for
    each cost more than the query. A row is (run_id, timestamp, step, value, is_nan,
    model_id, dataset_name, dataset_digest); stored values are never infinite (see FLOAT_MAX).
    """

    key: str
    rows: Sequence[PointRow]

    def to_dicts(self, *, with_run_id: bool = False) -> list[dict[str, Any]]:
        key = self.key
        out: list[dict[str, Any]] = []
        for run_id, timestamp, step, value, is_nan, model_id, name, digest in self.rows:
            point: dict[str, Any] = {
                "key": key,
                "value": "NaN" if is_nan else value,
                "timestamp": timestamp,
                "step": step,
            }
            if model_id:
                point["model_id"] = model_id
            if name:
                point["dataset_name"] = name
            if digest:
                point["dataset_digest"] = digest
            if with_run_id:
                point["run_id"] = run_id
            out.append(point)
        return out

    def __len__(self) -> int:
        return len(self.rows)


@dataclass(frozen=True, slots=True)
class RunInfo:
    run_id: str
    experiment_id: int
    run_name: str
    user_id: str
    status: str
    start_time: int
    end_time: int | None
    artifact_uri: str
    lifecycle_stage: str

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "run_id": self.run_id,
            "run_uuid": self.run_id,
            "run_name": self.run_name,
            "experiment_id": str(self.experiment_id),
            "user_id": self.user_id,
            "status": self.status,
            "start_time": self.start_time,
            "artifact_uri": self.artifact_uri,
            "lifecycle_stage": self.lifecycle_stage,
        }
        if self.end_time is not None:
            out["end_time"] = self.end_time
        return out


@dataclass(frozen=True, slots=True)
class Dataset:
    name: str
    digest: str
    source_type: str
    source: str
    schema: str | None = None
    profile: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "digest": self.digest,
            "source_type": self.source_type,
            "source": self.source,
        }
        if self.schema is not None:
            out["schema"] = self.schema
        if self.profile is not None:
            out["profile"] = self.profile
        return out


@dataclass(frozen=True, slots=True)
class DatasetInput:
    dataset: Dataset
    tags: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"dataset": self.dataset.to_dict()}
        if self.tags:
            out["tags"] = key_values(self.tags)
        return out


@dataclass(frozen=True, slots=True)
class DatasetSummary:
    experiment_id: int
    name: str
    digest: str
    context: str | None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "experiment_id": str(self.experiment_id),
            "name": self.name,
            "digest": self.digest,
        }
        if self.context:
            out["context"] = self.context
        return out


@dataclass(frozen=True, slots=True)
class Run:
    info: RunInfo
    metrics: list[Metric] = field(default_factory=list)
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    dataset_inputs: list[DatasetInput] = field(default_factory=list)
    model_inputs: list[str] = field(default_factory=list)
    model_outputs: list[tuple[str, int]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.metrics:
            data["metrics"] = [m.to_dict() for m in self.metrics]
        if self.params:
            data["params"] = key_values(self.params)
        if self.tags:
            data["tags"] = key_values(self.tags)
        inputs: dict[str, Any] = {}
        if self.dataset_inputs:
            inputs["dataset_inputs"] = [d.to_dict() for d in self.dataset_inputs]
        if self.model_inputs:
            inputs["model_inputs"] = [{"model_id": m} for m in self.model_inputs]
        outputs: dict[str, Any] = {}
        if self.model_outputs:
            outputs["model_outputs"] = [{"model_id": m, "step": s} for m, s in self.model_outputs]
        return {"info": self.info.to_dict(), "data": data, "inputs": inputs, "outputs": outputs}
