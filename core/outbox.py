"""Transactional outbox: domain events stored in the same transaction as the change.

``emit`` adds the event to the caller's session; only when that session commits are the
events handed to Celery (``after_commit``). A rollback discards them with the change.
Handlers run once per (event, handler): the delivery row is inserted in the handler's own
transaction, so a redelivered message finds it and does nothing.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Integer, Text, event, func
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.models import Base
from core.territory import GLOBAL

_PENDING_KEY = "kilowatch_outbox_pending"


class OutboxEvent(Base):
    """A domain event (a posted payment, a closed case ...) waiting for or past dispatch."""

    __territory__ = GLOBAL
    __tablename__ = "core_outbox_event"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    name: Mapped[str] = mapped_column(Text, index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)


class EventDelivery(Base):
    """Proof that one handler has processed one event: the key of exactly-once handling."""

    __territory__ = GLOBAL
    __tablename__ = "core_event_delivery"

    event_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("core_outbox_event.id", ondelete="CASCADE"), primary_key=True
    )
    handler: Mapped[str] = mapped_column(Text, primary_key=True)
    handled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


def emit(session: Session, name: str, payload: dict[str, Any]) -> uuid.UUID:
    """Record a domain event in the caller's transaction; dispatched only after commit."""
    event_id = uuid.uuid4()
    session.add(OutboxEvent(id=event_id, name=name, payload=payload))
    session.info.setdefault(_PENDING_KEY, []).append(event_id)
    return event_id


@event.listens_for(Session, "after_commit")
def _send_after_commit(session: Session) -> None:
    pending: list[uuid.UUID] = session.info.pop(_PENDING_KEY, [])
    if not pending:
        return
    from core.tasks import send_dispatch

    for event_id in pending:
        send_dispatch(event_id)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING_KEY, None)
