"""The audit trail of one business record, limited to the caller's territory
(``core.audit_read``): entries of rows it cannot see are not returned."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from api.deps import CurrentActor, DbSession
from api.params import Cursor, Limit
from api.schemas import PROBLEM_RESPONSES
from core.audit_read import audit_entries
from core.pages import KeysetPage

router = APIRouter(prefix="/api/v1/audit", tags=["audit"], responses=PROBLEM_RESPONSES)


class AuditEntry(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor: str
    actor_id: int | None
    request_id: str | None
    reason: str | None
    table_name: str
    entity_key: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditPage(KeysetPage[AuditEntry]):
    """Audit entries, newest first; ``next_cursor`` is the ``before_id`` of the next page."""


@router.get("", response_model=AuditPage)
def read_audit(
    session: DbSession,
    actor: CurrentActor("audit:read"),  # type: ignore[valid-type]
    entity: str = Query(
        ...,
        min_length=1,
        max_length=63,
        pattern=r"^[a-z][a-z0-9_]*$",
        description="Table name, e.g. core_user",
    ),
    key: str | None = Query(None, max_length=200, description="The record's id"),
    before_id: Cursor = None,
    limit: Limit = 100,
) -> AuditPage:
    """Changes to one table (or one record of it), newest first, keyset-paginated."""
    rows, after = audit_entries(
        session, actor, table=entity, key=key, before_id=before_id, limit=limit
    )
    return AuditPage(items=[AuditEntry.model_validate(r) for r in rows], next_cursor=after)
