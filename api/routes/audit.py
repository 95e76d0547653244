"""The audit trail of one business record."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from api.deps import CurrentActor, DbSession
from api.schemas import PROBLEM_RESPONSES
from core.audit import AuditLog

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


class AuditPage(BaseModel):
    items: list[AuditEntry]
    next_cursor: int | None


@router.get("", response_model=AuditPage)
def read_audit(
    session: DbSession,
    _actor: CurrentActor("audit:read"),  # type: ignore[valid-type]
    entity: str = Query(
        ...,
        min_length=1,
        max_length=63,
        pattern=r"^[a-z][a-z0-9_]*$",
        description="Table name, e.g. core_user",
    ),
    key: str | None = Query(None, max_length=200, description="The record's id"),
    before_id: int | None = Query(None, ge=1, description="Cursor: entries older than this id"),
    limit: int = Query(100, ge=1, le=1000),
) -> AuditPage:
    """Changes to one table (or one record of it), newest first, keyset-paginated."""
    query = select(AuditLog).where(AuditLog.table_name == entity)
    if key is not None:
        query = query.where(AuditLog.entity_key == key)
    if before_id is not None:
        query = query.where(AuditLog.id < before_id)
    rows = session.scalars(query.order_by(AuditLog.id.desc()).limit(limit + 1)).all()
    items = [AuditEntry.model_validate(r) for r in rows[:limit]]
    return AuditPage(items=items, next_cursor=items[-1].id if len(rows) > limit else None)
