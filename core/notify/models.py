"""The notification log: every message handed to a gateway and what came of it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, Index, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.models import Base, IdMixin
from core.territory import GLOBAL


class Notification(IdMixin, Base):
    """One message sent (or tried) to a customer by e-mail or SMS: the recipients, the
    subject, the attachments' names and sizes (not their content: the document they come
    from is kept where it belongs), which gateway took it and its answer. ``reference``
    names what the message is about (``invoice:123``, ``dunning:45``) so a document's
    deliveries are found again."""

    __tablename__ = "core_notification"
    __table_args__ = (
        CheckConstraint("channel IN ('email', 'sms')", name="channel_known"),
        CheckConstraint("status IN ('sent', 'failed')", name="status_known"),
        Index("ix_core_notification_reference", "reference"),
    )

    # A delivery log of the whole utility (core knows no customer); screens reach a
    # customer's deliveries through the document they are about, already territory-checked.
    __territory__ = GLOBAL

    channel: Mapped[str] = mapped_column(Text)
    backend: Mapped[str] = mapped_column(Text)
    recipients: Mapped[list[str]] = mapped_column(JSONB)
    subject: Mapped[str] = mapped_column(Text, default="", server_default="")
    language: Mapped[str] = mapped_column(Text)
    reference: Mapped[str | None] = mapped_column(Text)
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    status: Mapped[str] = mapped_column(Text)
    provider_id: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    sent_by: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("core_user.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
