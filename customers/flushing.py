"""Flushing where the database has the last word (unique keys, exclusion constraints)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session


def flush_guarded(
    session: Session,
    translate: Callable[[IntegrityError, str | None], Exception | None],
    apply: Callable[[], object] | None = None,
) -> None:
    """Run ``apply`` (the changes that may break a constraint) and flush them inside a
    savepoint. A violation becomes the domain error ``translate`` returns (or is re-raised)
    and the session stays usable: the savepoint is rolled back with those changes.

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
        constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)
        error = translate(exc, constraint)
        if error is None:
            raise
        raise error from exc
