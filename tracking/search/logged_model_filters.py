"""search_logged_models: its filter rules, order_by objects and page tokens (MLflow's own).

MLflow parses these filters with sqlparse (mlflow/utils/search_logged_model_utils.py); the shared
grammar here accepts the same AND-ed comparisons. Entities are `attributes.`, `metrics.`,
`params.` and `tags.` only; a bare name is an attribute, any column of MLflow's logged_models
table or one of its aliases.
"""

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from tracking.entities_models import LOGGED_MODEL_STATUSES
from tracking.errors import InvalidParameterValue
from tracking.search.filters import Clause, Comparison, Kind, Value, number_value, parse_clauses
from tracking.search.lexer import Tok, split_identifier

ALIASES = {
    "creation_time": "creation_timestamp_ms",
    "creation_timestamp": "creation_timestamp_ms",
    "last_updated_timestamp": "last_updated_timestamp_ms",
}
ATTRIBUTES = frozenset(
    {
        "model_id",
        "experiment_id",
        "name",
        "artifact_location",
        "creation_timestamp_ms",
        "last_updated_timestamp_ms",
        "status",
        "lifecycle_stage",
        "model_type",
        "source_run_id",
        "status_message",
    }
)
NUMERIC_ATTRIBUTES = frozenset({"creation_timestamp_ms", "last_updated_timestamp_ms"})
_ENTITIES: dict[str, Kind] = {
    "attributes": "attribute",
    "metrics": "metric",
    "params": "param",
    "tags": "tag",
}
_NUMERIC_OPS = ("<", "<=", ">", ">=", "=", "!=")
_STRING_OPS = ("=", "!=", "LIKE", "ILIKE", "IN", "NOT IN")
# status and experiment_id are integer columns: equality and lists only.
_EQUALITY_OPS = ("=", "!=", "IN", "NOT IN")
_STATUS_NUMBERS = {name: number for number, name in enumerate(LOGGED_MODEL_STATUSES)}
_STATUS_NUMBERS |= {"UNSPECIFIED": 0, "PENDING": 1, "READY": 2, "FAILED": 3, "UPLOAD_FAILED": 3}


def _entity(tok: Tok) -> tuple[Kind, str]:
    entity, key = split_identifier(tok)
    if entity is None:
        kind: Kind = "attribute"
    elif entity in _ENTITIES:
        kind = _ENTITIES[entity]
    else:
        raise InvalidParameterValue(
            f"Invalid entity type: {entity!r}. Expected one of {list(_ENTITIES)}."
        )
    if kind == "attribute":
        key = ALIASES.get(key, key)
        if key not in ATTRIBUTES:
            raise InvalidParameterValue(
                f"Invalid attribute key '{key}' specified. Valid keys are "
                f"{sorted(ATTRIBUTES | set(ALIASES))}"
            )
    return kind, key


def _display(kind: Kind, key: str) -> str:
    prefix = {"attribute": "attributes", "metric": "metrics", "param": "params", "tag": "tags"}
    return f"{prefix[kind]}.{key}"


def _text_value(tok: Tok) -> str:
    """A string operand: quoted, or (as MLflow's sqlparse-based parser allows) a bare word or
    number taken as written."""
    quoted = tok.quoted_string()
    return quoted if quoted is not None else tok.text


def _status(text: str) -> int:
    if text.isdigit() and int(text) < len(LOGGED_MODEL_STATUSES):
        return int(text)
    if text not in _STATUS_NUMBERS:
        raise InvalidParameterValue(
            f"Invalid logged model status {text!r}. Expected one of {list(LOGGED_MODEL_STATUSES)}."
        )
    return _STATUS_NUMBERS[text]


def _experiment_id(text: str) -> int:
    if not text.isdigit() or int(text) >= 2**63:
        raise InvalidParameterValue(
            f"Invalid experiment ID '{text}'. Experiment ID must be a valid integer."
        )
    return int(text)


def _operand(kind: Kind, key: str, tok: Tok) -> str | int:
    text = _text_value(tok)
    if kind == "attribute" and key == "status":
        return _status(text)
    if kind == "attribute" and key == "experiment_id":
        return _experiment_id(text)
    return text


