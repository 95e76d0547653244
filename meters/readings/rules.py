"""Validation rules as data: the parameters of one rule-set version (stored as JSON in
``meter_validation_rule_set``), and the dial arithmetic consumption shares with the judge.

The rules themselves run in ``meters.readings.timeline`` (the one implementation, for a
single read as for five million). Energies are in kWh (register advance x meter
multiplier), times in days.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from meters.enums import ReasonCode, Severity

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


def register_advance(previous: Decimal, current: Decimal, dial_digits: int) -> Decimal:
    """Exact (Decimal) advance of one register across at most one rollover."""
    advance = current - previous
    if advance < 0:
        advance += dial_capacity(dial_digits)
    return advance
