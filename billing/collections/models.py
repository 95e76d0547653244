"""Dunning policies and their steps, each account's overdue state (its collection file),
the steps done, holds, payment plans, litigation, write-offs and their recoveries.

A ``CollectionFile`` is recomputed from the open receivable items on every payment,
reversal and plan change (never typed in), and the nightly advance moves it to its next
step when that step's day has come.
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
    or_,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from billing.collections.enums import (
    DelayUnit,
    FileStatus,
    HoldKind,
    HoldRule,
    PlanStatus,
    StepAction,
    StepChannel,
    WriteOffStatus,
)
from core.auth.models import DEFAULT_COMPANY_ID
from core.models import Base, IdMixin, TimestampMixin, one_of
from core.territory import COMPANY, Scope, company_of, through
from customers.models import Account


class CollectionPolicy(IdMixin, TimestampMixin, Base):
    """A utility's dunning policy for one customer category and agency (either may be
    NULL: any). The most specific active policy applies to an account. Late-payment
    interest: ``interest_rate`` a year, simple, ACT/365 (``interest_day_count``)."""

    __tablename__ = "collection_policy"
    __table_args__ = (
        CheckConstraint("interest_rate >= 0 AND interest_rate < 1", name="rate_valid"),
        CheckConstraint("interest_day_count IN ('ACT/365', 'ACT/360')", name="day_count_known"),
    )

    __territory__ = COMPANY  # each company's own rules, read by its agencies

    code: Mapped[str] = mapped_column(Text, unique=True)
    company_id: Mapped[int] = mapped_column(
        BigInteger,
        ForeignKey("core_company.id", ondelete="RESTRICT"),
        default=DEFAULT_COMPANY_ID,
        server_default=str(DEFAULT_COMPANY_ID),
        index=True,
    )
    name: Mapped[str] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(Text)  # UsageCategory; NULL: any
    agency_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("core_agency.id", ondelete="RESTRICT")
    )
    interest_rate: Mapped[Decimal] = mapped_column(Numeric(7, 6), default=0, server_default="0")
    interest_day_count: Mapped[str] = mapped_column(
        Text, default="ACT/365", server_default="ACT/365"
    )
    active: Mapped[bool] = mapped_column(default=True, server_default="true")


class CollectionStep(IdMixin, Base):
    """One step of a policy: ``delay`` (calendar or working) days after the oldest unpaid
    due date, fired only when at least ``min_amount`` is overdue; the customer is told by
    ``channel``, ``fee`` is charged (a fee item, paid first), and ``action`` is done."""

    __tablename__ = "collection_step"
    __table_args__ = (
        UniqueConstraint("policy_id", "position"),
        CheckConstraint(one_of("delay_unit", DelayUnit), name="delay_unit_known"),
        CheckConstraint(one_of("channel", StepChannel), name="channel_known"),
        CheckConstraint(one_of("action", StepAction), name="action_known"),
        CheckConstraint("delay >= 0 AND min_amount >= 0 AND fee >= 0", name="amounts_valid"),
    )

    __territory__ = company_of(CollectionPolicy, "policy_id")

    policy_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("collection_policy.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)  # 1, 2, 3 ...
    code: Mapped[str] = mapped_column(Text)  # "reminder", "formal_notice", "cut" ...
    delay: Mapped[int] = mapped_column(Integer)
    delay_unit: Mapped[str] = mapped_column(Text, default="days", server_default="days")
    min_amount: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    channel: Mapped[str] = mapped_column(Text)
    fee: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    action: Mapped[str] = mapped_column(Text, default="notice", server_default="notice")


class CollectionFile(Base):
    """An account's overdue state: how much is overdue since when, the last step done and
    the next one with its day, and why it was last recomputed. One row per account that
    ever had something to collect."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        return through(Account, CollectionFile.customer_account_id, scope)

    __tablename__ = "collection_file"
    __table_args__ = (
        CheckConstraint(one_of("status", FileStatus), name="status_known"),
        # No index on what the night changes (migration 0025): moving a file to its next
        # step is a heap-only update in the free space the fillfactor keeps.
        {"postgresql_with": {"fillfactor": 70}},
    )

    customer_account_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customer_account.id", ondelete="RESTRICT"), primary_key=True
    )
    policy_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("collection_policy.id", ondelete="RESTRICT")
    )
    status: Mapped[str] = mapped_column(Text, default="current", server_default="current")
    overdue_amount: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    unpaid_bills: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    oldest_due_date: Mapped[date | None] = mapped_column(Date)
    step_position: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_step_date: Mapped[date | None] = mapped_column(Date)
    cut_eligible_since: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    recomputed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class CollectionAction(IdMixin, Base):
    """A step done on an account on a business date: the amount overdue then, the fee
    charged (its open item), the notice sent (its notification)."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        return through(Account, CollectionAction.customer_account_id, scope)

    __tablename__ = "collection_action"
    __table_args__ = (UniqueConstraint("customer_account_id", "step_id", "cycle_start"),)

    # The account, step and fee item are checked once per statement by triggers (migration
    # 0025: a foreign key's per-row check was a third of the night), with the same error
    # (23503) and RESTRICT on their deletion. Looked up through the unique key, which
    # starts with the account (no index of its own).
    customer_account_id: Mapped[int] = mapped_column(BigInteger)  # customer_account.id
    step_id: Mapped[int] = mapped_column(BigInteger)  # collection_step.id
    position: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(Text)
    cycle_start: Mapped[date] = mapped_column(Date)  # the oldest due date the step counts from
    done_on: Mapped[date] = mapped_column(Date)
    amount_due: Mapped[int] = mapped_column(BigInteger)
    fee_item_id: Mapped[int | None] = mapped_column(BigInteger)  # billing_receivable_item.id
    notice_status: Mapped[str] = mapped_column(Text, default="pending", server_default="pending")
    notification_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class CollectionHold(IdMixin, TimestampMixin, Base):
    """Something that stops the steps it names (``blocks``: step actions, or ``*`` for
    every step): a vulnerable customer, medical needs, a dispute in progress on one account,
    or (no account) a regulatory period for every account."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        return or_(
            CollectionHold.customer_account_id.is_(None),
            through(Account, CollectionHold.customer_account_id, scope),
        )

    __tablename__ = "collection_hold"
    __table_args__ = (
        CheckConstraint(one_of("kind", HoldKind), name="kind_known"),
        CheckConstraint(one_of("rule", HoldRule), name="rule_known"),
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="dates_ordered"),
    )

    customer_account_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("customer_account.id", ondelete="RESTRICT"), index=True
    )
    kind: Mapped[str] = mapped_column(Text)
    rule: Mapped[str] = mapped_column(Text, default="dates", server_default="dates")
    blocks: Mapped[list[str]] = mapped_column(ARRAY(Text))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)  # inclusive; NULL: until lifted
    reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_by: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("core_user.id", ondelete="SET NULL")
    )


