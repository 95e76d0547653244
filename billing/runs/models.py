"""Billing runs, their items, chunks and status history.

A ``BillingRun`` bills a selection of usage points for one period: it selects them (one
``BillingRunItem`` each), simulates their bills with the rating function the issue uses,
runs the control checks (parking doubtful items with coded reasons), is approved by a
second person and issues. Work is cut into ``BillingRunChunk`` rows, each simulated and
issued in its own transaction: a run stopped mid-way (a killed worker) resumes with the
chunks not yet done, and a chunk already issued is never issued again.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ColumnElement,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.models import Base, IdMixin, TimestampMixin
from core.territory import Scope, through
from customers.models import UsagePoint

RUN_STATUSES = ("draft", "simulated", "approved", "issuing", "issued", "cancelled")
ITEM_STATUSES = ("selected", "ready", "parked", "skipped", "issued")


class BillingRun(IdMixin, TimestampMixin, Base):
    """One billing run: which usage points (``selection``), which period (``period_end``
    exclusive), its control settings, who prepared and who approved it, where it stands."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        """A run belongs to the agency it selects; a utility-wide run (no agency) is head
        office's."""
        return scope.holds(BillingRun.agency_id)

    __tablename__ = "billing_run"
    __table_args__ = (
        CheckConstraint(f"status IN {RUN_STATUSES!r}", name="status_known"),
        CheckConstraint("period_end > period_start", name="period_ordered"),
        CheckConstraint("chunk_size >= 1", name="chunk_size_positive"),
        CheckConstraint("approved_by IS NULL OR approved_by <> prepared_by", name="four_eyes"),
    )

    label: Mapped[str] = mapped_column(Text, default="", server_default="")
    status: Mapped[str] = mapped_column(Text, default="draft", server_default="draft")
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)  # exclusive
    issue_date: Mapped[date] = mapped_column(Date)
    due_days: Mapped[int] = mapped_column(Integer, default=15, server_default="15")
    # cycle, round, zone, category, agency, usage points: billing.runs.schemas.Selection
    selection: Mapped[dict[str, Any]] = mapped_column(JSONB)
    agency_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("core_agency.id", ondelete="RESTRICT"), index=True
    )
    # Control settings (billing.runs.control states each check).
    amount_threshold: Mapped[int | None] = mapped_column(BigInteger)  # minor units
    history_factor: Mapped[Decimal] = mapped_column(
        Numeric(6, 2), default=Decimal(3), server_default="3"
    )
    park_estimated: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    chunk_size: Mapped[int] = mapped_column(Integer, default=5000, server_default="5000")
    series: Mapped[str] = mapped_column(Text, default="F", server_default="F")
    prepared_by: Mapped[str] = mapped_column(Text)
    prepared_by_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("core_user.id", ondelete="SET NULL")
    )
    approved_by: Mapped[str | None] = mapped_column(Text)
    approved_by_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("core_user.id", ondelete="SET NULL")
    )
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class BillingRunTransition(IdMixin, Base):
    """One step of a run's lifecycle (core.lifecycle): who, when, from, to, why."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        return through(BillingRun, BillingRunTransition.run_id, scope)

    __tablename__ = "billing_run_transition"

    run_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("billing_run.id", ondelete="CASCADE"), index=True
    )
    event: Mapped[str] = mapped_column(Text)
    from_status: Mapped[str | None] = mapped_column(Text)
    to_status: Mapped[str] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    actor: Mapped[str] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class BillingRunChunk(IdMixin, Base):
    """A slice of a run's items (``chunk_no``), simulated and issued each in one
    transaction: ``simulated_at`` / ``issued_at`` mark the slice done, so a resumed run
    skips it."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        return through(BillingRun, BillingRunChunk.run_id, scope)

    __tablename__ = "billing_run_chunk"
    __table_args__ = (UniqueConstraint("run_id", "chunk_no"),)

    run_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("billing_run.id", ondelete="CASCADE")
    )
    chunk_no: Mapped[int] = mapped_column(Integer)
    items: Mapped[int] = mapped_column(Integer)
    simulated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    issued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    invoices: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class BillingRunItem(IdMixin, Base):
    """One selected usage point of a run: the contract and period billed, the metered
    kWh, the simulated total, the control checks that fired (``checks``, codes of
    billing.runs.control) and, once issued, its invoice."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        """By its usage point."""
        return through(UsagePoint, BillingRunItem.usage_point_id, scope)

    __tablename__ = "billing_run_item"
    __table_args__ = (
        UniqueConstraint("run_id", "usage_point_id"),
        CheckConstraint(f"status IN {ITEM_STATUSES!r}", name="status_known"),
        Index("ix_billing_run_item_chunk", "run_id", "chunk_no"),
    )

    run_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("billing_run.id", ondelete="CASCADE")
    )
    chunk_no: Mapped[int] = mapped_column(Integer)
    usage_point_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customer_usage_point.id", ondelete="RESTRICT")
    )
    contract_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("customer_contract.id", ondelete="RESTRICT")
    )
    status: Mapped[str] = mapped_column(Text, default="selected", server_default="selected")
    period_start: Mapped[date | None] = mapped_column(Date)  # the run's, cut to the contract
    period_end: Mapped[date | None] = mapped_column(Date)
    consumption: Mapped[dict[str, Any] | None] = mapped_column(JSONB)  # register -> kWh
    kwh: Mapped[Decimal | None] = mapped_column(Numeric(14, 3))
    estimated: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    total: Mapped[int | None] = mapped_column(BigInteger)  # simulated, minor units
    currency: Mapped[str | None] = mapped_column(Text)
    checks: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list, server_default="{}")
    detail: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Checked at commit (migration 0031): a chunk marks its items before it numbers them.
    invoice_id: Mapped[int | None] = mapped_column(
        BigInteger,
        ForeignKey(
            "billing_invoice.id", ondelete="RESTRICT", deferrable=True, initially="DEFERRED"
        ),
    )
