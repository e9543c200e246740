"""SQLAlchemy statements compiled once and run on the driver's own connection."""

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from tracking.store.runs import fetch


class DriverStatement(NamedTuple):
    """A statement compiled once for the driver: SQL text, parameter order, default values
    (already through the dialect's bind processors) and the processor of each position."""

    sql: str
    names: tuple[str, ...]
    defaults: dict[str, Any]
    processors: tuple[Callable[[Any], Any] | None, ...]

    def args(self, **values: Any) -> list[Any]:
        """Positional arguments, `values` overriding the defaults (e.g. ids, offset, limit)."""
        defaults = self.defaults
        out = []
        for name, process in zip(self.names, self.processors, strict=True):
            if name not in values:
                out.append(defaults[name])
            else:
                value = values[name]
                out.append(value if process is None else process(value))
        return out


def driver_statement(stmt: sa.Select[Any], dialect: sa.Dialect) -> DriverStatement:
    """`stmt` compiled for the driver (`$n` on asyncpg, `?` on sqlite3), IN lists expanded,
    with the dialect's bind processors (e.g. SQLite's float coercion of a DOUBLE literal)."""
    compiled = stmt.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    # Scalar binds only (no tuple IN), so each processor is a plain callable.
    known = cast(dict[str, Callable[[Any], Any]], compiled._bind_processors)
    names = tuple(compiled.positiontup or ())

    def processor(name: str) -> Callable[[Any], Any] | None:
        if name in known:
            return known[name]
        # An expanded IN list binds name_1, name_2, ...: the processor is its parameter's.
        base = name.rpartition("_")[0]
        bind = compiled.binds.get(base)
        return known.get(base) if bind is not None and bind.expanding else None

    processors = tuple(processor(n) for n in names)
    defaults = dict(compiled.params)
    for name, process in zip(names, processors, strict=True):
        if process is not None and defaults.get(name) is not None:
            defaults[name] = process(defaults[name])
    return DriverStatement(compiled.string, names, defaults, processors)


async def run_statement(
    conn: AsyncConnection, statement: DriverStatement, **values: Any
) -> Sequence[Any]:
    return await fetch(conn, statement.sql, *statement.args(**values))
