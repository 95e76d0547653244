"""One page shape for every list: offset pages for screens, keyset pages for feeds and sync.

Bounds live here so that every route, CLI and service agrees on them: ids are PostgreSQL
bigints, offsets are bounded (a deeper offset is a scan nobody needs: use a keyset feed),
page sizes are capped.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

BIGINT_MAX = 2**63 - 1
OFFSET_MAX = 1_000_000
LIMIT_MAX = 200
LIMIT_DEFAULT = 50

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of an offset-paginated list (screens): the rows and how many there are."""

    items: list[T]
    total: int
    offset: int
    limit: int


class KeysetPage(BaseModel, Generic[T]):
    """One page of a keyset feed: pass ``next_cursor`` back to get the following page
    (None when this page is the last)."""

    items: list[T]
    next_cursor: int | None = None


def paginate(
    session: Session, query: Select[Any], *, offset: int, limit: int
) -> tuple[list[Any], int]:
    """One page of ``query`` (ORM entities or rows) and the total count of the query."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = session.scalars(query.offset(offset).limit(limit)).all()
    return list(rows), int(total or 0)


def next_cursor(keys: list[int], limit: int) -> int | None:
    """The cursor after a keyset page whose rows have ``keys`` (ascending): None when the
    page was not full, so the client knows it has reached the end."""
    return keys[-1] if len(keys) == limit and keys else None
