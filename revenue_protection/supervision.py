"""Supervision of automatic restoration: the running processes, the p50 / p95 of the
time from the payment's commit to the decision and to the command (the head-end's or
the restore order's) per branch, and the processes stuck (a restore order still open, a
command unanswered) past a limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from core.context import Actor
from core.pages import paginate
from core.territory import visible
from revenue_protection.models import Restoration

RUNNING = ("deciding", "commanding", "field_order")


class RestorationRead(BaseModel):
    model_config = {"from_attributes": True}

    id: int
    usage_point_id: int
    account_id: int
    payment_id: int
    trigger: str
    status: str
    branch: str
    reason: str | None
    rule_version: int | None
    work_order_id: int | None
    head_end_ref: str | None
    payment_at: datetime
    started_at: datetime
    decided_at: datetime | None
    command_at: datetime | None
    restored_at: datetime | None
    steps: list[dict[str, Any]]


class RestorationPage(BaseModel):
    items: list[RestorationRead]
    total: int
    offset: int
    limit: int


class BranchStats(BaseModel):
    branch: str
    count: int
    decision_p50_ms: float | None
    decision_p95_ms: float | None
    command_p50_ms: float | None
    command_p95_ms: float | None


class Supervision(BaseModel):
    running: dict[str, int]
    branches: list[BranchStats]
    stuck: list[RestorationRead]
    stuck_after_minutes: int


def list_restorations(
    session: Session, *, actor: Actor, offset: int, limit: int, status: str | None = None
) -> RestorationPage:
    query = select(Restoration).where(visible(actor, Restoration))
    if status is not None:
        query = query.where(Restoration.status == status)
    rows, total = paginate(
        session, query.order_by(Restoration.id.desc()), offset=offset, limit=limit
    )
    return RestorationPage(
        items=[RestorationRead.model_validate(r) for r in rows],
        total=total,
        offset=offset,
        limit=limit,
    )


_STATS = """
SELECT branch, count(*),
  percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM decided_at - payment_at)),
  percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM decided_at - payment_at)),
  percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM command_at - payment_at)),
  percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM command_at - payment_at))
FROM rp_restoration r WHERE r.id = ANY(:ids) GROUP BY branch ORDER BY branch
"""


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 1)


def supervise(session: Session, *, actor: Actor, stuck_after_minutes: int = 60) -> Supervision:
    """Figures over the restorations the actor sees."""
    ids = list(session.scalars(select(Restoration.id).where(visible(actor, Restoration))))
    running: dict[str, int] = {}
    for status, count in session.execute(
        select(Restoration.status, text("count(*)"))
        .where(Restoration.id.in_(ids), Restoration.status.in_(RUNNING))
        .group_by(Restoration.status)
    ):
        running[status] = count
    branches = [
        BranchStats(
            branch=b,
            count=n,
            decision_p50_ms=_ms(d50),
            decision_p95_ms=_ms(d95),
            command_p50_ms=_ms(c50),
            command_p95_ms=_ms(c95),
        )
        for b, n, d50, d95, c50, c95 in session.execute(text(_STATS), {"ids": ids})
    ]
    limit = datetime.now(UTC) - timedelta(minutes=stuck_after_minutes)
    stuck = session.scalars(
        select(Restoration)
        .where(
            Restoration.id.in_(ids),
            Restoration.status.in_(RUNNING),
            Restoration.started_at < limit,
        )
        .order_by(Restoration.started_at)
        .limit(200)
    )
    return Supervision(
        running=running,
        branches=branches,
        stuck=[RestorationRead.model_validate(r) for r in stuck],
        stuck_after_minutes=stuck_after_minutes,
    )
