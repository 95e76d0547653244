"""API shapes of the fraud domain."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from core.pages import BIGINT_MAX
from fraud.enums import FlagEvent, FlagSource, FlagStatus, LabelOutcome, ZoneKind


class ZoneBalanceRead(BaseModel):
    """One zone's energy balance for one month (kWh; shares as fractions). A zone that is
    not analysable has no NTL (``ntl_kwh`` null) and says why (``reason``)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    zone_kind: ZoneKind
    zone_code: str
    transformer_id: int | None
    feeder_id: int | None
    period_start: date
    period_end: date
    energy_in_kwh: Decimal | None
    metered_kwh: Decimal
    estimated_kwh: Decimal
    usage_points: int
    usage_points_unread: int
    unmetered_kwh: Decimal
    technical_loss_kwh: Decimal | None
    loss_method: str | None
    ntl_kwh: Decimal | None
    ntl_share: Decimal | None
    analysable: bool
    reason: str | None
    threshold_share: Decimal | None
    flagged: bool
    computed_at: datetime


class ZoneBalancePage(BaseModel):
    items: list[ZoneBalanceRead]
    total: int
    offset: int
    limit: int


# -- flags and review ---------------------------------------------------------------------


class Reason(BaseModel):
    feature: str
    weight: float
    text: str


class FlagRead(BaseModel):
    """A flag in the analyst's queue: the usage point, where it came from, its status,
    priority (minor units), probability of a loss and reasons in words."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    usage_point_id: int
    usage_point_code: str
    source: FlagSource
    status: FlagStatus
    period: date | None
    priority_minor: int
    probability: float | None
    reasons: list[Reason]
    note: str
    assignee: str | None
    decided_at: datetime | None
    created_at: datetime


class FlagPage(BaseModel):
    items: list[FlagRead]
    total: int
    offset: int
    limit: int


class FlagCreate(BaseModel):
    """A flag raised by hand (a tip, a meter reader's note)."""

    model_config = ConfigDict(extra="forbid")

    usage_point_id: int = Field(ge=1, le=BIGINT_MAX)
    note: str = Field("", max_length=2000)


class FlagStep(BaseModel):
    """One step of a flag's lifecycle. ``outcome`` and ``kind`` say what the inspection
    found (confirm: fraud or irregularity; dismiss after an inspection: no_fraud)."""

    model_config = ConfigDict(extra="forbid")

    event: FlagEvent
    reason: str | None = Field(None, max_length=2000)
    outcome: LabelOutcome | None = None
    kind: str = Field("", max_length=100)
    inspected_on: date | None = None


class FlagChange(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    event: str
    from_status: str | None
    to_status: str
    reason: str | None
    actor: str
    at: datetime


class RankingRow(BaseModel):
    """One usage point of a scoring run's ranking (priority in minor units of currency)."""

    rank: int
    external_key: str
    code: str
    usage_point_id: int
    category: str
    transformer: str | None
    probability: float
    anomaly: float
    zone_factor: float
    recoverable_kwh: float
    priority_minor: int
    currency: str
    selection: str | None
    reasons: list[Reason]


class Ranking(BaseModel):
    run_id: int | None
    period: date | None
    items: list[RankingRow]


class ModelVersionRead(BaseModel):
    """A trained detector in the registry (the artefact itself stays in the database)."""

    model_config = ConfigDict(from_attributes=True)

    kind: str
    version: int
    artefact_sha256: str
    training_hash: str
    training_rows: int
    training_positives: int
    period: date
    parameters: dict[str, Any]
    metrics: dict[str, Any]
    trained_by: str
    trained_at: datetime


class Evidence(BaseModel):
    """What an analyst weighs: the usage point's monthly consumption beside its peers'
    median (same transformer and category), the zone balance, meter history, payments,
    where it is, and the flag's history."""

    flag: FlagRead
    months: list[date]
    consumption_kwh: list[float | None]
    peers_median_kwh: list[float | None]
    peers: int
    transformer_code: str | None
    zone_balance: list[dict[str, Any]]
    meter_history: list[dict[str, Any]]
    seal_history: list[dict[str, Any]]
    payments: list[dict[str, Any]]
    location: dict[str, Any] | None  # GeoJSON point (EPSG:4326)
    transformer_location: dict[str, Any] | None
    history: list[FlagChange]
