"""Revenue protection's tables: NTL cases (a suspected non-technical loss at a usage
point, from the flag or the tip to the back-bill and the label) with their step history,
and the assessment rule sets (the regulator's order, versioned data).

Territory (``core.territory``): a case lies where its usage point does; the rule sets are
the same for every agency (``GLOBAL``).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
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
from sqlalchemy import text as text_
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.models import Base, IdMixin, TimestampMixin
from core.territory import GLOBAL, Scope, through
from customers.models import UsagePoint

_OPEN = "status NOT IN ('closed', 'dismissed')"


class NtlCase(IdMixin, TimestampMixin, Base):
    """A suspected non-technical loss at one usage point (theft, tampering, a fault that
    lost energy): opened from a fraud flag, a seal anomaly, a tip or by hand; inspected
    through a field work order; its unbilled energy assessed and back-billed; contested
    perhaps; closed with what was recovered. At most one open case per usage point."""

    __tablename__ = "rp_ntl_case"
    __table_args__ = (
        Index(
            "uq_rp_ntl_case_open_usage_point",
            "usage_point_id",
            unique=True,
            postgresql_where=text_(_OPEN),
        ),
        UniqueConstraint("source", "source_ref", name="uq_rp_ntl_case_source"),
        CheckConstraint(
            "source IN ('fraud_flag', 'seal_anomaly', 'field_tip', 'manual')", name="source_known"
        ),
        CheckConstraint(
            "status IN ('open', 'inspecting', 'inspected', 'assessed', 'billed', 'contested',"
            " 'closed', 'dismissed')",
            name="status_known",
        ),
    )

    usage_point_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customer_usage_point.id"), index=True
    )
    contract_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("customer_contract.id"))
    source: Mapped[str] = mapped_column(Text)  # CaseSource
    source_ref: Mapped[str | None] = mapped_column(Text)  # flag id, seal event id ...
    flag_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("fraud_flag.id"))
    status: Mapped[str] = mapped_column(Text, default="open", server_default="open")
    priority: Mapped[int] = mapped_column(Integer, default=3, server_default="3")
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    inspection_work_order_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("field_work_order.id"), index=True
    )
    # What the inspection found: photos, seal states, meter state, load found (kW) ...
    findings: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    irregularity: Mapped[str | None] = mapped_column(Text)  # Irregularity
    inspected_on: Mapped[date | None] = mapped_column(Date)
    irregularity_since: Mapped[date | None] = mapped_column(Date)
    # The assessment: every method's figure, the one used, the period claimed, penalty.
    assessment: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    unbilled_kwh: Mapped[Decimal | None] = mapped_column(Numeric(14, 3))
    penalty: Mapped[int | None] = mapped_column(BigInteger)  # minor units
    back_bill_invoice_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("billing_invoice.id")
    )
    contestation: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    recovered_kwh: Mapped[Decimal | None] = mapped_column(Numeric(14, 3))
    recovered_amount: Mapped[int | None] = mapped_column(BigInteger)  # minor units
    currency: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        return through(UsagePoint, NtlCase.usage_point_id, scope)


class NtlCaseStep(IdMixin, Base):
    """One step of an NTL case's lifecycle: who, when, from, to, why (``core.lifecycle``)."""

    __tablename__ = "rp_ntl_case_step"

    case_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("rp_ntl_case.id", ondelete="CASCADE"), index=True
    )
    event: Mapped[str] = mapped_column(Text)
    from_status: Mapped[str | None] = mapped_column(Text)
    to_status: Mapped[str] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        return through(NtlCase, NtlCaseStep.case_id, scope)


class AssessmentRuleSet(IdMixin, TimestampMixin, Base):
    """The regulator's order on assessing unbilled energy, as data: the methods in their
    order, their parameters, the cap on the months that may be claimed, the penalties.
    Versioned: the version in force on the inspection day applies."""

    __tablename__ = "rp_assessment_rule_set"
    __territory__ = GLOBAL

    version: Mapped[int] = mapped_column(Integer, unique=True)
    effective_from: Mapped[date] = mapped_column(Date)
    definition: Mapped[dict[str, Any]] = mapped_column(JSONB)
    note: Mapped[str] = mapped_column(Text, default="", server_default="")


class RestorationRuleSet(IdMixin, TimestampMixin, Base):
    """The decision table of automatic restoration, as versioned data: the balance
    threshold, the crew hours, and the ordered rules (a named condition -> restore
    remotely, send a field order, or hold with a reason). The newest version applies."""

    __tablename__ = "rp_restoration_rule_set"
    __territory__ = GLOBAL

    version: Mapped[int] = mapped_column(Integer, unique=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSONB)
    note: Mapped[str] = mapped_column(Text, default="", server_default="")


