"""Validation rules as data: the parameters of one rule-set version, and the pure
arithmetic they drive (rollover, advance classification, expected range, status).

The set-based validator (``meters.readings.validation``) applies the same formulas in SQL;
these functions are the reference the unit tests pin down, and the code path for callers
holding rows in memory. Energies are in kWh (register advance x meter multiplier), times in
days.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from meters.enums import ReadingStatus, ReasonCode, Severity

DEFAULT_SEVERITY: dict[str, Severity] = {
    ReasonCode.ROLLOVER: Severity.FLAG,
    ReasonCode.NEGATIVE_ADVANCE: Severity.REJECT,
    ReasonCode.ZERO_CONSUMPTION: Severity.FLAG,
    ReasonCode.OUT_OF_RANGE_HIGH: Severity.FLAG,
    ReasonCode.OUT_OF_RANGE_LOW: Severity.FLAG,
    ReasonCode.METER_CHANGE_IN_PERIOD: Severity.FLAG,
    ReasonCode.READ_IN_FUTURE: Severity.REJECT,
    ReasonCode.READ_BEFORE_INSTALLATION: Severity.REJECT,
    ReasonCode.READ_AFTER_REMOVAL: Severity.REJECT,
    ReasonCode.DUPLICATE_TIMESTAMP: Severity.REJECT,
    ReasonCode.VALUE_EXCEEDS_DIALS: Severity.REJECT,
}

# Typical daily use per usage category (kWh/day), for new usage points without history.
DEFAULT_CATEGORY_KWH_PER_DAY: dict[str, float] = {
    "residential": 6.0,
    "commercial": 40.0,
    "industrial": 600.0,
    "public_lighting": 25.0,
}


class EstimationParameters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The recent trend compares the last ``trend_window_days`` with the same days a year
    # earlier; clamped so one odd month cannot triple an estimate.
    trend_window_days: int = Field(90, ge=7, le=366)
    trend_min: float = Field(0.5, gt=0)
    trend_max: float = Field(2.0, gt=0)
    history_reads: int = Field(4, ge=2, le=24)


class RuleParameters(BaseModel):
    """The JSON parameters of one rule-set version (stored in ``meter_validation_rule_set``)."""

    model_config = ConfigDict(extra="forbid")

    # A backwards step is a rollover when the wrapped advance (value + 10^digits - previous)
    # is at most this fraction of the dial capacity; otherwise it is a negative advance.
    rollover_max_fraction: float = Field(0.1, gt=0, lt=1)
    # Expected range from history: mean daily kWh over the last ``history_reads`` reads.
    history_reads: int = Field(4, ge=2, le=24)
    min_history_reads: int = Field(3, ge=2, le=24)
    high_factor: float = Field(3.0, gt=1)
    low_factor: float = Field(0.2, ge=0, lt=1)
    # Below this many kWh a high deviation is noise, not news.
    min_high_kwh: float = Field(10.0, ge=0)
    # Without history: the category profile (kWh/day) x days x this factor bounds the read.
    category_kwh_per_day: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_CATEGORY_KWH_PER_DAY)
    )
    category_high_factor: float = Field(4.0, gt=1)
    # Clock skew tolerated between a handheld and the server.
    future_tolerance_minutes: int = Field(10, ge=0, le=1440)
    severity: dict[ReasonCode, Severity] = Field(default_factory=lambda: dict(DEFAULT_SEVERITY))
    estimation: EstimationParameters = Field(default_factory=EstimationParameters)

    @model_validator(mode="after")
    def _complete(self) -> RuleParameters:
        if self.min_history_reads > self.history_reads:
            raise ValueError("min_history_reads cannot exceed history_reads")
        # A partial severity map overrides the defaults, it does not drop codes.
        self.severity = {**DEFAULT_SEVERITY, **self.severity}
        return self

    def codes_with(self, severity: Severity) -> list[str]:
        return sorted(code.value for code, s in self.severity.items() if s == severity)


def dial_capacity(dial_digits: int) -> int:
    """How many units a register counts before it wraps to zero (99,999 -> 00,000 on 5 dials)."""
    return 10**dial_digits


def classify_advances(
    previous: np.ndarray, current: np.ndarray, dial_digits: np.ndarray, rollover_max_fraction: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Register advance between consecutive indexes, vectorised.

    Returns ``(advance, is_rollover, is_negative)``. A backwards step whose wrapped advance
    ``current + 10^digits - previous`` is small (<= fraction x capacity) is a rollover and
    that wrapped value is the advance: 99,870 -> 00,130 on 5 dials = 130 + 100,000 - 99,870
    = 260. A larger backwards step is a negative advance (reverse running, misread): its
    advance is NaN.
    """
    previous = np.asarray(previous, dtype=float)
    current = np.asarray(current, dtype=float)
    capacity = np.power(10.0, np.asarray(dial_digits, dtype=float))
    raw = current - previous
    wrapped = raw + capacity
    backwards = raw < 0
    is_rollover = backwards & (wrapped <= rollover_max_fraction * capacity)
    is_negative = backwards & ~is_rollover
    advance = np.where(is_rollover, wrapped, raw)
    advance = np.where(is_negative, np.nan, advance)
    return advance, is_rollover, is_negative


def register_advance(previous: Decimal, current: Decimal, dial_digits: int) -> Decimal:
    """Exact (Decimal) advance of one register across at most one rollover."""
    advance = current - previous
    if advance < 0:
        advance += dial_capacity(dial_digits)
    return advance


def expected_range_kwh(
    *,
    days: float,
    history_kwh: float | None,
    history_days: float | None,
    category_kwh_per_day: float | None,
    parameters: RuleParameters,
) -> tuple[float | None, float | None, str]:
    """``(low, high, basis)`` for the kWh a read may add over ``days``.

    From history: mean daily kWh of the recent reads x days x ``low_factor`` / ``high_factor``
    (the high bound is never below ``min_high_kwh``). Without enough history: category kWh/day
    x days x ``category_high_factor``, high bound only (a category is too coarse to call a
    low read abnormal). ``basis`` is ``history``, ``category`` or ``none``.
    """
    if history_kwh is not None and history_days:
        expected = history_kwh / history_days * days
        high = max(expected * parameters.high_factor, parameters.min_high_kwh)
        return expected * parameters.low_factor, high, "history"
    if category_kwh_per_day is not None:
        high = max(
            category_kwh_per_day * days * parameters.category_high_factor, parameters.min_high_kwh
        )
        return None, high, "category"
    return None, None, "none"


def status_for(codes: Iterable[str], parameters: RuleParameters) -> ReadingStatus:
    """The worst severity among the codes decides: reject > flag > info/accepted."""
    severities = {parameters.severity.get(ReasonCode(c), Severity.FLAG) for c in codes}
    if Severity.REJECT in severities:
        return ReadingStatus.REJECTED
    if Severity.FLAG in severities:
        return ReadingStatus.FLAGGED
    return ReadingStatus.ACCEPTED
