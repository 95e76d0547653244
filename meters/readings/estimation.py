"""Estimating a missing read (pure arithmetic over one register's history).

Order of preference, the first that the history supports wins, and the method is recorded
on the estimated read:

1. ``seasonal_history``: what the register used over the same days one year earlier,
   scaled by the recent trend (last ``trend_window_days`` against the same window a year
   earlier, clamped to [trend_min, trend_max]);
2. ``recent_history``: mean daily kWh over the last ``history_reads`` reads x days;
3. ``category_profile``: the category's kWh/day x days.

Times are days (floats, any common origin); the history is the cumulative kWh curve of the
counted real reads of one installation (rollovers already unwrapped), oldest first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from meters.enums import EstimationMethod
from meters.readings.rules import EstimationParameters

DAYS_PER_YEAR = 365.0


@dataclass(frozen=True)
class Estimate:
    kwh: float
    method: EstimationMethod
    days: float


def estimate_consumption(
    *,
    times: np.ndarray,
    cumulative_kwh: np.ndarray,
    at: float,
    category_kwh_per_day: float,
    parameters: EstimationParameters,
) -> Estimate:
    """kWh used between the last history point (``times[-1]``) and ``at``."""
    times = np.asarray(times, dtype=float)
    cumulative = np.asarray(cumulative_kwh, dtype=float)
    last = times[-1]
    days = max(at - last, 0.0)
    year_ago_start, year_ago_end = last - DAYS_PER_YEAR, at - DAYS_PER_YEAR
    if times[0] <= year_ago_start and year_ago_end <= last:
        last_year = float(
            np.interp(year_ago_end, times, cumulative)
            - np.interp(year_ago_start, times, cumulative)
        )
        return Estimate(
            max(last_year * _trend(times, cumulative, parameters), 0.0),
            EstimationMethod.SEASONAL_HISTORY,
            days,
        )
    n = min(parameters.history_reads, len(times))
    if n >= 2 and times[-1] > times[-n]:
        rate = (cumulative[-1] - cumulative[-n]) / (times[-1] - times[-n])
        return Estimate(max(float(rate) * days, 0.0), EstimationMethod.RECENT_HISTORY, days)
    return Estimate(category_kwh_per_day * days, EstimationMethod.CATEGORY_PROFILE, days)


def _trend(times: np.ndarray, cumulative: np.ndarray, parameters: EstimationParameters) -> float:
    """Recent daily use over the same window a year earlier (1.0 when not computable)."""
    window = float(parameters.trend_window_days)
    last = times[-1]
    if times[0] > last - DAYS_PER_YEAR - window:
        return 1.0
    recent = np.interp(last, times, cumulative) - np.interp(last - window, times, cumulative)
    before = np.interp(last - DAYS_PER_YEAR, times, cumulative) - np.interp(
        last - DAYS_PER_YEAR - window, times, cumulative
    )
    if before <= 0:
        return 1.0
    return float(np.clip(recent / before, parameters.trend_min, parameters.trend_max))
