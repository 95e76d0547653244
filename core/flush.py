"""Flushing where the database has the last word (unique keys, exclusion constraints,
foreign keys): a violation becomes a domain error with a stable code, never a 500.

Services declare which constraint means what (``translate``); whatever they do not name
still becomes a 409 ``conflict`` naming the constraint. The session stays usable: the
changes that broke the constraint are rolled back to a savepoint, earlier work is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.errors import DomainError, EntityConflictError

# SQLSTATEs of integrity violations (PostgreSQL appendix A).
UNIQUE_VIOLATION = "23505"
EXCLUSION_VIOLATION = "23P01"
FOREIGN_KEY_VIOLATION = "23503"
CHECK_VIOLATION = "23514"
NOT_NULL_VIOLATION = "23502"

Translate = Callable[[IntegrityError, str | None], DomainError | None]


def constraint_of(exc: IntegrityError) -> str | None:
    """The name of the constraint the database reported, when it did."""
    return getattr(getattr(exc.orig, "diag", None), "constraint_name", None)


def sqlstate_of(exc: BaseException) -> str | None:
    return getattr(getattr(exc, "orig", None), "sqlstate", None)


def conflict_from(exc: IntegrityError) -> DomainError:
    """The default domain error of an integrity violation nobody named."""
    constraint = constraint_of(exc)
    state = sqlstate_of(exc)
    what = {
        UNIQUE_VIOLATION: "already exists",
        EXCLUSION_VIOLATION: "overlaps an existing record",
        FOREIGN_KEY_VIOLATION: "refers to a record that does not exist or is still referred to",
        CHECK_VIOLATION: "breaks a rule of the data",
        NOT_NULL_VIOLATION: "lacks a required value",
    }.get(state or "", "conflicts with the stored data")
    return EntityConflictError(
        f"the change {what}" + (f" ({constraint})" if constraint else ""),
        extra={"constraint": constraint} if constraint else {},
    )


def by_constraint(errors: Mapping[str, Callable[[], DomainError]]) -> Translate:
    """A ``translate`` naming the domain error of each constraint."""

    def translate(_exc: IntegrityError, constraint: str | None) -> DomainError | None:
        factory = errors.get(constraint or "")
        return factory() if factory else None

    return translate


def flush_guarded(
    session: Session,
    translate: Translate | None = None,
    apply: Callable[[], object] | None = None,
) -> None:
    """Run ``apply`` (the changes that may break a constraint) and flush them inside a
    savepoint. A violation becomes the domain error ``translate`` returns, else a 409.

    Earlier pending work is flushed first, outside the savepoint: SQLAlchemy flushes on
    opening a savepoint, so changes made before it are not covered by it.
    """
    session.flush()
    try:
        with session.begin_nested():
            if apply is not None:
                apply()
            session.flush()
    except IntegrityError as exc:
        error = translate(exc, constraint_of(exc)) if translate else None
        raise (error or conflict_from(exc)) from exc
