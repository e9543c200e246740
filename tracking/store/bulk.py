"""Driver-level bulk inserts for the hot write path.

SQLAlchemy's per-row parameter processing costs about as much as SQLite's own insert, so large
row sets bypass it: SQLite gets one executemany of tuples, PostgreSQL one INSERT ... SELECT over
the elements of one JSON parameter (a single round trip whatever the row count). Only our own
table and column names are spliced into the SQL; every value is a bound parameter.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

_PG_TYPES: list[tuple[type[sa.types.TypeEngine[Any]], str]] = [
    (sa.BigInteger, "int8"),
    (sa.Integer, "int8"),
    (sa.Double, "float8"),
    (sa.Float, "float8"),
    (sa.Boolean, "bool"),
    (sa.String, "text"),
]


def _pg_type(column: sa.Column[Any]) -> str:
    for kind, name in _PG_TYPES:
        if isinstance(column.type, kind):
            return name
    raise TypeError(f"no array type for {column}")


def _quote(name: str) -> str:
    return f'"{name}"'


def pg_json_insert(
    table: sa.Table,
    columns: Sequence[str],
    conflict: str,
    parameter: int,
    *,
    where: str = "",
    computed: Sequence[tuple[str, str]] = (),
) -> str:
    """PostgreSQL's INSERT of rows passed as one JSON array of arrays, parameter $`parameter`.

    `where` keeps only some rows (`e` is the row's JSON array); `computed` adds columns whose
    values are SQL expressions (of `e` or of the statement's other tables) instead of elements.

    asyncpg encodes an array parameter element by element (~0.7 us each in Python: a 100-metric
    batch spent ~1 ms on its column arrays); orjson writes the same rows in ~20 us and the
    server unpacks them in C. Numbers keep their exact values: orjson writes the shortest text
    that reads back as the same double, jsonb keeps that decimal exactly, and the cast to
    float8 rounds it back to the same double (but -0.0 comes back as 0.0, as SQLite stores it).
    """
    names = ", ".join(_quote(c) for c in [*columns, *(c for c, _ in computed)])
    fields = ", ".join(
        [_json_field(table.c[c], i) for i, c in enumerate(columns)]
        + [expression for _, expression in computed]
    )
    kept = f" WHERE {where}" if where else ""
    return (
        f"INSERT INTO {_quote(table.name)} ({names}) SELECT {fields}"
        f" FROM jsonb_array_elements(${parameter}::jsonb) AS e{kept} {conflict}"
    )


def _json_field(column: sa.Column[Any], index: int) -> str:
    kind = _pg_type(column)
    return f"e->>{index}" if kind == "text" else f"(e->>{index})::{kind}"


def sqlite_insert_sql(table: sa.Table, columns: Sequence[str], conflict: str) -> str:
    """One row's INSERT with `?` marks, for executemany on SQLite."""
    names = ", ".join(_quote(c) for c in columns)
    marks = ", ".join("?" for _ in columns)
    return f"INSERT INTO {_quote(table.name)} ({names}) VALUES ({marks}) {conflict}"


def sqlite_marks(values: Sequence[Any]) -> str:
    """The `?` marks of an IN list of `values`."""
    return ", ".join("?" for _ in values)


def upsert_clause(table: sa.Table, keys: Sequence[str], updates: Sequence[str]) -> str:
    sets = ", ".join(f"{_quote(c)} = EXCLUDED.{_quote(c)}" for c in updates)
    return f"ON CONFLICT ({', '.join(_quote(k) for k in keys)}) DO UPDATE SET {sets}"
