"""The control report: coded checks on each simulated item, and which of them park it.

Each check is a stable code (shown in the report, filterable, used in tests):

- ``no_contract``: no contract supplies the usage point during the period;
- ``missing_read``: no index interval closes in the period (nothing measured);
- ``estimated_read``: an interval ends on an estimate (billed and marked estimated, to be
  trued up; parks only when the run says ``park_estimated``);
- ``negative``: negative consumption; ``zero``: no consumption at all;
- ``far_from_history``: the monthly-equivalent kWh (kWh x 30 / days) is above
  ``history_factor`` times, or below 1 / ``history_factor`` of, the mean monthly kWh of the
  usage point's last three issued bills (no history: no check);
- ``meter_change``: more than one meter contributed (a replacement in the period);
- ``amount_above_threshold``: the simulated total exceeds the run's threshold;
- ``rating_failed``: the consumption does not fit the tariff (register not priced ...);
- ``already_billed``: an issued bill of the usage point shares a day with the period:
  the item is skipped (never billed twice), not parked;
- ``changed_since_simulation``: at issue, rating the approved consumption again gave
  another total (a tariff version published meanwhile): parked, not issued unapproved.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class Check(StrEnum):
    NO_CONTRACT = "no_contract"
    MISSING_READ = "missing_read"
    ESTIMATED_READ = "estimated_read"
    NEGATIVE = "negative"
    ZERO = "zero"
    FAR_FROM_HISTORY = "far_from_history"
    METER_CHANGE = "meter_change"
    AMOUNT_ABOVE_THRESHOLD = "amount_above_threshold"
    RATING_FAILED = "rating_failed"
    ALREADY_BILLED = "already_billed"
    CHANGED_SINCE_SIMULATION = "changed_since_simulation"


@dataclass(frozen=True)
class Settings:
    """A run's control settings."""

    amount_threshold: int | None
    history_factor: Decimal
    park_estimated: bool


def measure_checks(
    *,
    kwh: Decimal | None,
    days: int,
    estimated: bool,
    meter_changed: bool,
    history: Decimal | None,
    settings: Settings,
) -> list[Check]:
    """The checks on the measured consumption (before rating). ``kwh`` None: missing."""
    if kwh is None:
        return [Check.MISSING_READ]
    found = []
    if kwh < 0:
        found.append(Check.NEGATIVE)
    elif kwh == 0:
        found.append(Check.ZERO)
    if estimated:
        found.append(Check.ESTIMATED_READ)
    if meter_changed:
        found.append(Check.METER_CHANGE)
    if history is not None and history > 0 and kwh > 0:
        monthly = kwh * 30 / max(days, 1)
        factor = settings.history_factor
        if monthly > history * factor or monthly * factor < history:
            found.append(Check.FAR_FROM_HISTORY)
    return found


def amount_checks(total: int, settings: Settings) -> list[Check]:
    if settings.amount_threshold is not None and total > settings.amount_threshold:
        return [Check.AMOUNT_ABOVE_THRESHOLD]
    return []


def parks(checks: list[Check], settings: Settings) -> bool:
    """Whether the item waits for a person instead of being issued."""
    return any(
        c is not Check.ESTIMATED_READ or settings.park_estimated
        for c in checks
        if c is not Check.ALREADY_BILLED
    )
