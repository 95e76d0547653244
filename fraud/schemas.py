"""API shapes of the fraud domain."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from fraud.enums import ZoneKind


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
