"""The zone energy balance of one month, zone by zone (pure arithmetic on what the SQL of
``fraud.alignment`` and ``fraud.repository`` gathered).

    NTL = energy in - metered downstream - unmetered - expected technical loss
    NTL share = NTL / energy in

A zone is analysable only when each term rests on data: a zone meter whose reads span the
month, metered usage points downstream, few of them unread, little of their energy
estimated, and a traced (not dirty) feeder so that "downstream" is known. Otherwise the
balance says why (``NotAnalysableReason``) and carries no NTL: missing data is never a zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from fraud.alignment import Downstream, ZoneIn
from fraud.enums import LossMethod, NotAnalysableReason, ZoneKind

KWH = Decimal("0.001")
SHARE = Decimal("0.000001")


@dataclass(frozen=True)
class BalanceRules:
    """When a zone's data is too thin to judge (shares of its usage points / energy)."""

    max_unread_share: float = 0.10  # usage points with no read covering the month
    max_estimated_share: float = 0.20  # metered kWh resting on estimates or extrapolation
    coverage_tolerance_s: float = 1.0  # a zone meter's reads must span the month to the second


@dataclass(frozen=True)
class ZoneMonth:
    """One zone-month's computed balance, ready to store."""

    kind: ZoneKind
    zone_id: int
    energy_in_kwh: Decimal | None
    metered_kwh: Decimal
    estimated_kwh: Decimal
    usage_points: int
    usage_points_unread: int
    unmetered_kwh: Decimal
    technical_loss_kwh: Decimal | None
    loss_method: LossMethod | None
    ntl_kwh: Decimal | None
    ntl_share: Decimal | None
    reason: NotAnalysableReason | None


def _reason(
    zone_in: ZoneIn | None,
    down: Downstream,
    period_s: float,
    stale: bool,
    rules: BalanceRules,
) -> NotAnalysableReason | None:
    if stale:
        return NotAnalysableReason.TOPOLOGY_STALE
    if zone_in is None:
        return NotAnalysableReason.NO_ZONE_METER
    if zone_in.covered_s < period_s - rules.coverage_tolerance_s:
        return NotAnalysableReason.ZONE_METER_READS_MISSING
    if down.usage_points == 0:
        return NotAnalysableReason.NO_METERED_USAGE_POINTS
    if down.unread > rules.max_unread_share * down.usage_points:
        return NotAnalysableReason.TOO_MANY_UNREAD
    if down.kwh > 0 and down.estimated_kwh > Decimal(str(rules.max_estimated_share)) * down.kwh:
        return NotAnalysableReason.TOO_MANY_ESTIMATES
    return None


def zone_month(
    *,
    kind: ZoneKind,
    zone_id: int,
    zone_in: ZoneIn | None,
    down: Downstream,
    unmetered_kwh: Decimal,
    loss: tuple[float, LossMethod] | None,
    period_s: float,
    stale: bool,
    rules: BalanceRules,
) -> ZoneMonth:
    """The balance of one zone-month (kWh rounded to the Wh). ``loss`` is the expected
    technical loss for the zone's measured energy in (None when there is none)."""
    reason = _reason(zone_in, down, period_s, stale, rules)
    measured = zone_in is not None and reason is not NotAnalysableReason.ZONE_METER_READS_MISSING
    energy_in = zone_in.kwh.quantize(KWH) if measured and zone_in is not None else None
    technical = Decimal(str(loss[0])).quantize(KWH) if loss and energy_in is not None else None
    metered = down.kwh.quantize(KWH)
    unmetered = unmetered_kwh.quantize(KWH)
    ntl = share = None
    if reason is None and energy_in is not None and technical is not None:
        ntl = energy_in - metered - unmetered - technical
        share = (ntl / energy_in).quantize(SHARE) if energy_in else None
    return ZoneMonth(
        kind=kind,
        zone_id=zone_id,
        energy_in_kwh=energy_in,
        metered_kwh=metered,
        estimated_kwh=down.estimated_kwh.quantize(KWH),
        usage_points=down.usage_points,
        usage_points_unread=down.unread,
        unmetered_kwh=unmetered,
        technical_loss_kwh=technical,
        loss_method=loss[1] if technical is not None and loss else None,
        ntl_kwh=ntl,
        ntl_share=share,
        reason=reason,
    )
