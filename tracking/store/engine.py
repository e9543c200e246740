"""Engine construction: URL normalisation and per-dialect connection setup."""

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from tracking.errors import InvalidParameterValue

SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",  # full durability: a 200 means the commit is on disk
    "PRAGMA busy_timeout=30000",
    "PRAGMA foreign_keys=ON",
    "PRAGMA case_sensitive_like=ON",  # MLflow's LIKE is case-sensitive, ILIKE is not
)


def async_url(uri: str) -> str:
    """Map user-facing URIs (MLflow style) onto the async drivers we ship."""
    scheme, _, rest = uri.partition("://")
    if not rest:
        raise InvalidParameterValue(f"Unsupported backend store URI: {uri!r}")
    base = scheme.split("+", 1)[0]
    if base == "sqlite":
        return f"sqlite+aiosqlite://{rest}"
    if base in ("postgresql", "postgres"):
        return _asyncpg_query(f"postgresql+asyncpg://{rest}")
    raise InvalidParameterValue(
        f"Unsupported backend store URI scheme {scheme!r}: use sqlite:/// or postgresql://"
    )


def _asyncpg_query(url: str) -> str:
    # asyncpg spells libpq's sslmode as ssl; sslmode=disable is its default.
    parts = urlsplit(url)
    query = []
    for key, value in parse_qsl(parts.query):
        if key == "sslmode":
            if value != "disable":
                query.append(("ssl", value))
        else:
            query.append((key, value))
    return urlunsplit(parts._replace(query=urlencode(query)))


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(uri: str, *, pool_size: int = 8, writer: bool = False) -> AsyncEngine:
    url = async_url(uri)
    # No pool_pre_ping: it costs every request a round trip. A connection the server closed is
    # refused at checkout without one (below), and a read that still meets a lost connection is
    # retried once on a fresh one (store/database.py).
    kwargs: dict[str, Any] = {}
    if url.startswith("postgresql"):
        kwargs.update(pool_size=pool_size, max_overflow=pool_size)
        # Doubles the database renders as text (metric histories as JSON) print exactly: any
        # value above 0 means the shortest text that reads back as the same double, whatever
        # the server's own default.
        kwargs["connect_args"] = {"server_settings": {"extra_float_digits": "3"}}
    else:
        kwargs.update(pool_size=1 if writer else pool_size, max_overflow=0 if writer else 4)
    engine = create_async_engine(url, **kwargs)
    if is_sqlite(engine):
        _setup_sqlite(engine, begin="BEGIN IMMEDIATE" if writer else "BEGIN")
    else:
        _refuse_closed(engine)
    return engine


def _refuse_closed(engine: AsyncEngine) -> None:
    # asyncpg notices a backend going away (restart, pg_terminate_backend) as soon as the loop
    # reads the socket's end, so a pooled connection can be checked without a round trip. The
    # pool answers InvalidatePoolError by discarding every connection as old as this one (the
    # server most likely restarted) and checking out a new one.
    @sa.event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        native = getattr(dbapi_connection, "driver_connection", None)
        if native is not None and native.is_closed():
            raise sa.exc.InvalidatePoolError("connection closed by the server")


def _setup_sqlite(engine: AsyncEngine, *, begin: str) -> None:
    # pysqlite's implicit transactions break SAVEPOINT; take over BEGIN ourselves (SQLAlchemy's
    # documented recipe). The writer begins IMMEDIATE so two processes never both hold a read
    # lock they then try to upgrade, which SQLite answers with SQLITE_BUSY instead of waiting.
    @sa.event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    @sa.event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)
