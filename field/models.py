"""Field operations: the organisation (teams, technicians), reading cycles and rounds,
work orders with their lifecycle history, seals with their inventory and events.

Territory (``core.territory``): what belongs to an agency (teams, technicians, cycles,
rounds, seal batches and seals in stock) by its ``agency_id``; what happens at a usage
point (round items, work orders, applied seals, seal events) by that usage point, through
the customer domain's own rule.

Sync deltas: round items, work orders and seals carry ``technician_id`` (who holds them)
and ``change_version``, stamped by a trigger (migration 0011, ``CHANGE_VERSION_SQL``) from
a per-technician counter (``field_sync_counter``) on every insert and update. The counter
row is locked until the writing transaction ends, so one technician's versions commit in
the order they were drawn: a device that pulled up to version N never misses a change
that later commits with a version <= N. When a row leaves a technician (re-assignment), a
``field_assignment_release`` row tells that technician's device to drop it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ColumnElement,
    Date,
    DateTime,
    FetchedValue,
    Float,
    ForeignKey,
    Index,
    Integer,
    Sequence,
    Text,
    UniqueConstraint,
    and_,
    func,
    or_,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.models import Base, IdMixin, TimestampMixin
from core.territory import GLOBAL, Scope, through
from customers.models import UsagePoint

WORK_ORDER_NUMBER_SEQ = Sequence("field_work_order_number_seq")
ROUND_CODE_SEQ = Sequence("field_reading_round_code_seq")


def _at_usage_point(scope: Scope, usage_point_id: Any) -> ColumnElement[bool]:
    return through(UsagePoint, usage_point_id, scope)


def _change_version() -> Any:
    # Stamped by the trigger of migration 0011; FetchedValue makes the ORM re-read it.
    return mapped_column(
        BigInteger, server_default="0", server_onupdate=FetchedValue(), nullable=False
    )


class FieldTeam(IdMixin, TimestampMixin, Base):
    """A team of field technicians of one agency (a reading crew, a cut-and-restore crew)."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        return scope.holds(FieldTeam.agency_id)

    __tablename__ = "field_team"

    code: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    agency_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("core_agency.id"), index=True
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")


class Technician(IdMixin, TimestampMixin, Base):
    """A field technician or meter reader: a member of staff (a user who signs in on the
    handheld) of an agency, with the skills they hold and the weekdays they work."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        return scope.holds(Technician.agency_id)

    __tablename__ = "field_technician"
    __table_args__ = (CheckConstraint("working_days <@ ARRAY[1,2,3,4,5,6,7]", name="working_days"),)

    code: Mapped[str] = mapped_column(Text, unique=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("core_user.id"), unique=True)
    agency_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("core_agency.id"), index=True
    )
    team_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("field_team.id"), index=True)
    full_name: Mapped[str] = mapped_column(Text, default="", server_default="")
    skills: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list, server_default="{}")
    # ISO weekdays (1 = Monday ... 7 = Sunday).
    working_days: Mapped[list[int]] = mapped_column(
        ARRAY(Integer), default=lambda: [1, 2, 3, 4, 5], server_default="{1,2,3,4,5}"
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")


class SyncCounter(Base):
    """The last change version drawn for one technician (plumbing of the sync deltas)."""

    __territory__ = GLOBAL  # a number, nothing located
    __tablename__ = "field_sync_counter"

    technician_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("field_technician.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(BigInteger)


class AssignmentRelease(IdMixin, Base):
    """A round item, work order or seal that left a technician (given to someone else,
    or withdrawn): their device drops it."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        return through(Technician, AssignmentRelease.technician_id, scope)

    __tablename__ = "field_assignment_release"
    __table_args__ = (Index("ix_field_assignment_release_tech", "technician_id", "change_version"),)

    technician_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("field_technician.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(Text)  # round_item | work_order | seal
    object_id: Mapped[int] = mapped_column(BigInteger)
    change_version: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ReadingCycle(IdMixin, TimestampMixin, Base):
    """A reading cycle (itinerary group): the usage points read together every period."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        return scope.holds(ReadingCycle.agency_id)

    __tablename__ = "field_reading_cycle"

    code: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text, default="", server_default="")
    agency_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("core_agency.id"), index=True
    )


class ReadingCycleMember(IdMixin, Base):
    """A usage point's membership of its reading cycle (one cycle per usage point)."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        return _at_usage_point(scope, ReadingCycleMember.usage_point_id)

    __tablename__ = "field_reading_cycle_member"

    cycle_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("field_reading_cycle.id", ondelete="CASCADE"), index=True
    )
    usage_point_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customer_usage_point.id"), unique=True
    )


