"""MLflow's registry rules for names, versions, aliases, stages and tags (utils/validation.py)."""

import posixpath
import re

from tracking.entities_registry import ALL_STAGES
from tracking.errors import InvalidParameterValue, ResourceDoesNotExist, missing_value
from tracking.services.validation import (
    _path_not_unique,
    invalid_value,
    limit_length,
    validate_name,
)

MAX_NAME_LENGTH = 256  # the column; MLflow leaves it to the database
MAX_DESCRIPTION_LENGTH = 5000
MAX_TAG_KEY_LENGTH = 250
MAX_TAG_VALUE_LENGTH = 100_000
MAX_ALIAS_LENGTH = 255
INT32_MAX = 2**31 - 1
_ALIAS = re.compile(r"^[\w\-]*$")
_VERSION_ALIAS = re.compile(r"^[vV]\d+$")
_CANONICAL_STAGES = {stage.lower(): stage for stage in ALL_STAGES}


def validate_model_name(name: str | None, path: str = "name") -> str:
    if name is None or name.strip() == "":
        raise missing_value(path)
    if "/" in name or ":" in name:
        raise InvalidParameterValue(
            f"Invalid model name '{name}'. Names cannot contain '/' or ':'."
        )
    if _path_not_unique(name):
        raise invalid_value(
            path,
            name,
            "Names may be treated as files in certain cases, and must not resolve to other names"
            f" when treated as such. This name would resolve to {posixpath.normpath(name)!r}",
        )
    return limit_length(path, MAX_NAME_LENGTH, name)


def parse_version(version: str | int | None) -> int:
    try:
        return int(str(version))
    except ValueError:
        raise InvalidParameterValue(
            f"Parameter 'version' must be an integer, got '{version}'."
        ) from None


def version_not_found(name: str, version: int | str) -> ResourceDoesNotExist:
    return ResourceDoesNotExist(f"Model Version (name={name}, version={version}) not found")


def model_not_found(name: str) -> ResourceDoesNotExist:
    return ResourceDoesNotExist(f"Registered Model with name={name} not found")


def in_column_range(version: int) -> bool:
    """Versions are INTEGER columns; a number beyond them cannot exist (and cannot be bound)."""
    return -INT32_MAX - 1 <= version <= INT32_MAX


def validate_alias(alias: str | None) -> str:
    if not alias:
        raise InvalidParameterValue("Registered model alias name cannot be empty.")
    if not _ALIAS.match(alias):
        raise InvalidParameterValue(
            f"Invalid alias name: '{alias}'. Names may only contain alphanumerics, "
            "underscores (_), and dashes (-)."
        )
    return limit_length("Registered model alias name", MAX_ALIAS_LENGTH, alias)


def validate_alias_not_reserved(alias: str) -> None:
    if alias.lower() == "latest":
        raise InvalidParameterValue("'latest' alias name (case insensitive) is reserved.")
    if _VERSION_ALIAS.match(alias):
        raise InvalidParameterValue(f"Version alias name '{alias}' is reserved.")


def canonical_stage(stage: str) -> str:
    found = _CANONICAL_STAGES.get(stage.lower())
    if found is None:
        raise InvalidParameterValue(
            f"Invalid Model Version stage: {stage}. Value must be one of {', '.join(ALL_STAGES)}."
        )
    return found


def validate_tag(key: str | None, value: str) -> tuple[str, str]:
    key = validate_name(key, "key")
    limit_length("key", MAX_TAG_KEY_LENGTH, key)
    limit_length("value", MAX_TAG_VALUE_LENGTH, value)
    return key, value


def validate_tags(tags: list[tuple[str, str]]) -> dict[str, str]:
    """One value per key, the last one winning, as MLflow's stores collapse them."""
    return dict(validate_tag(k, v) for k, v in tags)


def validate_description(description: str | None) -> str | None:
    if description is not None:
        limit_length("description", MAX_DESCRIPTION_LENGTH, description)
    return description