class SupplyActionPolicy(IdMixin, TimestampMixin, Base):
    """Which customers a cut campaign reduces to a few kVA instead of cutting (by category,
    subscribed power, vulnerability, meter), as versioned data: ordered rules, the first
    that matches decides; none matching means a cut. The newest version applies."""

    __tablename__ = "rp_supply_action_policy"
    __territory__ = GLOBAL

    version: Mapped[int] = mapped_column(Integer, unique=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSONB)
    note: Mapped[str] = mapped_column(Text, default="", server_default="")


class SupplyHold(IdMixin, TimestampMixin, Base):
    """A reason not to restore a usage point automatically whatever is paid (a court
    order, a safety issue, a regulator's instruction) until it is released."""

    __tablename__ = "rp_supply_hold"

    usage_point_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customer_usage_point.id"), index=True
    )
    reason: Mapped[str] = mapped_column(Text)
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        return through(UsagePoint, SupplyHold.usage_point_id, scope)


class Restoration(IdMixin, TimestampMixin, Base):
    """One restoration process of a cut (or reduced) usage point after money arrived:
    the decision (restore remotely, field order, or hold and why), the command to the
    head-end or the restore work order, each step timed from the payment's commit."""

    __tablename__ = "rp_restoration"
    __table_args__ = (
        UniqueConstraint("trigger", "payment_id", "usage_point_id", name="uq_rp_restoration_once"),
        Index("ix_rp_restoration_status", "status", "started_at"),
    )

    usage_point_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customer_usage_point.id"), index=True
    )
    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("customer_account.id"))
    payment_id: Mapped[int] = mapped_column(BigInteger)
    trigger: Mapped[str] = mapped_column(Text)  # payment_posted | payment_cleared
    status: Mapped[str] = mapped_column(Text)  # held | commanding | field_order | restored
    branch: Mapped[str] = mapped_column(Text)  # remote | field | hold
    reason: Mapped[str | None] = mapped_column(Text)
    rule_version: Mapped[int | None] = mapped_column(Integer)
    work_order_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("field_work_order.id"), index=True
    )
    head_end_ref: Mapped[str | None] = mapped_column(Text)
    payment_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    command_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    restored_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        return through(UsagePoint, Restoration.usage_point_id, scope)


class Campaign(IdMixin, TimestampMixin, Base):
    """A cut, power-reduction, restoration or inspection campaign: usage points chosen by
    criteria, split among agents as routes, worked from the handheld (each visit is a
    field work order), followed on a map. Lies in the agency that runs it."""

    __tablename__ = "rp_campaign"

    name: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)  # cut | reduce_power | restore | inspect
    agency_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("core_agency.id"))
    criteria: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(Text, default="draft", server_default="draft")
    planned_date: Mapped[date | None] = mapped_column(Date)
    reconnection_fee: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    reduce_to_kva: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        return scope.holds(Campaign.agency_id)


class CampaignItem(IdMixin, Base):
    """One usage point of a campaign: its agent, its place in the agent's route, the work
    order (or the remote command) and the outcome."""

    __tablename__ = "rp_campaign_item"
    __table_args__ = (
        UniqueConstraint("campaign_id", "usage_point_id"),
        CheckConstraint(
            "action IS NULL OR action IN ('cut', 'reduce', 'restore', 'inspect')",
            name="action_known",
        ),
        CheckConstraint(
            "paid_status IS NULL OR paid_status IN ('posted', 'to_verify', 'verified', 'rejected')",
            name="paid_status_known",
        ),
    )

    campaign_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("rp_campaign.id", ondelete="CASCADE"), index=True
    )
    usage_point_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("customer_usage_point.id"))
    account_id: Mapped[int | None] = mapped_column(BigInteger)
    technician_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("field_technician.id"))
    sequence: Mapped[int | None] = mapped_column(Integer)
    work_order_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("field_work_order.id"), index=True
    )
    remote_ref: Mapped[str | None] = mapped_column(Text)
    # pending | done | paid_on_spot | refused | no_access | meter_not_found | failed
    outcome: Mapped[str] = mapped_column(Text, default="pending", server_default="pending")
    outcome_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # What the visit does here (``revenue_protection.supply_policy``): a cut campaign
    # reduces the power of the customers the policy protects instead of cutting them.
    action: Mapped[str | None] = mapped_column(Text)
    limit_kva: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
    # The customer paid on the spot: the amount and receipt reference the agent reported;
    # ``posted`` when the agent took the money (``payment_id``), ``to_verify`` when the
    # customer showed a receipt of a payment made elsewhere (a claim for the back office).
    paid_amount: Mapped[int | None] = mapped_column(BigInteger)
    paid_reference: Mapped[str | None] = mapped_column(Text)
    paid_status: Mapped[str | None] = mapped_column(Text)
    payment_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("billing_payment.id"))

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        return through(UsagePoint, CampaignItem.usage_point_id, scope)
