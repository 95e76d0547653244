"""Each database failure class has one meaning for the client (core.db_errors)."""

from __future__ import annotations

import psycopg
import psycopg.errors as pg
import pytest
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError

from core.db_errors import database_problem


def _wrapped(cls: type[DBAPIError], orig: Exception, invalidated: bool = False) -> DBAPIError:
    return cls("UPDATE t SET x = %(x)s", {"x": 1}, orig, connection_invalidated=invalidated)


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (_wrapped(IntegrityError, pg.UniqueViolation("dup")), 409, "conflict"),
        (_wrapped(IntegrityError, pg.ExclusionViolation("overlap")), 409, "conflict"),
        (
            _wrapped(OperationalError, pg.SerializationFailure("x")),
            409,
            "transaction_conflict",
        ),
        (_wrapped(OperationalError, pg.DeadlockDetected("x")), 409, "transaction_conflict"),
        (_wrapped(OperationalError, pg.AdminShutdown("x")), 503, "database_unavailable"),
        (
            _wrapped(OperationalError, psycopg.OperationalError("closed"), invalidated=True),
            503,
            "database_unavailable",
        ),
        (
            _wrapped(OperationalError, psycopg.OperationalError("no sqlstate")),
            503,
            "database_unavailable",
        ),
        (_wrapped(OperationalError, pg.QueryCanceled("timeout")), 503, "database_busy"),
        (_wrapped(DataError, pg.NumericValueOutOfRange("big")), 422, "data_invalid"),
    ],
)
def test_a_database_failure_becomes_its_problem(error: DBAPIError, status: int, code: str) -> None:
    problem = database_problem(error)
    assert problem is not None
    assert (problem.status, problem.code) == (status, code)
    if status == 503:
        assert problem.extra["retry_after"] > 0


def test_a_programming_error_stays_a_500() -> None:
    assert database_problem(_wrapped(DBAPIError, pg.UndefinedColumn("no such column"))) is None
