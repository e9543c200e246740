"""MLflow's validation rules for names, values and batch sizes (mlflow/utils/validation.py)."""

import functools
import math
import posixpath
import re
from collections.abc import Sequence

import orjson

from tracking.entities import RUN_NAME_TAG, Metric
from tracking.errors import InvalidParameterValue

MAX_PARAMS_TAGS_PER_BATCH = 100
MAX_METRICS_PER_BATCH = 1000
MAX_ENTITIES_PER_BATCH = 1000
MAX_DATASETS_PER_BATCH = 1000
MAX_PARAM_VAL_LENGTH = 6000
MAX_TAG_VAL_LENGTH = 8000
MAX_EXPERIMENT_NAME_LENGTH = 500
MAX_EXPERIMENT_TAG_KEY_LENGTH = 250
MAX_EXPERIMENT_TAG_VAL_LENGTH = 20000
MAX_ENTITY_KEY_LENGTH = 250
MAX_RUN_NAME_LENGTH = 250
# Column widths MLflow leaves to the database, where PostgreSQL fails the insert with a 500.
MAX_USER_ID_LENGTH = 256
MAX_MODEL_ID_LENGTH = 64
MAX_DATASET_SOURCE_TYPE_SIZE = 36
MAX_DATASET_NAME_SIZE = 500
MAX_DATASET_DIGEST_SIZE = 36
MAX_DATASET_SCHEMA_SIZE = 1048575
MAX_DATASET_SOURCE_SIZE = 65535
MAX_DATASET_PROFILE_SIZE = 16777215
MAX_INPUT_TAG_KEY_SIZE = 255
MAX_INPUT_TAG_VALUE_SIZE = 500
SEARCH_MAX_RESULTS_DEFAULT = 1000
SEARCH_MAX_RESULTS_THRESHOLD = 50000
MAX_EXPERIMENTS_LISTED_PER_PAGE = 50000

_NAME_RE = re.compile(r"^[/\w.\- :]*$")
_MISSING_KEY = "A key name must be provided."
_BAD_CHARACTERS = (
    "Names may only contain alphanumerics, underscores (_), dashes (-), periods (.),"
    " spaces ( ), colon(:) and slashes (/)."
)


def invalid_value(path: str, value: object, message: str | None = None) -> InvalidParameterValue:
    shown = orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
    if message:
        return InvalidParameterValue(
            f"Invalid value {shown} for parameter '{path}' supplied: {message}"
        )
    return InvalidParameterValue(f"Invalid value {shown} for parameter '{path}' supplied.")


def exceeds_maximum_length(path: str, limit: int) -> InvalidParameterValue:
    return InvalidParameterValue(f"'{path}' exceeds the maximum length of {limit} characters")