class PaymentPlan(IdMixin, TimestampMixin, Base):
    """A payment plan (moratoire) over one or several open items of an account: a down
    payment and instalments with due dates. In good standing it suspends the steps; an
    instalment unpaid ``grace_days`` after its due date breaks it."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        return through(Account, PaymentPlan.customer_account_id, scope)

    __tablename__ = "collection_plan"
    __table_args__ = (
        CheckConstraint(one_of("status", PlanStatus), name="status_known"),
        Index(
            "uq_collection_plan_active",
            "customer_account_id",
            unique=True,
            postgresql_where="status = 'active'",
        ),
    )

    customer_account_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customer_account.id", ondelete="RESTRICT"), index=True
    )
    status: Mapped[str] = mapped_column(Text, default="active", server_default="active")
    item_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger))  # the items it covers
    principal: Mapped[int] = mapped_column(BigInteger)  # open on those items at agreement
    interest: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    interest_item_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("billing_receivable_item.id", ondelete="RESTRICT")
    )
    down_payment: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    agreed_on: Mapped[date] = mapped_column(Date)
    grace_days: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_by: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("core_user.id", ondelete="SET NULL")
    )


class PaymentPlanInstalment(IdMixin, Base):
    """One instalment of a plan (sequence 0 is the down payment, due on agreement)."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        return through(Account, PaymentPlanInstalment.customer_account_id, scope)

    __tablename__ = "collection_plan_instalment"
    __table_args__ = (UniqueConstraint("plan_id", "sequence"),)

    plan_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("collection_plan.id", ondelete="CASCADE"), index=True
    )
    customer_account_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customer_account.id", ondelete="RESTRICT")
    )
    sequence: Mapped[int] = mapped_column(Integer)
    due_date: Mapped[date] = mapped_column(Date)
    amount: Mapped[int] = mapped_column(BigInteger)


