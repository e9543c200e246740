"""What a driver error means for the write that raised it: retry it, reconnect, or report the
database unavailable (503) to the client.

PostgreSQL's errors are told apart by SQLSTATE, raw (asyncpg on a driver-level statement) or
wrapped by SQLAlchemy; SQLite's by its message, as sqlite3 gives no codes.
"""

import sqlite3

import sqlalchemy as sa

from tracking.errors import MlflowError, TemporarilyUnavailable

_RETRYABLE_SQLSTATES = {"40001", "40P01"}  # serialization failure, deadlock detected

# SQLSTATEs that say this connection is gone: connection exceptions, and the backend ended by an
# administrator or a shutdown (admin_shutdown, crash_shutdown, cannot_connect_now).
_DISCONNECT_SQLSTATES = ("08", "57P01", "57P02", "57P03")

# SQLSTATE classes that mean "the database cannot serve us right now": connection exceptions,
# insufficient resources, operator intervention (shutdown, restart) and a database that is not
# accepting connections.
_UNAVAILABLE_SQLSTATES = ("08", "53", "57P", "55000")


def _sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a driver error, raw (asyncpg on a driver-level statement) or wrapped."""
    if not isinstance(exc, sa.exc.DBAPIError):
        return getattr(exc, "sqlstate", None)
    orig = exc.orig
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if state is None:
        state = getattr(getattr(orig, "__cause__", None), "sqlstate", None)
    return state


def is_sqlite_busy(exc: BaseException | None) -> bool:
    """SQLite's "database is locked" (or "database table is locked"): another writer held the
    lock past the busy timeout; the transaction can be tried again."""
    return isinstance(exc, sqlite3.OperationalError) and "is locked" in str(exc)


def is_retryable(exc: BaseException) -> bool:
    """The transaction lost a race (serialization failure, deadlock, SQLite busy) and can run
    again as it is."""
    if _sqlstate(exc) in _RETRYABLE_SQLSTATES:
        return True
    return isinstance(exc, sa.exc.DBAPIError) and is_sqlite_busy(exc.orig)


def is_disconnect(exc: BaseException) -> bool:
    """The connection was lost: the statement can be run again on a new one.

    Either SQLAlchemy saw it (and invalidated the connection), or a driver-level read
    (store/runs.py fetch) got asyncpg's own error, or the socket failed underneath.
    """
    if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
        return True
    state = _sqlstate(exc)
    if state is not None:
        return str(state).startswith(_DISCONNECT_SQLSTATES)
    cause: BaseException | None = exc
    if isinstance(exc, sa.exc.DBAPIError):
        cause = getattr(exc.orig, "__cause__", None) or exc.orig
    if isinstance(cause, ConnectionError):  # reset, broken pipe, refused
        return True
    # asyncpg's own errors for a connection that is closed, or that read the server's
    # termination message between two statements and can no longer run one.
    name = type(cause).__name__
    return type(cause).__module__.startswith("asyncpg") and (
        name == "InternalClientError" or (name == "InterfaceError" and "closed" in str(cause))
    )


def is_unavailable(exc: BaseException) -> bool:
    """The database cannot serve the request now (gone, shutting down, out of resources)."""
    if is_disconnect(exc):
        return True
    if isinstance(exc, sa.exc.DBAPIError):
        if exc.connection_invalidated or isinstance(
            exc, sa.exc.OperationalError | sa.exc.InterfaceError
        ):
            return True
    elif isinstance(exc, OSError | sa.exc.TimeoutError | ConnectionError):
        return True
    state = _sqlstate(exc)
    return bool(state) and str(state).startswith(_UNAVAILABLE_SQLSTATES)


def translate(exc: BaseException) -> BaseException:
    """The error to answer with: MLflow errors as they are, an unavailable database as
    TEMPORARILY_UNAVAILABLE (503, which the client retries), anything else unchanged."""
    if isinstance(exc, MlflowError):
        return exc
    if is_unavailable(exc):
        return TemporarilyUnavailable(f"Database temporarily unavailable: {type(exc).__name__}")
    return exc