def _path(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _path_not_unique(name: str) -> bool:
    norm = posixpath.normpath(name)
    return norm != name or norm == "." or norm.startswith("..") or norm.startswith("/")


@functools.lru_cache(maxsize=4096)
def _is_plain_name(name: str) -> bool:
    """Memoised happy path: a batch names the same few keys over and over."""
    return bool(_NAME_RE.match(name)) and not _path_not_unique(name)


def validate_name(name: str | None, path: str, *, missing: str = _MISSING_KEY) -> str:
    """The shared rule for metric, param and tag keys."""
    if name is None or name == "":
        raise invalid_value(path, name or "", missing)
    if _is_plain_name(name):
        return name
    if not _NAME_RE.match(name):
        raise invalid_value(path, name, _BAD_CHARACTERS)
    if _path_not_unique(name):
        raise invalid_value(
            path,
            name,
            "Names may be treated as files in certain cases, and must not resolve to other names"
            f" when treated as such. This name would resolve to {posixpath.normpath(name)!r}",
        )
    return name


def limit_length(path: str, limit: int, value: str, *, truncate: bool = False) -> str:
    if len(value) <= limit:
        return value
    if truncate:
        # MLflow truncates over-long param and tag values (MLFLOW_TRUNCATE_LONG_VALUES).
        return value[:limit]
    raise exceeds_maximum_length(path, limit)


def validate_metric(metric: Metric, path: str = "") -> str:
    key = validate_name(
        metric.key, _path(path, "name"), missing=f"Metric name cannot be None. {_MISSING_KEY}"
    )
    if metric.timestamp < 0:
        raise invalid_value(
            _path(path, "timestamp"),
            metric.timestamp,
            f"metric '{key}' (value={_fmt(metric.value)}). "
            "Timestamp must be a nonnegative long (64-bit integer) ",
        )
    limit_length("Metric name", MAX_ENTITY_KEY_LENGTH, key)
    for name, value, limit in (
        ("model_id", metric.model_id, MAX_MODEL_ID_LENGTH),
        ("dataset_name", metric.dataset_name, MAX_DATASET_NAME_SIZE),
        ("dataset_digest", metric.dataset_digest, MAX_DATASET_DIGEST_SIZE),
    ):
        if value is not None:
            limit_length(_path(path, name), limit, value)
    return key


def _fmt(value: float) -> str:
    return "nan" if math.isnan(value) else repr(value)


def validate_param(key: str | None, value: str, path: str = "") -> tuple[str, str]:
    key = validate_name(key, _path(path, "key"))
    return (
        limit_length("Param key", MAX_ENTITY_KEY_LENGTH, key),
        limit_length("Param value", MAX_PARAM_VAL_LENGTH, value, truncate=True),
    )


def validate_tag(key: str | None, value: str, path: str = "") -> tuple[str, str]:
    key = validate_name(key, _path(path, "key"), missing=_MISSING_KEY)
    if key == RUN_NAME_TAG:
        validate_run_name(value, _path(path, "value"))  # mirrored into the run's name
    return (
        limit_length(_path(path, "key"), MAX_ENTITY_KEY_LENGTH, key),
        limit_length(_path(path, "value"), MAX_TAG_VAL_LENGTH, value, truncate=True),
    )


def validate_run_name(name: str | None, path: str = "run_name") -> str | None:
    if name is not None:
        limit_length(path, MAX_RUN_NAME_LENGTH, name)
    return name


def validate_experiment_tag(key: str | None, value: str) -> tuple[str, str]:
    key = validate_name(key, "key")
    limit_length("key", MAX_EXPERIMENT_TAG_KEY_LENGTH, key)
    limit_length("value", MAX_EXPERIMENT_TAG_VAL_LENGTH, value)
    return key, value


def validate_experiment_name(name: str | None) -> str:
    if not name:
        raise InvalidParameterValue(f"Invalid experiment name: '{name or ''}'")
    if len(name) > MAX_EXPERIMENT_NAME_LENGTH:
        raise exceeds_maximum_length("name", MAX_EXPERIMENT_NAME_LENGTH)
    return name


def parse_experiment_id(experiment_id: str | int | None) -> int:
    try:
        parsed = int(str(experiment_id))
    except (TypeError, ValueError):
        parsed = -1
    if parsed < 0 or parsed > 2**63 - 1:
        raise InvalidParameterValue(
            f"Invalid experiment ID '{experiment_id}'. Experiment ID must be a valid integer."
        )
    return parsed


def validate_batch_limit(entity: str, limit: int, length: int) -> None:
    if length > limit:
        raise InvalidParameterValue(
            f"A batch logging request can contain at most {limit} {entity}. "
            f"Got {length} {entity}. Please split up {entity} across multiple"
            " requests and try again."
        )


def validate_batch_sizes(metrics: int, params: int, tags: int) -> None:
    validate_batch_limit("metrics", MAX_METRICS_PER_BATCH, metrics)
    validate_batch_limit("params", MAX_PARAMS_TAGS_PER_BATCH, params)
    validate_batch_limit("tags", MAX_PARAMS_TAGS_PER_BATCH, tags)
    validate_batch_limit(
        "metrics, params, and tags", MAX_ENTITIES_PER_BATCH, metrics + params + tags
    )


def validate_unique_param_keys(keys: Sequence[str]) -> None:
    seen: set[str] = set()
    dupes = []
    for key in keys:
        if key in seen:
            dupes.append(key)
        seen.add(key)
    if dupes:
        raise InvalidParameterValue(
            f"Duplicate parameter keys have been submitted: {dupes}. Please ensure "
            "the request contains only one param value per param key."
        )


def validate_max_results(max_results: int, threshold: int = SEARCH_MAX_RESULTS_THRESHOLD) -> int:
    if max_results < 1 or max_results > threshold:
        raise InvalidParameterValue(
            f"Invalid value {max_results} for parameter 'max_results' supplied. It must be "
            f"at most {threshold}, and at least 1."
        )
    return max_results
