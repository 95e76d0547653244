"""What a database error means to the person who caused it.

A unit of work can fail where no service can translate the failure: at commit (a deferred
constraint, a serialisation failure) or because the database went away. Each such error
gets a stable code here so the API (and any other owner of a session) answers it the same
way, never with a stack trace:

- an integrity violation (unique, exclusion, foreign key, check) -> 409 ``conflict``
  (the same error ``core.flush`` raises for violations nobody named);
- a serialisation failure or deadlock -> 409 ``transaction_conflict``. The database is
  fine; a concurrent change won and this one was not applied. 409 (not 503) because it
  is about the data, like any conflict, and the client should re-read before retrying;
- a lost or refused connection, an administrator shutdown -> 503 ``database_unavailable``
  with ``Retry-After``; a lock or statement timeout -> 503 ``database_busy``;
- a value the database cannot store (out of range, a NUL byte in text) -> 422
  ``data_invalid``: bad input that escaped validation, still not a server error;
- anything else -> ``None``: a bug, answered 500 and logged (without locals).
"""

from __future__ import annotations

from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, InterfaceError, OperationalError

from core.errors import DomainError, EntityConflictError, InputInvalidError
from core.flush import conflict_from, sqlstate_of

RETRY_AFTER_SECONDS = 5

# SQLSTATEs (PostgreSQL appendix A).
SERIALIZATION_FAILURE = "40001"
DEADLOCK_DETECTED = "40P01"
LOCK_NOT_AVAILABLE = "55P03"
QUERY_CANCELED = "57014"  # statement_timeout, lock_timeout as a cancel
# Class 08 (connection exception) and the shutdown family of class 57.
_CONNECTION_LOST = {"57P01", "57P02", "57P03", "57P05"}


class TransactionConflictError(EntityConflictError):
    code = "transaction_conflict"
    title = "A concurrent change won"


class DatabaseUnavailableError(DomainError):
    code = "database_unavailable"
    status = 503
    title = "The database is unavailable"


class DatabaseBusyError(DatabaseUnavailableError):
    code = "database_busy"
    title = "The database is busy"


class DataInvalidError(InputInvalidError):
    code = "data_invalid"
    title = "A value cannot be stored"


def _retry_later(error_class: type[DatabaseUnavailableError], detail: str) -> DomainError:
    return error_class(detail, extra={"retry_after": RETRY_AFTER_SECONDS})


def database_problem(exc: DBAPIError) -> DomainError | None:
    """The domain error a database failure stands for, or None when it is a bug."""
    state = sqlstate_of(exc) or ""
    if isinstance(exc, IntegrityError):
        return conflict_from(exc)
    if state in {SERIALIZATION_FAILURE, DEADLOCK_DETECTED}:
        return TransactionConflictError(
            "a concurrent change to the same records won; nothing was saved, read again and retry"
        )
    lost = exc.connection_invalidated or state.startswith("08") or state in _CONNECTION_LOST
    # No SQLSTATE on an operational error: the driver itself lost (or never got) the link.
    if lost or (isinstance(exc, OperationalError | InterfaceError) and not state):
        return _retry_later(
            DatabaseUnavailableError, "the database connection was lost; nothing was saved"
        )
    if state in {LOCK_NOT_AVAILABLE, QUERY_CANCELED}:
        return _retry_later(DatabaseBusyError, "the database did not answer in time")
    if isinstance(exc, DataError):
        # Only the class of the failure: the message may quote the stored values.
        return DataInvalidError("a value is out of range or not storable")
    return None
