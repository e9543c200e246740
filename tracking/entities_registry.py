"""Registered models and model versions in MLflow's proto-JSON shape (model_registry.proto)."""

from dataclasses import dataclass, field
from typing import Any

from tracking.entities import key_values

STAGE_NONE = "None"
STAGE_STAGING = "Staging"
STAGE_PRODUCTION = "Production"
STAGE_ARCHIVED = "Archived"
# MLflow keeps deleted versions as redacted rows in this stage, so version numbers never repeat.
STAGE_DELETED = "Deleted_Internal"
ALL_STAGES = (STAGE_NONE, STAGE_STAGING, STAGE_PRODUCTION, STAGE_ARCHIVED)
ACTIVE_STAGES = (STAGE_STAGING, STAGE_PRODUCTION)
READY = "READY"

IS_PROMPT_TAG = "mlflow.prompt.is_prompt"
MODEL_VERSIONS_TAG = "mlflow.modelVersions"  # on a logged model: the versions made from it


@dataclass(frozen=True, slots=True)
class ModelVersion:
    name: str
    version: int
    creation_timestamp: int
    last_updated_timestamp: int | None
    description: str | None
    user_id: str | None
    current_stage: str
    source: str | None
    storage_location: str | None
    run_id: str | None
    run_link: str | None
    status: str
    status_message: str | None
    model_id: str | None
    tags: dict[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()

    @property
    def download_uri(self) -> str:
        return self.storage_location or self.source or ""

    def to_dict(self) -> dict[str, Any]:
        """MLflow's ModelVersion.to_proto: optional fields present when not None."""
        out: dict[str, Any] = {
            "name": self.name,
            "version": str(self.version),
            "creation_timestamp": self.creation_timestamp,
        }
        optional = (
            ("last_updated_timestamp", self.last_updated_timestamp),
            ("user_id", self.user_id),
            ("current_stage", self.current_stage),
            ("description", self.description),
            ("source", self.source),
            ("run_id", self.run_id),
            ("status", self.status),
        )
        out.update((k, v) for k, v in optional if v is not None)
        if self.status_message:
            out["status_message"] = self.status_message
        if self.tags:
            out["tags"] = key_values(self.tags)
        if self.run_link is not None:
            out["run_link"] = self.run_link
        if self.aliases:
            out["aliases"] = list(self.aliases)
        if self.model_id:
            out["model_id"] = self.model_id
        return out


@dataclass(frozen=True, slots=True)
class RegisteredModel:
    name: str
    creation_timestamp: int
    last_updated_timestamp: int | None
    description: str | None
    latest_versions: list[ModelVersion] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)

    @property
    def is_prompt(self) -> bool:
        return self.tags.get(IS_PROMPT_TAG, "false").lower() == "true"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "creation_timestamp": self.creation_timestamp}
        if self.last_updated_timestamp:
            out["last_updated_timestamp"] = self.last_updated_timestamp
        if self.description:
            out["description"] = self.description
        if self.latest_versions:
            out["latest_versions"] = [v.to_dict() for v in self.latest_versions]
        if self.tags:
            out["tags"] = key_values(self.tags)
        if self.aliases:
            out["aliases"] = [{"alias": a, "version": str(v)} for a, v in self.aliases.items()]
        return out
