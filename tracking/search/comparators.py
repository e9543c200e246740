"""A parsed comparison operator applied to a column, with bound parameters only."""

from typing import Any

import sqlalchemy as sa

from tracking.search.filters import Value


def _bind(value: Any) -> Any:
    # A float compared with a BIGINT column would otherwise be bound as BIGINT, which asyncpg
    # refuses for 1.5; as DOUBLE PRECISION both databases compare it numerically.
    if isinstance(value, float):
        return sa.literal(value, sa.Double())
    return value


def compare(column: sa.ColumnElement[Any], op: str, value: Value) -> sa.ColumnElement[bool]:
    """`column <op> value`. LIKE is case-sensitive on both dialects (SQLite connections run
    with case_sensitive_like=ON); ILIKE lowers both sides so it needs no dialect support."""
    if op in ("IN", "NOT IN"):
        assert isinstance(value, tuple)
        return column.in_(value) if op == "IN" else column.not_in(value)
    if op == "LIKE":
        return column.like(_bind(value))
    if op == "ILIKE":
        return sa.func.lower(column).like(sa.func.lower(_bind(value)))
    bound = _bind(value)
    comparisons = {
        "=": lambda: column == bound,
        "!=": lambda: column != bound,
        "<": lambda: column < bound,
        "<=": lambda: column <= bound,
        ">": lambda: column > bound,
        ">=": lambda: column >= bound,
    }
    if op not in comparisons:
        raise ValueError(f"unsupported comparator {op!r}")  # the parsers never produce one
    return comparisons[op]()