class ReadingRound(IdMixin, TimestampMixin, Base):
    """A meter-reading round: the usage points one reader visits for one period, in
    walking order. ``route_version`` grows whenever the order or the reader changes."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        return scope.holds(ReadingRound.agency_id)

    __tablename__ = "field_reading_round"
    __table_args__ = (CheckConstraint("status IN ('draft', 'assigned', 'closed')", name="status"),)

    code: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text, default="", server_default="")
    period_start: Mapped[date] = mapped_column(Date, index=True)  # the month read
    agency_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("core_agency.id"), index=True
    )
    status: Mapped[str] = mapped_column(Text, default="draft", server_default="draft")
    technician_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("field_technician.id"), index=True
    )
    # How it was built: {"by": "polygon", "polygon": {...}} (RoundSelection).
    selection: Mapped[dict[str, Any]] = mapped_column(JSONB)
    route_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # Walking distance in metres along the stored order (projected CRS, straight legs).
    route_length_m: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    ordering: Mapped[str] = mapped_column(Text, default="ortools", server_default="ortools")


class RoundItem(IdMixin, TimestampMixin, Base):
    """One stop of a reading round: the usage point and its meter, what the reader should
    expect on each register, and what happened (read, skipped with a code, pending)."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        return _at_usage_point(scope, RoundItem.usage_point_id)

    __tablename__ = "field_round_item"
    __table_args__ = (
        UniqueConstraint("round_id", "usage_point_id"),
        UniqueConstraint("round_id", "sequence", deferrable=True, initially="DEFERRED"),
        CheckConstraint("status IN ('pending', 'read', 'skipped')", name="status"),
        CheckConstraint("(status = 'skipped') = (skip_code IS NOT NULL)", name="skip_code"),
        Index("ix_field_round_item_tech_version", "technician_id", "change_version"),
    )

    round_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("field_reading_round.id", ondelete="CASCADE"), index=True
    )
    usage_point_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customer_usage_point.id"), index=True
    )
    sequence: Mapped[int] = mapped_column(Integer)  # walking order, from 1
    meter_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("meter_asset.id"))
    meter_serial: Mapped[str | None] = mapped_column(Text)
    # Per register code: {"previous": "1234", "previous_at": iso, "low": "1300", "high": ...}
    expected: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    access_notes: Mapped[str | None] = mapped_column(Text)
    technician_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("field_technician.id"))
    status: Mapped[str] = mapped_column(Text, default="pending", server_default="pending")
    skip_code: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    visited_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    visited_by: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("field_technician.id"))
    reading_ids: Mapped[list[int]] = mapped_column(
        ARRAY(BigInteger), default=list, server_default="{}"
    )
    # Worst validation status of the reads taken (accepted / flagged / rejected).
    reading_status: Mapped[str | None] = mapped_column(Text)
    gps_lon: Mapped[float | None] = mapped_column(Float)
    gps_lat: Mapped[float | None] = mapped_column(Float)
    gps_accuracy_m: Mapped[float | None] = mapped_column(Float)
    change_version: Mapped[int] = _change_version()


