"""search_registered_models / search_model_versions: MLflow's filter rules and order_by keys
(SearchModelUtils, SearchModelVersionUtils and the SQL store's own checks), on the shared grammar.

Comparison keys are column names: `version_number` becomes `version`, `source_path` `source`.
"""

from dataclasses import dataclass

from tracking.errors import InvalidParameterValue
from tracking.search.filters import (
    NULL_OPS,
    NUMERIC_OPS,
    Clause,
    Comparison,
    Kind,
    Value,
    parse_clauses,
    string_list,
    string_value,
)
from tracking.search.lexer import Tok, split_identifier, tokenize

IS_PROMPT_TAG = "mlflow.prompt.is_prompt"
_ENTITIES: dict[str, Kind] = {"attribute": "attribute", "tag": "tag", "tags": "tag"}
_STRING_OPS = frozenset({"=", "!=", "LIKE", "ILIKE", "IN", "NOT IN"})
_TAG_OPS = frozenset({"=", "!=", "LIKE", "ILIKE"})
_MODEL_COLUMNS = {"name": "name"}
_VERSION_COLUMNS = {
    "name": "name",
    "run_id": "run_id",
    "source_path": "source",
    "version_number": "version",
}
_NUMERIC = frozenset({"version_number"})
_LIST_KEYS = {"model": ("name",), "version": ("name", "run_id")}


def _set_repr(keys: list[str]) -> str:
    return "{" + ", ".join(repr(k) for k in sorted(keys)) + "}"


@dataclass(frozen=True)
class _Rules:
    what: str  # "model" or "version"
    columns: dict[str, str]


def _identifier(tok: Tok, rules: _Rules) -> tuple[Kind, str]:
    entity, key = split_identifier(tok)
    if entity is not None and entity not in _ENTITIES:
        raise InvalidParameterValue(
            f"Invalid entity type '{entity}'. Valid entity types are ('attribute', 'tag', 'tags')"
        )
    kind = _ENTITIES[entity] if entity is not None else "attribute"
    if kind == "attribute" and key not in rules.columns:
        raise InvalidParameterValue(
            f"Invalid attribute key '{key}' specified. "
            f"Valid keys are '{_set_repr(list(rules.columns))}'"
        )
    return kind, key


def _numeric(key: str, raw: Tok | tuple[Tok, ...] | None) -> int:
    if isinstance(raw, Tok):
        text = raw.quoted_string() if raw.kind != "number" else raw.text
        if text is not None and text.strip().lstrip("-+").isdigit():
            return int(text)
        shown = repr(float(raw.text)) if raw.kind == "number" else repr(text)
        raise InvalidParameterValue(f"Invalid value for numeric attribute '{key}': {shown}")
    raise InvalidParameterValue(
        "Expected a quoted string value or a list of quoted string values for attributes. "
        f"Got value {raw}"
    )


def _attribute(clause: Clause, key: str, rules: _Rules) -> Comparison:
    op, raw = clause.op, clause.value
    column = rules.columns[key]
    value: Value
    if key in _NUMERIC:
        if op not in NUMERIC_OPS:
            raise InvalidParameterValue(f"Invalid comparator for attribute {key}: {op}")
        return Comparison("attribute", column, op, _numeric(key, raw))
    if isinstance(raw, Tok) and raw.kind == "number":
        raise InvalidParameterValue(
            f"Only the '{_set_repr(sorted(_NUMERIC))}' attributes support comparison with "
            "numeric values."
            if rules.what == "version"
            else "Expected a quoted string value or a list of quoted string values for "
            f"attributes. Got value {raw.text}"
        )
    if isinstance(raw, tuple):
        if key not in _LIST_KEYS[rules.what]:
            raise InvalidParameterValue(
                f"Only {list(_LIST_KEYS[rules.what])} attributes support comparison with a "
                "list of quoted string values."
            )
        value = string_list(raw)
    else:
        value = string_value(raw, "attributes")
    if op not in _STRING_OPS or (op in ("IN", "NOT IN")) != isinstance(value, tuple):
        raise InvalidParameterValue(f"Invalid comparator for attribute: {op}")
    return Comparison("attribute", column, op, value)


def _comparison(clause: Clause, rules: _Rules) -> Comparison:
    kind, key = _identifier(clause.ident, rules)
    if clause.op in NULL_OPS:
        raise InvalidParameterValue(
            f"Invalid comparator for {'tag' if kind == 'tag' else 'attribute'}: {clause.op}"
        )
    if kind == "tag":
        if clause.op not in _TAG_OPS:
            raise InvalidParameterValue(f"Invalid comparator for tag: {clause.op}")
        return Comparison("tag", key, clause.op, string_value(clause.value, "tag"))
    return _attribute(clause, key, rules)


