"""Meter assets, their registers, where they are installed, the validation rule sets, and
the readings taken from them.

Territory (``core.territory``): everything here is placed by the usage point it serves,
whose premises' point lies in an agency's outline. A meter is placed by its current
installation (customer or zone); a meter in stock, removed or scrapped has no place, so
every member of staff holding ``meters:read`` sees it (the store is shared), but it can be
installed only at a usage point the installer sees. Registers follow their meter,
installations and readings their usage point (a reading without one, e.g. a zone meter's,
follows its meter). Rule sets are the same everywhere (``GLOBAL``).

``meter_reading`` is the big table: it is partitioned by month of ``read_at`` (partitions
live in the ``meter_reading_part`` schema, created on demand by
``meters.readings.partitions``), its natural key is (register, read_at, source), and it is
written set-based by the bulk loader. The "one meter at a time" rules of installations are
exclusion constraints on time ranges (migration 0004), so they hold for back-dated edits
too.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ColumnElement,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    Sequence,
    Text,
    UniqueConstraint,
    and_,
    exists,
    func,
    or_,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, aliased, mapped_column

from core.models import Base, IdMixin, TimestampMixin
from core.territory import GLOBAL, Scope, through
from customers.models import UsagePoint
from meters.zone_models import ZoneMeterInstallation, zone_in

READING_ID_SEQUENCE = Sequence("meter_reading_id_seq", cache=1000)
READING_PARTITION_SCHEMA = "meter_reading_part"


# Each rule aliases the tables it looks through, so that it never correlates with a table
# of the query it filters (a list of installations joined with meters, say).


def usage_point_in(scope: Scope, usage_point_id: Any) -> ColumnElement[bool]:
    """The usage point ``usage_point_id`` (a column or value) lies in the scope, by the
    customer domain's own rule for usage points."""
    return through(UsagePoint, usage_point_id, scope)


def meter_in(scope: Scope, meter_id: Any) -> ColumnElement[bool]:
    """The meter ``meter_id`` is seen in the scope unless it is fitted now somewhere
    outside it (at a usage point or a network zone): stock has no place."""
    fitted, zone = aliased(MeterInstallation), aliased(ZoneMeterInstallation)
    fitted_outside = exists().where(
        fitted.meter_id == meter_id,
        fitted.removed_at.is_(None),
        ~usage_point_in(scope, fitted.usage_point_id),
    )
    zone_outside = exists().where(
        zone.meter_id == meter_id, zone.removed_at.is_(None), ~zone_in(scope, zone)
    )
    return and_(~fitted_outside, ~zone_outside)


class Meter(IdMixin, TimestampMixin, Base):
    """A physical electricity meter (an asset with a serial number), in stock or in the field."""

    __tablename__ = "meter_asset"
    __table_args__ = (
        CheckConstraint("meter_type IN ('postpaid', 'prepaid', 'smart')", name="meter_type"),
        CheckConstraint(
            "status IN ('in_stock', 'installed', 'removed', 'scrapped')", name="status"
        ),
        CheckConstraint("dial_digits BETWEEN 3 AND 10", name="dial_digits"),
        CheckConstraint("multiplier > 0", name="multiplier"),
        CheckConstraint("phases IN (1, 3)", name="phases"),
    )

    serial: Mapped[str] = mapped_column(Text, unique=True)
    make: Mapped[str] = mapped_column(Text, default="", server_default="")
    model: Mapped[str] = mapped_column(Text, default="", server_default="")
    meter_type: Mapped[str] = mapped_column(Text)  # MeterType
    dial_digits: Mapped[int] = mapped_column(Integer, default=5, server_default="5")
    # CT-connected meters count a fraction of the energy: kWh = advance x multiplier.
    multiplier: Mapped[Decimal] = mapped_column(Numeric(12, 4), default=1, server_default="1")
    phases: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    status: Mapped[str] = mapped_column(Text, default="in_stock", server_default="in_stock")
    # Store or warehouse holding the meter while it is not in the field.
    stock_location: Mapped[str | None] = mapped_column(Text)

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:  # by its current installation
        return meter_in(scope, Meter.id)


class Register(IdMixin, Base):
    """One energy register of a meter (the whole consumption, or one time-of-use band)."""

    __tablename__ = "meter_register"
    __table_args__ = (UniqueConstraint("meter_id", "code"),)

    meter_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("meter_asset.id", ondelete="CASCADE"), index=True
    )
    code: Mapped[str] = mapped_column(Text, default="total")  # RegisterCode
    unit: Mapped[str] = mapped_column(Text, default="kWh", server_default="kWh")

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:  # by its meter
        return meter_in(scope, Register.meter_id)