class WorkOrder(IdMixin, TimestampMixin, Base):
    """A work order: one intervention at a usage point (install, replace, cut, restore,
    re-read, final read ...), moving created -> planned -> assigned -> in progress ->
    completed / failed / cancelled, with its outcome."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        """By its usage point; one without (a network inspection) by its agency."""
        return or_(
            and_(
                WorkOrder.usage_point_id.is_not(None),
                _at_usage_point(scope, WorkOrder.usage_point_id),
            ),
            and_(WorkOrder.usage_point_id.is_(None), scope.holds(WorkOrder.agency_id)),
        )

    __tablename__ = "field_work_order"
    __table_args__ = (
        CheckConstraint(
            "status IN ('created', 'planned', 'assigned', 'in_progress', 'completed',"
            " 'failed', 'cancelled')",
            name="status",
        ),
        CheckConstraint("status <> 'failed' OR failure_code IS NOT NULL", name="failure_code"),
        Index("ix_field_work_order_tech_version", "technician_id", "change_version"),
        Index("ix_field_work_order_status_kind", "status", "kind"),
    )

    number: Mapped[str] = mapped_column(Text, unique=True)
    kind: Mapped[str] = mapped_column(Text)  # WorkOrderKind
    status: Mapped[str] = mapped_column(Text, default="created", server_default="created")
    usage_point_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("customer_usage_point.id"), index=True
    )
    meter_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("meter_asset.id"))
    contract_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("customer_contract.id"), index=True
    )
    round_item_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("field_round_item.id"), index=True
    )
    agency_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("core_agency.id"), index=True
    )
    team_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("field_team.id"))
    technician_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("field_technician.id"))
    priority: Mapped[int] = mapped_column(Integer, default=3, server_default="3")  # 1 urgent
    planned_date: Mapped[date | None] = mapped_column(Date)
    due_date: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(Text)
    # What asked for it, unique so that a redelivered request creates nothing twice
    # ("final_read:contract:42", "re_read:round_item:7").
    source_key: Mapped[str | None] = mapped_column(Text, unique=True)
    # What the technician needs: {"reading_date": ..., "new_meter_id": ..., "seal": ...}.
    instructions: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    failure_code: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    change_version: Mapped[int] = _change_version()


class WorkOrderTransition(IdMixin, Base):
    """One step of a work order's lifecycle (planned, assigned, started ...): who, when, why."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        return through(WorkOrder, WorkOrderTransition.work_order_id, scope)

    __tablename__ = "field_work_order_transition"

    work_order_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("field_work_order.id", ondelete="CASCADE"), index=True
    )
    event: Mapped[str] = mapped_column(Text)
    from_status: Mapped[str | None] = mapped_column(Text)
    to_status: Mapped[str] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    actor: Mapped[str] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class SealBatch(IdMixin, TimestampMixin, Base):
    """A batch of numbered seals received into an agency's store: ``prefix`` + every
    number from ``first_number`` to ``last_number``."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        return scope.holds(SealBatch.agency_id)

    __tablename__ = "field_seal_batch"
    __table_args__ = (CheckConstraint("last_number >= first_number", name="range"),)

    code: Mapped[str] = mapped_column(Text, unique=True)
    kind: Mapped[str] = mapped_column(Text)  # SealKind
    prefix: Mapped[str] = mapped_column(Text, default="", server_default="")
    first_number: Mapped[int] = mapped_column(BigInteger)
    last_number: Mapped[int] = mapped_column(BigInteger)
    digits: Mapped[int] = mapped_column(Integer, default=7, server_default="7")
    agency_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("core_agency.id"), index=True
    )
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Seal(IdMixin, TimestampMixin, Base):
    """A numbered tamper seal: in stock, in a technician's bag, applied on a meter or
    cabinet, then broken or removed (or lost). Its number is unique."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        """Applied: where its usage point is; otherwise by its store's agency."""
        return or_(
            and_(Seal.usage_point_id.is_not(None), _at_usage_point(scope, Seal.usage_point_id)),
            and_(Seal.usage_point_id.is_(None), scope.holds(Seal.agency_id)),
        )

    __tablename__ = "field_seal"
    __table_args__ = (
        CheckConstraint(
            "status IN ('in_stock', 'issued', 'applied', 'broken', 'removed', 'lost')",
            name="status",
        ),
        CheckConstraint("status <> 'applied' OR usage_point_id IS NOT NULL", name="applied_at"),
        Index("ix_field_seal_tech_version", "technician_id", "change_version"),
        Index("ix_field_seal_usage_point", "usage_point_id"),
    )

    number: Mapped[str] = mapped_column(Text, unique=True)
    batch_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("field_seal_batch.id"), index=True)
    kind: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, default="in_stock", server_default="in_stock")
    agency_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("core_agency.id"))
    technician_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("field_technician.id"))
    usage_point_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("customer_usage_point.id")
    )
    meter_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("meter_asset.id"))
    position: Mapped[str | None] = mapped_column(Text)  # SealPosition
    applied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    change_version: Mapped[int] = _change_version()


class SealEvent(IdMixin, Base):
    """Something that happened to a seal: received, issued, applied, verified, broken,
    removed, or found broken / missing / foreign on a visit. Events at a meter are tied to
    the visit (a work order or a round item); a number is applied at most once, ever
    (unique partial index: seals are single-use)."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        return or_(
            and_(
                SealEvent.usage_point_id.is_not(None),
                _at_usage_point(scope, SealEvent.usage_point_id),
            ),
            and_(
                SealEvent.usage_point_id.is_(None),
                SealEvent.seal_id.is_not(None),
                through(Seal, SealEvent.seal_id, scope),
            ),
        )

    __tablename__ = "field_seal_event"
    __table_args__ = (
        CheckConstraint(
            "event NOT IN ('apply', 'verify', 'break', 'remove', 'found_broken',"
            " 'found_missing', 'found_foreign')"
            " OR num_nonnulls(work_order_id, round_item_id) = 1",
            name="visit",
        ),
        Index(
            "uq_field_seal_event_applied_once",
            "seal_number",
            unique=True,
            postgresql_where=text("event = 'apply'"),
        ),
        Index("ix_field_seal_event_seal", "seal_id", "id"),
    )

    seal_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("field_seal.id"))
    seal_number: Mapped[str] = mapped_column(Text)
    event: Mapped[str] = mapped_column(Text)  # SealEventKind
    technician_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("field_technician.id"))
    work_order_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("field_work_order.id"), index=True
    )
    round_item_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("field_round_item.id"), index=True
    )
    usage_point_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("customer_usage_point.id"), index=True
    )
    meter_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("meter_asset.id"))
    position: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    gps_lon: Mapped[float | None] = mapped_column(Float)
    gps_lat: Mapped[float | None] = mapped_column(Float)
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
