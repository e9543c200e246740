"""search_runs filters: MLflow's per-kind rules on top of the shared grammar."""

from tracking.errors import InvalidParameterValue
from tracking.search.filters import (
    DISPLAY,
    LIST_OPS,
    NULL_OPS,
    NUMERIC_OPS,
    Clause,
    Comparison,
    Kind,
    Value,
    check_op,
    describe,
    number_value,
    parse_clauses,
    string_list,
    string_value,
)
from tracking.search.lexer import Tok, split_identifier

ENTITY_KINDS: dict[str, Kind] = {
    "metric": "metric",
    "metrics": "metric",
    "param": "param",
    "params": "param",
    "parameter": "param",
    "parameters": "param",
    "tag": "tag",
    "tags": "tag",
    "attribute": "attribute",
    "attributes": "attribute",
    "attr": "attribute",
    "run": "attribute",
    "dataset": "dataset",
    "datasets": "dataset",
}
# MLflow's UI-facing aliases, resolved so that SQL only ever sees canonical attribute names.
ALIASES = {"created": "start_time", "Created": "start_time"}
ALIASES |= {"run name": "run_name", "Run name": "run_name", "Run Name": "run_name"}
NUMERIC_ATTRIBUTES = frozenset({"start_time", "end_time"})
ORDERABLE_ATTRIBUTES = frozenset(
    {"artifact_uri", "end_time", "run_id", "run_name", "start_time", "status", "user_id"}
)
_SEARCHABLE_KEYS = ORDERABLE_ATTRIBUTES | set(ALIASES)
_DATASET_KEYS = frozenset({"name", "digest", "context"})

_STRING_OPS = frozenset({"=", "!=", "LIKE", "ILIKE"})
_OPS: dict[str, frozenset[str]] = {
    "metric": NUMERIC_OPS,
    "param": _STRING_OPS | NULL_OPS,
    "tag": _STRING_OPS | NULL_OPS,
    "dataset": _STRING_OPS | LIST_OPS,
}
_IDENTIFIERS = ["metric", "parameter", "tag", "attribute", "dataset"]
# How MLflow names each kind in "Expected a quoted string value for ..." messages.
_VALUE_LABELS = {"param": "parameter", "tag": "tag"}
_VALUE_LABELS |= {"attribute": "attributes", "dataset": "dataset attributes"}


def run_kind_and_key(tok: Tok, attribute_keys: frozenset[str] | set[str]) -> tuple[Kind, str]:
    """Resolve `metrics.acc`, `run_name`, `attr.created` ... to a canonical (kind, key)."""
    entity, key = split_identifier(tok)
    if entity is None:
        kind: Kind = "attribute"
    elif entity in ENTITY_KINDS:
        kind = ENTITY_KINDS[entity]
    else:
        raise InvalidParameterValue(
            f"Invalid entity type '{entity}'. Valid values are {_IDENTIFIERS}"
        )
    if kind == "attribute":
        if key not in attribute_keys:
            raise InvalidParameterValue(
                f"Invalid attribute key '{key}' specified. "
                f"Valid keys are '{describe(frozenset(attribute_keys))}'"
            )
        key = ALIASES.get(key, key)
    elif kind == "dataset" and key not in _DATASET_KEYS:
        raise InvalidParameterValue(
            f"Invalid dataset key '{key}' specified. Valid keys are '{describe(_DATASET_KEYS)}'"
        )
    return kind, key


def _comparison(clause: Clause) -> Comparison:
    kind, key = run_kind_and_key(clause.ident, _SEARCHABLE_KEYS)
    op, raw = clause.op, clause.value
    if op in NULL_OPS and kind not in ("param", "tag"):
        raise InvalidParameterValue(
            "IS NULL / IS NOT NULL is only supported for tags and params, "
            f"not for '{DISPLAY[kind]}' '{key}'"
        )
    value: Value
    if kind == "metric":
        value = float(number_value(raw, "Expected numeric value type for metric"))
    elif kind == "attribute" and key in NUMERIC_ATTRIBUTES:
        value = number_value(raw, f"Expected numeric value type for numeric attribute: {key}")
    elif op in NULL_OPS:
        value = None
    elif isinstance(raw, tuple):
        if kind == "attribute" and key != "run_id":
            raise InvalidParameterValue(
                "Only ['run_id'] attributes support comparison with a list of quoted string values."
            )
        if kind in ("param", "tag"):
            string_value(raw, DISPLAY[kind])  # raises MLflow's "expected a quoted string"
        value = string_list(raw)
    else:
        value = string_value(raw, _VALUE_LABELS[kind])
    if kind == "attribute":
        allowed = NUMERIC_OPS if key in NUMERIC_ATTRIBUTES else _STRING_OPS | LIST_OPS
    else:
        allowed = _OPS[kind]
    check_op(op, allowed)
    return Comparison(kind, key, op, value)


def parse_run_filter(filter_string: str | None) -> tuple[Comparison, ...]:
    """The AND-ed comparisons of a search_runs filter; empty for no filter."""
    if not filter_string:
        return ()
    return tuple(_comparison(c) for c in parse_clauses(filter_string))
