"""Path and query parameters shared by the routes (ids, offset pages, keyset cursors) and
the problem responses of lookups and state transitions.

The bounds come from ``core.pages``: an id, offset or cursor beyond them is a 422 problem
before any query runs (a number past bigint would otherwise be a database error, a 500).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from api.schemas import problem_response
from core.pages import BIGINT_MAX, LIMIT_MAX, OFFSET_MAX

Id = Annotated[int, Path(ge=1, le=BIGINT_MAX)]
OptionalId = Annotated[int | None, Query(ge=1, le=BIGINT_MAX)]
Offset = Annotated[int, Query(ge=0, le=OFFSET_MAX)]
Limit = Annotated[int, Query(ge=1, le=LIMIT_MAX)]
# A keyset feed's cursor: the last key of the previous page (``KeysetPage.next_cursor``).
Cursor = Annotated[
    int | None,
    Query(ge=1, le=BIGINT_MAX, description="next_cursor of the previous page"),
]

NOT_FOUND = {404: problem_response("No such record (or outside your territory)")}
CONFLICT = {409: problem_response("Conflicts with the current state")}
