"""Connection price lists, connection requests (new supply or power change), their quotes
(versioned) and the history of their steps."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    Numeric,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.models import Base, IdMixin, TimestampMixin
from core.territory import GLOBAL, Scope, through
from customers.models import ServiceLocation


class ConnectionPriceList(IdMixin, TimestampMixin, Base):
    """One version of the connection price list (types, cable, poles, meter, deposit, tax)
    kept as data: a new version is a new row, quotes name the version they used."""

    __territory__ = GLOBAL
    __tablename__ = "connection_price_list"

    version: Mapped[int] = mapped_column(Integer, unique=True)
    valid_from: Mapped[date] = mapped_column(Date)
    definition: Mapped[dict[str, Any]] = mapped_column(JSONB)  # PriceListDefinition
    note: Mapped[str | None] = mapped_column(Text)


class ConnectionRequest(IdMixin, TimestampMixin, Base):
    """A customer's request for a new connection or a change of subscribed power at a
    premises, followed from survey to started contract."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        """By its premises."""
        return through(ServiceLocation, ConnectionRequest.service_location_id, scope)

    __tablename__ = "connection_request"

    number: Mapped[str] = mapped_column(Text, unique=True)
    kind: Mapped[str] = mapped_column(Text)  # new_connection | power_change
    source: Mapped[str] = mapped_column(Text)  # portal | desk
    party_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("customer_party.id"), index=True)
    service_location_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customer_service_location.id"), index=True
    )
    usage_point_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("customer_usage_point.id")
    )
    account_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("customer_account.id"))
    connection_type: Mapped[str] = mapped_column(Text)
    subscribed_kva: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    tariff_code: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, default="submitted", server_default="submitted")
    # When the current step began: the pipeline shows durations and SLA breaches from it.
    step_started_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    distance_m: Mapped[Decimal | None] = mapped_column(Numeric(10, 1))
    survey_work_order_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("field_work_order.id")
    )
    contract_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("customer_contract.id"))


class ConnectionQuote(IdMixin, TimestampMixin, Base):
    """One version of the quote for a request: priced lines from one price-list version."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        """By its request."""
        return through(ConnectionRequest, ConnectionQuote.request_id, scope)

    __tablename__ = "connection_quote"
    __table_args__ = (UniqueConstraint("request_id", "version"),)

    request_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("connection_request.id"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    price_list_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("connection_price_list.id"))
    distance_m: Mapped[Decimal] = mapped_column(Numeric(10, 1))
    currency: Mapped[str] = mapped_column(Text)
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    subtotal: Mapped[int] = mapped_column(BigInteger)
    tax: Mapped[int] = mapped_column(BigInteger)
    deposit: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(Text, default="issued", server_default="issued")
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    payment_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("billing_payment.id"))


class ConnectionRequestStep(IdMixin, Base):
    """One step of a connection request (surveyed, quoted, accepted, paid ...): who, when."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        """By its request."""
        return through(ConnectionRequest, ConnectionRequestStep.request_id, scope)

    __tablename__ = "connection_request_step"

    request_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("connection_request.id"), index=True
    )
    event: Mapped[str] = mapped_column(Text)
    from_status: Mapped[str | None] = mapped_column(Text)
    to_status: Mapped[str] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    actor: Mapped[str] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
