"""How much electricity each kind of customer uses, and when (what the network loses is
``plan_losses``).

Energies are kWh, powers kVA or W, months are the utility's local calendar months. The climate is
Cotonou's: the hot season (February to April) brings the cooling peak, the long rainy
season (June to August) the trough. Daily profiles are hourly shapes per category and day
type; they set how much a Saturday, a Sunday or a public holiday weighs against a weekday.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import holidays
import numpy as np

from core import periods

CATEGORIES = ("residential", "commercial", "industrial", "public_lighting")
RES, COM, IND, PL = range(4)

# Relative cooling demand by calendar month (January .. December), 1 = the yearly mean.
COOLING = np.array([1.00, 1.10, 1.18, 1.15, 1.05, 0.93, 0.88, 0.87, 0.90, 0.96, 1.02, 0.98])
# How strongly each category follows it (exponent): homes with fans and split units most.
SEASON_SENSITIVITY = np.array([1.6, 1.2, 0.3, 0.05])
# Month-to-month noise (sigma of a log-normal factor) and yearly trend spread per category.
MONTHLY_NOISE = np.array([0.10, 0.08, 0.06, 0.03])

_H = np.arange(24)


def _bump(centre: float, width: float) -> np.ndarray:
    return np.exp(-0.5 * ((_H - centre) / width) ** 2)


# Hourly load shapes (arbitrary units) for [weekday, saturday, sunday/holiday].
DAILY_PROFILES = {
    RES: (
        0.25 + 0.45 * _bump(7, 1.5) + 1.0 * _bump(20, 2.5),
        0.28 + 0.30 * _bump(10, 3.0) + 1.00 * _bump(20, 2.5),
        0.30 + 0.30 * _bump(13, 4.0) + 0.90 * _bump(20, 2.5),
    ),
    COM: (0.15 + 1.0 * _bump(13, 3.5), 0.15 + 0.75 * _bump(12, 3.0), 0.12 + 0.20 * _bump(12, 3.0)),
    IND: (
        0.35 + 1.0 * ((_H >= 7) & (_H < 19)),
        0.35 + 0.6 * ((_H >= 7) & (_H < 13)),
        0.30 + 0.0 * _H,
    ),
    PL: tuple(1.0 * ((_H >= 18) | (_H < 6)) + 0.5 * ((_H == 6) | (_H == 17)) for _ in range(3)),
}


def day_type_weights(category: int) -> np.ndarray:
    """Energy of a [weekday, saturday, sunday/holiday] relative to a weekday."""
    sums = np.array([profile.sum() for profile in DAILY_PROFILES[category]])
    return sums / sums[0]


def month_starts(first_month: date, months: int) -> list[date]:
    """The window's month edges: the first day of each of its ``months`` local calendar
    months, then the first day after it (``months + 1`` dates)."""
    return periods.month_starts(first_month, months + 1)


@lru_cache(maxsize=8)
def effective_days(first_month: date, months: int) -> np.ndarray:
    """(4, months) weekday-equivalent days of each calendar month per category: a month
    with five Sundays and a holiday is shorter for a shop than for a home."""
    starts = month_starts(first_month, months)
    years = sorted({d.year for d in starts})
    public = holidays.country_holidays("BJ", years=years)
    out = np.zeros((len(CATEGORIES), months))
    for m in range(months):
        start = starts[m]
        days = (starts[m + 1] - start).days
        kinds = np.zeros(days, dtype=int)
        for d in range(days):
            day = start.replace(day=d + 1)
            kinds[d] = (
                2 if day.weekday() == 6 or day in public else (1 if day.weekday() == 5 else 0)
            )
        for category in range(len(CATEGORIES)):
            out[category, m] = day_type_weights(category)[kinds].sum()
    return out


def season_factor(first_month: date, months: int) -> np.ndarray:
    """(4, months) seasonal multiplier per category and month."""
    calendar_months = np.array([d.month - 1 for d in month_starts(first_month, months)[:-1]])
    return COOLING[calendar_months][None, :] ** SEASON_SENSITIVITY[:, None]


def base_kwh_per_day(rng: np.random.Generator, category: np.ndarray, kva: np.ndarray) -> np.ndarray:
    """A usage point's typical weekday kWh, log-normal around a category median that grows
    with its subscribed power (a 6.6 kVA home runs air conditioning, a 1.1 kVA one lights)."""
    median = np.select(
        [category == RES, category == COM, category == IND],
        [3.2 * (kva / 2.2) ** 0.6, 25.0 * (kva / 9.0) ** 0.7, 300.0 * (kva / 100.0) ** 0.8],
        default=kva * 0.85 * 11.5,  # public lighting: lamps on about 11.5 h a night
    )
    sigma = np.array([0.55, 0.6, 0.5, 0.08])[category]
    return median * np.exp(rng.normal(0.0, sigma))
