"""What the demo builder knows and the system must discover: the demo batches built, and
the ground truth of each (true consumption, injected thefts, technical losses).

NEVER READ BY FRAUD MODELS. ``demo_ground_truth`` exists only to evaluate detection
afterwards (precision, recall, recovered energy). Features, scores and models must be
computed from what a real utility has (readings, zone meters, network, customers); the
import rules keep every domain package from importing this module.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.models import Base, IdMixin
from core.territory import GLOBAL

SUBJECTS = ("usage_point", "transformer", "feeder")
ATTACKS = (
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "bypass",
    "meter_stopped",
    "meter_reversed",
    "partial_bypass",
    "intermittent",
    "seasonal",
)


class DemoBatch(IdMixin, Base):
    """One demo utility built by ``kilowatch demo`` for a seed: its size, the first month
    of its 24 months of readings, row counts and build timings. Its presence makes a
    re-run with the same seed a no-op."""

    __territory__ = GLOBAL
    __tablename__ = "demo_batch"

    seed: Mapped[int] = mapped_column(BigInteger, unique=True)
    customers: Mapped[int] = mapped_column(Integer)
    service_points: Mapped[int] = mapped_column(Integer)
    network_prefix: Mapped[str] = mapped_column(Text)
    # Month m of every ground-truth array is first_month + m months (the utility's local calendar months).
    first_month: Mapped[date] = mapped_column(Date)
    months: Mapped[int] = mapped_column(Integer)
    counts: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    seconds: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class DemoGroundTruth(IdMixin, Base):
    """The truth about one usage point or one network zone of a demo batch, per calendar
    month (kWh): the energy really used (``true_kwh``), what the meter registered
    (``metered_kwh``), and for zones the technical loss (``loss_kwh``; the zone meter
    recorded true + loss). For a usage point that steals: the attack (Jokar et al. 2016
    h1..h6, bypass, meter_stopped, meter_reversed), the month it starts (and ends, for an
    on/off window) and its parameters. Never read by fraud models (see the module doc)."""

    __territory__ = GLOBAL
    __tablename__ = "demo_ground_truth"
    __table_args__ = (
        CheckConstraint("subject IN ('usage_point', 'transformer', 'feeder')", name="subject"),
        CheckConstraint(
            "attack IS NULL OR attack IN ('h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'bypass', "
            "'meter_stopped', 'meter_reversed', 'partial_bypass', 'intermittent', 'seasonal')",
            name="attack",
        ),
        Index("ix_demo_ground_truth_batch_subject", "batch_id", "subject"),
    )

    batch_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("demo_batch.id", ondelete="CASCADE")
    )
    subject: Mapped[str] = mapped_column(Text)
    usage_point_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("customer_usage_point.id", ondelete="CASCADE"), index=True
    )
    transformer_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("gis_power_transformer.id", ondelete="CASCADE"), index=True
    )
    feeder_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("gis_feeder.id", ondelete="CASCADE"), index=True
    )
    # The zone meter of a transformer or feeder row.
    meter_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("meter_asset.id", ondelete="CASCADE")
    )
    category: Mapped[str | None] = mapped_column(Text)
    true_kwh: Mapped[list[Decimal]] = mapped_column(ARRAY(Numeric(14, 3)))
    metered_kwh: Mapped[list[Decimal]] = mapped_column(ARRAY(Numeric(14, 3)))
    loss_kwh: Mapped[list[Decimal] | None] = mapped_column(ARRAY(Numeric(14, 3)))
    attack: Mapped[str | None] = mapped_column(Text)
    attack_from: Mapped[date | None] = mapped_column(Date)  # first month of the attack
    attack_to: Mapped[date | None] = mapped_column(Date)  # first month after it (exclusive)
    attack_parameters: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    # Months (0-based offsets from the batch's first month) deliberately left without a read.
    missing_read_months: Mapped[list[int]] = mapped_column(
        ARRAY(SmallInteger), default=list, server_default="{}"
    )
    # Other events the readings show: {"rollover_month": 7, "replaced_month": 12, ...}.
    events: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