class PaymentPlanTransition(IdMixin, Base):
    """One step of a plan's lifecycle (agreed, broken, completed, cancelled)."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        return through(PaymentPlan, PaymentPlanTransition.plan_id, scope)

    __tablename__ = "collection_plan_transition"

    plan_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("collection_plan.id", ondelete="CASCADE"), index=True
    )
    event: Mapped[str] = mapped_column(Text)
    from_status: Mapped[str | None] = mapped_column(Text)
    to_status: Mapped[str] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Litigation(IdMixin, TimestampMixin, Base):
    """An account handed to a bailiff or a lawyer with its documents (bills, notices)."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        return through(Account, Litigation.customer_account_id, scope)

    __tablename__ = "collection_litigation"
    __table_args__ = (
        CheckConstraint("handler_kind IN ('bailiff', 'lawyer', 'pending')", name="kind_known"),
    )

    customer_account_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customer_account.id", ondelete="RESTRICT"), index=True
    )
    handler_kind: Mapped[str] = mapped_column(Text, default="pending", server_default="pending")
    handler_name: Mapped[str] = mapped_column(Text, default="", server_default="")
    amount: Mapped[int] = mapped_column(BigInteger)
    documents: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    opened_on: Mapped[date] = mapped_column(Date)
    created_by: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("core_user.id", ondelete="SET NULL")
    )


class WriteOff(IdMixin, TimestampMixin, Base):
    """Uncollectable debt (non-valeur) written off: asked by one person, approved by
    another, then posted (bad-debt expense debit, receivable credit). A later payment
    recovers it (``recovered``) by the mirror posting."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        return through(Account, WriteOff.customer_account_id, scope)

    __tablename__ = "collection_write_off"
    __table_args__ = (
        CheckConstraint(one_of("status", WriteOffStatus), name="status_known"),
        CheckConstraint("amount > 0 AND recovered >= 0 AND recovered <= amount", name="amounts"),
    )

    customer_account_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customer_account.id", ondelete="RESTRICT"), index=True
    )
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, default="requested", server_default="requested")
    reason: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(Text)
    approved_by: Mapped[str | None] = mapped_column(Text)
    decided_on: Mapped[date | None] = mapped_column(Date)
    ledger_transaction_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("billing_ledger_transaction.id", ondelete="RESTRICT")
    )
    recovered: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class WriteOffRecovery(IdMixin, Base):
    """Part of a write-off recovered by a payment: receivable debit, bad-debt expense
    credit (the payment itself credited the receivable)."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        return through(Account, WriteOffRecovery.customer_account_id, scope)

    __tablename__ = "collection_write_off_recovery"
    __table_args__ = (UniqueConstraint("write_off_id", "payment_id"),)

    write_off_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("collection_write_off.id", ondelete="RESTRICT"), index=True
    )
    customer_account_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customer_account.id", ondelete="RESTRICT")
    )
    payment_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("billing_payment.id", ondelete="RESTRICT")
    )
    amount: Mapped[int] = mapped_column(BigInteger)
    ledger_transaction_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("billing_ledger_transaction.id", ondelete="RESTRICT")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class InterestCharge(IdMixin, Base):
    """Late-payment interest charged on one overdue item up to ``through_date`` (the next
    charge starts the day after)."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        return through(Account, InterestCharge.customer_account_id, scope)

    __tablename__ = "collection_interest"

    customer_account_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customer_account.id", ondelete="RESTRICT"), index=True
    )
    source_item_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("billing_receivable_item.id", ondelete="RESTRICT"), index=True
    )
    interest_item_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("billing_receivable_item.id", ondelete="RESTRICT")
    )
    base: Mapped[int] = mapped_column(BigInteger)
    days: Mapped[int] = mapped_column(Integer)
    through_date: Mapped[date] = mapped_column(Date)
    amount: Mapped[int] = mapped_column(BigInteger)