def _comparison(clause: Clause) -> Comparison:
    kind, key = _entity(clause.ident)
    numeric = kind == "metric" or (kind == "attribute" and key in NUMERIC_ATTRIBUTES)
    integer = kind == "attribute" and key in ("status", "experiment_id")
    ops = _NUMERIC_OPS if numeric else _EQUALITY_OPS if integer else _STRING_OPS
    if clause.op not in ops:
        raise InvalidParameterValue(
            f"Invalid comparison operator for {_display(kind, key)}: {clause.op!r}. "
            f"Expected one of {ops}."
        )
    raw = clause.value
    value: Value
    if numeric:
        value = float(number_value(raw, f"Expected a numeric value for {_display(kind, key)}"))
    elif isinstance(raw, tuple):
        if not raw:
            raise InvalidParameterValue(
                f"Expected a non-empty list of values for {_display(kind, key)}"
            )
        value = tuple(_operand(kind, key, t) for t in raw)  # type: ignore[assignment]
    elif isinstance(raw, Tok):
        value = _operand(kind, key, raw)
    else:
        raise InvalidParameterValue(f"Expected a value for {_display(kind, key)}")
    return Comparison(kind, key, clause.op, value)


def parse_model_filter(filter_string: str | None) -> tuple[Comparison, ...]:
    """The AND-ed comparisons of a search_logged_models filter; empty for no filter."""
    if not filter_string:
        return ()
    return tuple(_comparison(c) for c in parse_clauses(filter_string))


@dataclass(frozen=True)
class ModelOrderKey:
    kind: Kind  # "attribute" or "metric"
    key: str
    ascending: bool
    dataset_name: str | None = None
    dataset_digest: str | None = None


def parse_model_order_by(order_by: list[dict[str, Any]] | None) -> tuple[ModelOrderKey, ...]:
    """The full ORDER BY: the caller's keys, then creation time DESC and model_id ASC unless
    already ordered on, as MLflow's SQL store does."""
    keys: list[ModelOrderKey] = []
    for entry in order_by or []:
        field_name = entry["field_name"]
        ascending = bool(entry["ascending"])
        if "." not in field_name:
            name = ALIASES.get(field_name, field_name)
            if name not in ATTRIBUTES:
                raise InvalidParameterValue(f"Invalid order by field name: {field_name}")
            keys.append(ModelOrderKey("attribute", name, ascending))
            continue
        entity, name = field_name.split(".", 1)
        if entity != "metrics":
            raise InvalidParameterValue(
                f"Invalid order by field name: {field_name}. Only metrics are supported."
            )
        if len(name) > 1 and name[0] == name[-1] == "`":
            name = name[1:-1]
        keys.append(
            ModelOrderKey(
                "metric", name, ascending, entry.get("dataset_name"), entry.get("dataset_digest")
            )
        )
    attributes = {k.key for k in keys if k.kind == "attribute"}
    if "creation_timestamp_ms" not in attributes:
        keys.append(ModelOrderKey("attribute", "creation_timestamp_ms", False))
    if "model_id" not in attributes:
        keys.append(ModelOrderKey("attribute", "model_id", True))
    return tuple(keys)


# -- page tokens: base64 JSON of the request they continue, byte-compatible with MLflow's --


def encode_page_token(
    experiment_ids: list[str],
    filter_string: str | None,
    order_by: list[dict[str, Any]] | None,
    offset: int,
) -> str:
    state = {
        "experiment_ids": experiment_ids,
        "filter_string": filter_string,
        "order_by": order_by,
        "offset": offset,
    }
    return base64.b64encode(json.dumps(state).encode("utf-8")).decode("utf-8")


def decode_page_token(
    token: str | None,
    experiment_ids: list[str],
    filter_string: str | None,
    order_by: list[dict[str, Any]] | None,
) -> int:
    """The offset a token continues from, after checking it belongs to this same search."""
    if not token:
        return 0
    try:
        state = json.loads(base64.b64decode(token.encode("utf-8"), validate=True).decode("utf-8"))
    except (binascii.Error, ValueError) as e:
        raise InvalidParameterValue(f"Invalid page token: {token}. {e}") from None
    if not isinstance(state, dict):
        raise InvalidParameterValue(f"Invalid page token: {token}.")
    if state.get("experiment_ids") != experiment_ids:
        raise InvalidParameterValue(
            "Experiment IDs in the page token do not match the requested experiment IDs. "
            f"Expected: {experiment_ids}. Found: {state.get('experiment_ids')}"
        )
    if (state.get("filter_string") or None) != filter_string:
        raise InvalidParameterValue(
            "Filter string in the page token does not match the requested filter string. "
            f"Expected: {filter_string}. Found: {state.get('filter_string')}"
        )
    if (state.get("order_by") or None) != order_by:
        raise InvalidParameterValue(
            "Order by in the page token does not match the requested order by. "
            f"Expected: {order_by}. Found: {state.get('order_by')}"
        )
    offset = state.get("offset") or 0
    if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset < 2**63:
        raise InvalidParameterValue(f"Invalid page token: {token}. Bad offset {offset!r}")
    return offset
