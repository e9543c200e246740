"""How driver errors are classified: retry the transaction, reconnect, or answer 503."""

import sqlite3

import pytest
import sqlalchemy as sa

from tracking.errors import InvalidParameterValue, TemporarilyUnavailable
from tracking.store.db_errors import (
    is_disconnect,
    is_retryable,
    is_sqlite_busy,
    is_unavailable,
    translate,
)


class _PgError(Exception):
    """What asyncpg raises: an exception carrying the server's SQLSTATE."""

    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"sqlstate {sqlstate}")
        self.sqlstate = sqlstate


def _wrapped(
    orig: BaseException, kind: type[sa.exc.DBAPIError] = sa.exc.DBAPIError
) -> BaseException:
    return kind("SELECT 1", None, orig)


@pytest.mark.parametrize("message", ["database is locked", "database table is locked"])
def test_sqlite_busy_is_retryable_raw_and_wrapped(message):
    busy = sqlite3.OperationalError(message)
    assert is_sqlite_busy(busy)
    assert is_retryable(_wrapped(busy))


def test_other_sqlite_errors_are_not_retried():
    assert not is_sqlite_busy(sqlite3.OperationalError("no such table: runs"))
    assert not is_retryable(_wrapped(sqlite3.IntegrityError("UNIQUE constraint failed")))


@pytest.mark.parametrize("state", ["40001", "40P01"])
def test_serialization_failure_and_deadlock_are_retryable(state):
    assert is_retryable(_PgError(state))
    assert is_retryable(_wrapped(_PgError(state)))
    assert not is_disconnect(_PgError(state))


@pytest.mark.parametrize("state", ["08006", "57P01", "57P02", "57P03"])
def test_lost_connections_are_disconnects_and_unavailable(state):
    assert is_disconnect(_PgError(state))
    assert is_unavailable(_PgError(state))
    assert not is_retryable(_PgError(state))


def test_too_many_connections_is_unavailable_but_not_a_disconnect():
    error = _PgError("53300")
    assert is_unavailable(error) and not is_disconnect(error)


def test_reset_socket_is_a_disconnect():
    assert is_disconnect(ConnectionResetError("reset by peer"))


def test_translate_answers_503_only_for_an_unavailable_database():
    mlflow_error = InvalidParameterValue("bad")
    assert translate(mlflow_error) is mlflow_error
    assert isinstance(translate(_PgError("57P01")), TemporarilyUnavailable)
    assert isinstance(
        translate(_wrapped(sqlite3.OperationalError("disk I/O error"), sa.exc.OperationalError)),
        TemporarilyUnavailable,
    )
    unique = _wrapped(_PgError("23505"), sa.exc.IntegrityError)
    assert translate(unique) is unique
