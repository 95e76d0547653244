"""Zone energy balances: for each network zone (a distribution transformer's LV zone, or a
whole MV feeder) and month, the energy that went in against the energy customers' meters
recorded, the technical losses the network is expected to burn, and what is left: the
non-technical loss (theft, tampering, billing gaps). Plus what the balance needs: the loss
models computed by a load flow, the load-and-length model's calibration, and the unmetered
loads (public lighting) of each zone.

Territory (``core.territory``): everything about a zone lies where the zone does: a
transformer zone where its transformer stands, a feeder zone where its lines run (the
network's own rules, through ``meters.zone_models.zone_in``). The calibration of the
load-and-length model is one set of constants for every agency (``GLOBAL``).

Units: energy in kWh, power in kW, lengths in metres (measured in the projected CRS by the
network import), shares as fractions (0.05 = 5 %).
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
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    Text,
    exists,
    func,
)
from sqlalchemy import text as text_
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.models import Base, IdMixin, TimestampMixin
from core.territory import GLOBAL, Scope
from meters.zone_models import zone_in

_ONE_ZONE = "num_nonnulls(transformer_id, feeder_id) = 1"


def _transformer() -> Any:
    return mapped_column(
        BigInteger, ForeignKey("gis_power_transformer.id", ondelete="CASCADE"), index=True
    )


def _feeder() -> Any:
    return mapped_column(BigInteger, ForeignKey("gis_feeder.id", ondelete="CASCADE"), index=True)


def _kwh() -> Any:
    return mapped_column(Numeric(16, 3))


class ZoneBalance(IdMixin, TimestampMixin, Base):
    """The energy balance of one zone (a transformer's LV zone or a whole feeder) over one
    month of the local calendar ``[period_start, period_end)``.

    ``ntl_kwh = energy_in_kwh - metered_kwh - unmetered_kwh - technical_loss_kwh`` and
    ``ntl_share = ntl_kwh / energy_in_kwh``. A zone whose data is incomplete is not
    analysable (``analysable`` false, ``reason`` says why) and has no NTL: missing data is
    never a zero. ``flagged`` marks a zone whose NTL share broke the flag rule (see
    ``fraud.flags``); ``threshold_share`` is the bar it was held to that month.
    """

    __tablename__ = "fraud_zone_balance"
    __table_args__ = (
        CheckConstraint(_ONE_ZONE, name="one_zone"),
        CheckConstraint("period_end > period_start", name="period"),
        CheckConstraint("analysable = (reason IS NULL)", name="reason"),
        CheckConstraint("NOT analysable OR ntl_kwh IS NOT NULL", name="ntl"),
        Index(
            "uq_fraud_zone_balance_zone_period",
            "transformer_id",
            "feeder_id",
            "period_start",
            unique=True,
            postgresql_nulls_not_distinct=True,
        ),
        Index("ix_fraud_zone_balance_period_start", "period_start"),
    )

    transformer_id: Mapped[int | None] = _transformer()
    feeder_id: Mapped[int | None] = _feeder()
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    # Energy entering the zone, read by its zone meter(s); None when not measured.
    energy_in_kwh: Mapped[Decimal | None] = _kwh()
    # Customers' consumption aligned to the month (``fraud.alignment``), estimates included.
    metered_kwh: Mapped[Decimal] = _kwh()
    # The part of metered_kwh resting on estimates: intervals closed by an estimated read,
    # and the extrapolated tail of a usage point not yet read past the month's end.
    estimated_kwh: Mapped[Decimal] = _kwh()
    usage_points: Mapped[int] = mapped_column(Integer)  # metered usage points in the zone
    usage_points_unread: Mapped[int] = mapped_column(Integer)  # with no read covering the month
    unmetered_kwh: Mapped[Decimal] = _kwh()  # public lighting and other unmetered loads
    technical_loss_kwh: Mapped[Decimal | None] = _kwh()
    loss_method: Mapped[str | None] = mapped_column(Text)  # LossMethod
    ntl_kwh: Mapped[Decimal | None] = _kwh()
    ntl_share: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    analysable: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(Text)  # NotAnalysableReason
    threshold_share: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    flagged: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:  # where its zone lies
        return zone_in(scope, ZoneBalance)


class ZoneLossModel(IdMixin, TimestampMixin, Base):
    """The technical losses of one zone as a function of the energy entering it, measured by
    a load flow of the zone's real network model (OpenDSS): ``samples`` are
    ``[energy_in_kwh_per_day, loss_kwh_per_day]`` pairs, one per load level solved (the
    feeder's daily load shapes scaled by a multiplier). A balance interpolates between them
    (``fraud.losses``). One model per zone: a new load flow replaces it."""

    __tablename__ = "fraud_zone_loss_model"
    __table_args__ = (
        CheckConstraint(_ONE_ZONE, name="one_zone"),
        Index(
            "uq_fraud_zone_loss_model_zone",
            "transformer_id",
            "feeder_id",
            unique=True,
            postgresql_nulls_not_distinct=True,
        ),
    )

    transformer_id: Mapped[int | None] = _transformer()
    feeder_id: Mapped[int | None] = _feeder()
    method: Mapped[str] = mapped_column(Text)  # LossMethod
    samples: Mapped[list[list[float]]] = mapped_column(JSONB)
    source: Mapped[str] = mapped_column(Text)  # the network model solved (folder name)

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        return zone_in(scope, ZoneLossModel)


class LossCalibration(IdMixin, Base):
    """A calibration of the load-and-length loss model (``fraud.losses``) against load
    flows: ``no_load_factor`` scales its iron-loss term and ``load_factor`` its load (I²R)
    term so that, over the transformer zones of the feeders named in ``source``, it
    reproduces the losses OpenDSS computed. The newest row is the one used; with none, the
    documented constants stand."""

    __tablename__ = "fraud_loss_calibration"
    __territory__ = GLOBAL  # one set of constants for the whole network

    no_load_factor: Mapped[float] = mapped_column(Float)
    load_factor: Mapped[float] = mapped_column(Float)
    zones: Mapped[int] = mapped_column(Integer)  # zones it was fitted on
    source: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class UnmeteredLoad(IdMixin, TimestampMixin, Base):
    """A load that draws energy in a zone without a meter (public lighting, mostly): its
    monthly energy is estimated as ``load_kw x hours_per_day x days`` of the month."""

    __tablename__ = "fraud_unmetered_load"
    __table_args__ = (
        CheckConstraint(_ONE_ZONE, name="one_zone"),
        CheckConstraint("load_kw >= 0", name="load"),
        CheckConstraint("hours_per_day >= 0 AND hours_per_day <= 24", name="hours"),
    )

    transformer_id: Mapped[int | None] = _transformer()
    feeder_id: Mapped[int | None] = _feeder()
    kind: Mapped[str] = mapped_column(Text, default="public_lighting")
    load_kw: Mapped[Decimal] = mapped_column(Numeric(12, 3))
    hours_per_day: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    note: Mapped[str] = mapped_column(Text, default="", server_default="")

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        return zone_in(scope, UnmeteredLoad)


# -- models, scores, flags and labels (issue 13, items 3-5) ---------------------------------


def _usage_point_seen(usage_point_id: Any, scope: Scope) -> ColumnElement[bool]:
    from core.territory import through
    from customers.models import UsagePoint

    return through(UsagePoint, usage_point_id, scope)


class ModelVersion(IdMixin, Base):
    """One trained detector in the model registry: its kind (isolation forest, local
    outlier factor per zone, gradient boosting), a version number per kind, the fitted
    artefact (joblib bytes), the sha256 of the training matrix it saw, its parameters and
    its metrics. The newest version of a kind is the one scoring uses."""

    __tablename__ = "fraud_model_version"
    __territory__ = GLOBAL  # one registry for the whole network
    __table_args__ = (Index("uq_fraud_model_version_kind_version", "kind", "version", unique=True),)

    kind: Mapped[str] = mapped_column(Text)  # ModelKind
    version: Mapped[int] = mapped_column(Integer)
    artefact: Mapped[bytes] = mapped_column(LargeBinary)
    artefact_sha256: Mapped[str] = mapped_column(Text)
    training_hash: Mapped[str] = mapped_column(Text)  # sha256 of the training matrix + labels
    training_rows: Mapped[int] = mapped_column(Integer)
    training_positives: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    period: Mapped[date] = mapped_column(Date)  # the month the training matrix describes
    features: Mapped[list[str]] = mapped_column(JSONB)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    trained_by: Mapped[str] = mapped_column(Text)
    trained_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ScoreRun(IdMixin, Base):
    """One scoring of the whole network for a month: the model versions used, the ranking
    rules (budget, random-audit share, prices, visit cost) and how many usage points."""

    __tablename__ = "fraud_score_run"
    __territory__ = GLOBAL  # a run covers the whole network; its scores are located

    period: Mapped[date] = mapped_column(Date, index=True)
    models: Mapped[dict[str, Any]] = mapped_column(JSONB)  # kind -> version
    rules: Mapped[dict[str, Any]] = mapped_column(JSONB)
    usage_points: Mapped[int] = mapped_column(Integer)
    selected: Mapped[int] = mapped_column(Integer)
    seconds: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    started_by: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Score(IdMixin, Base):
    """The score of one usage point in one run: how anomalous it looks, the probability of
    a non-technical loss, what a visit could recover, its priority (minor units of the
    currency), its rank, whether the budget selects it (by priority or as a random audit),
    and the reasons in words (``[{"feature", "text", "weight"}]``, strongest first)."""

    __tablename__ = "fraud_score"
    __table_args__ = (
        Index("uq_fraud_score_run_usage_point", "run_id", "usage_point_id", unique=True),
        Index("ix_fraud_score_run_rank", "run_id", "rank"),
    )

    run_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("fraud_score_run.id", ondelete="CASCADE")
    )
    usage_point_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customer_usage_point.id", ondelete="CASCADE"), index=True
    )
    anomaly: Mapped[float] = mapped_column(Float)  # 0..1, rank-averaged unsupervised scores
    probability: Mapped[float] = mapped_column(Float)  # P(NTL)
    zone_factor: Mapped[float] = mapped_column(Float)
    recoverable_kwh: Mapped[float] = mapped_column(Float)
    priority_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(Text)
    rank: Mapped[int] = mapped_column(Integer)
    selection: Mapped[str | None] = mapped_column(Text)  # "priority", "audit" or NULL
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:  # where its usage point is
        return _usage_point_seen(Score.usage_point_id, scope)


class Flag(IdMixin, TimestampMixin, Base):
    """A usage point an analyst should look at (from the ranking, a random audit or a tip):
    new -> reviewing -> sent_to_inspection -> confirmed / dismissed (``fraud.lifecycle``).
    At most one open flag per usage point; the decision becomes a label."""

    __tablename__ = "fraud_flag"
    __table_args__ = (
        Index(
            "uq_fraud_flag_open_usage_point",
            "usage_point_id",
            unique=True,
            postgresql_where=text_("status NOT IN ('confirmed', 'dismissed')"),
        ),
        Index("ix_fraud_flag_status_priority", "status", "priority_minor"),
    )

    usage_point_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customer_usage_point.id", ondelete="CASCADE"), index=True
    )
    score_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("fraud_score.id", ondelete="SET NULL")
    )
    source: Mapped[str] = mapped_column(Text)  # FlagSource
    status: Mapped[str] = mapped_column(Text, default="new", server_default="new")
    period: Mapped[date | None] = mapped_column(Date)
    priority_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    probability: Mapped[float | None] = mapped_column(Float)
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    assignee: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        return _usage_point_seen(Flag.usage_point_id, scope)


class FlagStatusChange(IdMixin, Base):
    """One step of a flag's lifecycle: who, when, from, to, why (``core.lifecycle``)."""

    __tablename__ = "fraud_flag_status_change"

    flag_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("fraud_flag.id", ondelete="CASCADE"), index=True
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
    def __territory__(scope: Scope) -> ColumnElement[bool]:  # by its flag
        return (
            exists()
            .where(Flag.id == FlagStatusChange.flag_id, Flag.__territory__(scope))
            .correlate_except(Flag)
        )


class Label(IdMixin, TimestampMixin, Base):
    """What an inspection found at a usage point on a day: fraud (and which kind) or not.
    From a flag's decision or imported from past inspections (CSV). The supervised model
    learns from these; one label per usage point, day and kind (re-imports update it)."""

    __tablename__ = "fraud_label"
    __table_args__ = (
        Index(
            "uq_fraud_label_usage_point_day_kind",
            "usage_point_id",
            "inspected_on",
            "kind",
            unique=True,
        ),
        CheckConstraint("outcome IN ('fraud', 'no_fraud', 'irregularity')", name="outcome"),
    )

    usage_point_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customer_usage_point.id", ondelete="CASCADE"), index=True
    )
    inspected_on: Mapped[date] = mapped_column(Date)
    outcome: Mapped[str] = mapped_column(Text)  # LabelOutcome
    kind: Mapped[str] = mapped_column(Text, default="", server_default="")  # e.g. bypass
    source: Mapped[str] = mapped_column(Text)  # "import:<file>" or "flag"
    flag_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("fraud_flag.id", ondelete="SET NULL")
    )

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        return _usage_point_seen(Label.usage_point_id, scope)
