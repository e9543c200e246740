"""search_experiments filters: attributes name/experiment_id/times and tags, as MLflow allows."""

from tracking.errors import InvalidParameterValue
from tracking.search.filters import (
    NULL_OPS,
    NUMERIC_OPS,
    Clause,
    Comparison,
    Kind,
    Value,
    describe,
    number_value,
    parse_clauses,
    string_list,
    string_value,
)
from tracking.search.lexer import Tok, split_identifier

ATTRIBUTES = frozenset({"name", "experiment_id", "creation_time", "last_update_time"})
NUMERIC_ATTRIBUTES = frozenset({"creation_time", "last_update_time"})
# Unlike runs, MLflow accepts only these spellings here ("attributes." is rejected).
_ENTITIES: dict[str, Kind] = {"attribute": "attribute", "tag": "tag", "tags": "tag"}
_STRING_OPS = frozenset({"=", "!=", "LIKE", "ILIKE"})
_ID_OPS = frozenset({"=", "!=", "IN", "NOT IN"})


def experiment_kind_and_key(tok: Tok) -> tuple[Kind, str]:
    entity, key = split_identifier(tok)
    if entity is not None and entity not in _ENTITIES:
        raise InvalidParameterValue(
            f"Invalid entity type '{entity}'. Valid entity types are ('attribute', 'tag', 'tags')"
        )
    kind = _ENTITIES[entity] if entity is not None else "attribute"
    if kind == "attribute" and key not in ATTRIBUTES:
        raise InvalidParameterValue(
            f"Invalid attribute key '{key}' specified. Valid keys are '{describe(ATTRIBUTES)}'"
        )
    return kind, key


def _experiment_id(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value < 2**63:
        raise InvalidParameterValue(
            f"Invalid experiment ID '{text}'. Experiment ID must be a valid integer."
        )
    return value


def _comparison(clause: Clause) -> Comparison:
    kind, key = experiment_kind_and_key(clause.ident)
    op, raw = clause.op, clause.value
    value: Value
    if op in NULL_OPS:
        if kind != "tag":
            raise InvalidParameterValue(
                f"IS NULL / IS NOT NULL is only supported for tags, not for attribute '{key}'"
            )
        return Comparison(kind, key, op, None)
    if kind == "tag":
        value = string_value(raw, "tag")
        if op not in _STRING_OPS:
            raise InvalidParameterValue(f"Invalid comparator for tag: {op}")
    elif key in NUMERIC_ATTRIBUTES:
        value = number_value(raw, f"Expected numeric value type for numeric attribute: {key}")
        if op not in NUMERIC_OPS:
            raise InvalidParameterValue(f"Invalid comparator for numeric attribute: {op}")
        # MLflow compares these BIGINT columns with integers only; 5.5 or 1e3 is an error.
        if isinstance(raw, Tok) and not raw.text.lstrip("-").isdigit():
            raise InvalidParameterValue(
                f"Invalid value for numeric attribute '{key}': {raw.text!r}"
            )
    elif key == "experiment_id":
        if op not in _ID_OPS:
            raise InvalidParameterValue(f"Invalid comparator for experiment_id: {op}")
        if isinstance(raw, tuple):
            value = tuple(_experiment_id(v) for v in string_list(raw))
        else:
            value = _experiment_id(string_value(raw, "attributes"))
    else:
        if isinstance(raw, tuple):
            raise InvalidParameterValue(
                "Only ['experiment_id'] attributes support comparison with a list of quoted "
                "string values."
            )
        value = string_value(raw, "attributes")
        if op not in _STRING_OPS:
            raise InvalidParameterValue(f"Invalid comparator for string attribute: {op}")
    return Comparison(kind, key, op, value)


def parse_experiment_filter(filter_string: str | None) -> tuple[Comparison, ...]:
    """The AND-ed comparisons of a search_experiments filter; empty for no filter."""
    if not filter_string:
        return ()
    return tuple(_comparison(c) for c in parse_clauses(filter_string))