class MeterInstallation(IdMixin, TimestampMixin, Base):
    """A meter fitted at a usage point, from its installation (start index) to its removal
    (end index). Indexes are per register code: {"total": "1234"}."""

    __tablename__ = "meter_installation"
    __table_args__ = (
        CheckConstraint("removed_at IS NULL OR removed_at > installed_at", name="dates"),
        CheckConstraint("(removed_at IS NULL) = (end_indexes IS NULL)", name="end_index"),
        CheckConstraint("register_set IN ('main', 'export', 'check')", name="register_set"),
    )

    meter_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("meter_asset.id"), index=True)
    usage_point_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customer_usage_point.id"), index=True
    )
    register_set: Mapped[str] = mapped_column(Text, default="main", server_default="main")
    installed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    start_indexes: Mapped[dict[str, Any]] = mapped_column(JSONB)
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    end_indexes: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # Set when this installation took over from another meter (a replacement).
    replaces_installation_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("meter_installation.id")
    )
    removal_reason: Mapped[str | None] = mapped_column(Text)
    installed_by: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("core_user.id", ondelete="SET NULL")
    )

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:  # by its usage point
        return usage_point_in(scope, MeterInstallation.usage_point_id)


class ValidationRuleSet(IdMixin, Base):
    """One version of the reading validation and estimation rules (parameters as JSON).
    Every reading records the version that judged it; exactly one version is active."""

    __tablename__ = "meter_validation_rule_set"
    __table_args__ = (
        Index(
            "uq_meter_validation_rule_set_active",
            "is_active",
            unique=True,
            postgresql_where=text("is_active"),
        ),
    )

    __territory__ = GLOBAL  # the same rules judge every agency's reads

    version: Mapped[int] = mapped_column(Integer, unique=True)
    name: Mapped[str] = mapped_column(Text, default="", server_default="")
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONB)
    is_active: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_by: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("core_user.id", ondelete="SET NULL")
    )


class Reading(Base):
    """One index read from one register of a meter at one instant (or an estimate of it),
    with its validation outcome: status, reason codes and the rule-set version that judged it.
    A rejected read is kept; a superseded estimate is kept."""

    __tablename__ = "meter_reading"
    __table_args__ = (
        # The natural key is the only full index: each more costs ~20% of bulk-load speed.
        # Per usage point, reads are found through its installations' registers.
        UniqueConstraint("register_id", "read_at", "source"),
        # Estimates still standing: what a real read may supersede (a small partial index).
        Index(
            "ix_meter_reading_open_estimate",
            "register_id",
            "read_at",
            postgresql_where=text("source = 'estimated' AND status IN ('accepted', 'flagged')"),
        ),
        CheckConstraint("source IN ('handheld', 'self_read', 'ami', 'estimated')", name="source"),
        CheckConstraint(
            "status IN ('accepted', 'flagged', 'rejected', 'superseded')", name="status"
        ),
        CheckConstraint("photo_sha256 ~ '^[0-9a-f]{64}$'", name="photo_sha256"),
        {"postgresql_partition_by": "RANGE (read_at)"},
    )

    # Unique by its sequence, without a primary-key index (the ORM identity is id, read_at).
    id: Mapped[int] = mapped_column(
        BigInteger, READING_ID_SEQUENCE, server_default=READING_ID_SEQUENCE.next_value()
    )
    read_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # No foreign keys on this table: the loaders resolve every id by joining the parent
    # tables, and per-row RI checks would cost seconds per million reads.
    register_id: Mapped[int] = mapped_column(BigInteger)
    meter_id: Mapped[int] = mapped_column(BigInteger)
    # Resolved at validation from the installation covering read_at (NULL when none does).
    installation_id: Mapped[int | None] = mapped_column(BigInteger)
    usage_point_id: Mapped[int | None] = mapped_column(BigInteger)
    value: Mapped[Decimal] = mapped_column(Numeric(16, 3))
    source: Mapped[str] = mapped_column(Text)  # ReadingSource
    quality: Mapped[str] = mapped_column(Text, default="actual", server_default="actual")
    status: Mapped[str] = mapped_column(Text)  # ReadingStatus
    reason_codes: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list, server_default="{}")
    rule_set_version: Mapped[int] = mapped_column(Integer)
    reader_id: Mapped[int | None] = mapped_column(BigInteger)  # core_user.id
    gps: Mapped[Any | None] = mapped_column(
        Geometry("POINT", srid=4326, spatial_index=False), nullable=True
    )
    photo_sha256: Mapped[str | None] = mapped_column(Text)
    estimation_method: Mapped[str | None] = mapped_column(Text)  # EstimationMethod
    superseded_by_id: Mapped[int | None] = mapped_column(BigInteger)
    superseded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The bulk job (import) that wrote it, for tracing a file back to its rows.
    import_job: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    __mapper_args__ = {"primary_key": [id, read_at]}

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        """By its usage point; a read resolved to none (a zone meter's, or one taken while
        the meter was not installed) by its meter."""
        return or_(
            and_(
                Reading.usage_point_id.is_not(None),
                usage_point_in(scope, Reading.usage_point_id),
            ),
            and_(Reading.usage_point_id.is_(None), meter_in(scope, Reading.meter_id)),
        )
