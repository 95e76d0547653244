"""Portal identities (a customer who signs in to /my) and their one-time codes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ColumnElement, DateTime, ForeignKey, Index, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.models import Base, IdMixin, TimestampMixin
from core.territory import Scope, through
from customers.models import Party


class PortalIdentity(IdMixin, TimestampMixin, Base):
    """A customer's self-care sign-in: an e-mail or phone and a password, for one party.

    Never a staff user: tokens issued for it carry the portal audience and see only the
    accounts the party pays."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        """Where its party is seen."""
        return through(Party, PortalIdentity.party_id, scope)

    __tablename__ = "customer_portal_identity"
    __table_args__ = (
        Index(
            "uq_customer_portal_identity_login",
            text("lower(login)"),
            unique=True,
        ),
    )

    party_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("customer_party.id"), unique=True)
    login: Mapped[str] = mapped_column(Text)  # an e-mail address or an E.164 phone number
    channel: Mapped[str] = mapped_column(Text)  # core.notify Channel: email | sms
    password_hash: Mapped[str] = mapped_column(Text)
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    # Notification preferences: {"invoice": true, "payment": true, "outage": false ...}
    preferences: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PortalCode(IdMixin, Base):
    """A one-time code sent to a customer: to verify the login or to reset the password."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        """By its identity."""
        return through(PortalIdentity, PortalCode.identity_id, scope)

    __tablename__ = "customer_portal_code"

    identity_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customer_portal_identity.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(Text)  # verify | reset
    code_hash: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