def _parse(filter_string: str | None, rules: _Rules) -> tuple[Comparison, ...]:
    if not filter_string:
        return ()
    return tuple(_comparison(c, rules) for c in parse_clauses(filter_string))


def parse_registered_model_filter(filter_string: str | None) -> tuple[Comparison, ...]:
    return _parse(filter_string, _Rules("model", _MODEL_COLUMNS))


def parse_model_version_filter(filter_string: str | None) -> tuple[Comparison, ...]:
    return _parse(filter_string, _Rules("version", _VERSION_COLUMNS))


def prompt_scope(comparisons: tuple[Comparison, ...]) -> tuple[tuple[Comparison, ...], bool]:
    """(clauses to apply, whether to exclude prompts), as MLflow scopes registry searches.

    MLflow returns prompts only when the first prompt-tag clause asks for them; otherwise
    prompts are excluded and the prompt-tag clauses themselves are dropped.
    """
    for c in comparisons:
        if c.kind == "tag" and c.key == IS_PROMPT_TAG and isinstance(c.value, str):
            value = c.value.lower()
            if (c.op == "=" and value == "true") or (c.op == "!=" and value == "false"):
                return comparisons, False
            break
    return tuple(c for c in comparisons if not (c.kind == "tag" and c.key == IS_PROMPT_TAG)), True


# -- order_by --

# Registered models: MLflow's SQL store orders "timestamp" by last_updated_time too.
_MODEL_ORDER = {"name": "name", "timestamp": "last_updated_time"}
_MODEL_ORDER["last_updated_timestamp"] = "last_updated_time"
_VERSION_ORDER = {
    "name": "name",
    "version_number": "version",
    "creation_timestamp": "creation_time",
    "last_updated_timestamp": "last_updated_time",
}
DEFAULT_VERSION_ORDER = ["last_updated_timestamp DESC", "name ASC", "version_number DESC"]


def _entry(entry: str) -> tuple[str, bool]:
    toks = tokenize(entry, "order_by clause")
    if not 1 <= len(toks) <= 2 or any(t.kind != "ident" for t in toks):
        raise InvalidParameterValue(f"Invalid order_by clause '{entry}'. Could not be parsed.")
    ascending = True
    if len(toks) == 2:
        direction = toks[1].keyword()
        if direction not in ("ASC", "DESC"):
            raise InvalidParameterValue(f"Invalid ordering key in order_by clause '{entry}'.")
        ascending = direction == "ASC"
    entity, key = split_identifier(toks[0])
    if entity is not None and entity not in ("attribute", "attributes"):
        raise InvalidParameterValue(f"Invalid order_by entity: {entity}")
    return key, ascending


def _order(order_by: list[str], columns: dict[str, str], invalid: str) -> list[tuple[str, bool]]:
    keys: list[tuple[str, bool]] = []
    for entry in order_by:
        key, ascending = _entry(entry)
        if key not in columns:
            raise InvalidParameterValue(invalid.format(key=key))
        if any(column == columns[key] for column, _ in keys):
            raise InvalidParameterValue(f"`order_by` contains duplicate fields: {order_by}")
        keys.append((columns[key], ascending))
    return keys


def parse_registered_model_order_by(order_by: list[str] | None) -> list[tuple[str, bool]]:
    """(column, ascending) pairs, then name ASC unless name was ordered on already."""
    keys = _order(
        order_by or [],
        _MODEL_ORDER,
        "Invalid order by key '{key}' specified.Valid keys are '{{'name', 'timestamp'}}'",
    )
    if not any(column == "name" for column, _ in keys):
        keys.append(("name", True))
    return keys


def parse_model_version_order_by(order_by: list[str] | None) -> list[tuple[str, bool]]:
    """Default last_updated DESC, name ASC, version DESC; name and version break ties."""
    keys = _order(
        order_by or DEFAULT_VERSION_ORDER,
        _VERSION_ORDER,
        "Invalid order by key '{key}' specified. Valid keys are "
        + _set_repr(list(_VERSION_ORDER)).replace("{", "{{").replace("}", "}}"),
    )
    if not any(column == "name" for column, _ in keys):
        keys.append(("name", True))
    if not any(column == "version" for column, _ in keys):
        keys.append(("version", False))
    return keys
