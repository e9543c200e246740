"""Service entities as GraphQL values: camelCase keys, int64 as strings, NaN as null."""

import math
from typing import Any

from graphql import (
    GraphQLList,
    GraphQLNonNull,
    GraphQLResolveInfo,
    GraphQLScalarType,
    ValueNode,
    default_field_resolver,
)
from graphql.language import IntValueNode, StringValueNode


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def camelize(value: Any) -> Any:
    """MLflow's proto-JSON (snake_case) as the camelCase objects the schema resolves from."""
    if isinstance(value, dict):
        return {camel(k): camelize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [camelize(v) for v in value]
    return value


def field_value(source: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
    """A field of a camelized entity; proto-JSON omits empty lists, MLflow's graphene sends []."""
    value = default_field_resolver(source, info, **args)
    kind = info.return_type
    if isinstance(kind, GraphQLNonNull):
        kind = kind.of_type
    if value is None and isinstance(kind, GraphQLList):
        return []
    return value


def finite_or_null(source: Any, info: GraphQLResolveInfo) -> float | None:
    """A metric value; NaN and infinities (strings in proto-JSON) are not GraphQL Floats."""
    value = source.get(info.field_name) if isinstance(source, dict) else None
    if value is None or isinstance(value, str):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _serialize_long(value: Any) -> str:
    return str(value)


def _parse_long(value: Any) -> int:
    return int(value)


def _parse_long_literal(node: ValueNode, _variables: Any = None) -> int | None:
    if isinstance(node, IntValueNode | StringValueNode):
        return int(node.value)
    return None


def bind_long_string(scalar: GraphQLScalarType) -> None:
    """MLflow's LongString: int64 sent as strings so JavaScript does not round them."""
    scalar.serialize = _serialize_long  # type: ignore[method-assign]
    scalar.parse_value = _parse_long  # type: ignore[method-assign]
    scalar.parse_literal = _parse_long_literal  # type: ignore[method-assign, assignment]
