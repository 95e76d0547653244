"""Path and query parameters shared by the screens' routes (ids, offset pagination) and the
problem responses of state transitions."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from api.schemas import PROBLEM_RESPONSES

# Ids are PostgreSQL bigints: a larger number is a 422, never a database error.
BIGINT_MAX = 2**63 - 1

Id = Annotated[int, Path(ge=1, le=BIGINT_MAX)]
OptionalId = Annotated[int | None, Query(ge=1, le=BIGINT_MAX)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
Limit = Annotated[int, Query(ge=1, le=200)]
# A keyset feed's cursor: the ``next_cursor`` (a row id) of the previous page.
Cursor = Annotated[
    int | None, Query(ge=1, le=BIGINT_MAX, description="next_cursor of the previous page")
]
CONFLICT = {409: PROBLEM_RESPONSES[422]}
