"""Assessing the energy a usage point took without it being billed: pure functions over
the rule set (the regulator's order, kept as data in ``rp_assessment_rule_set``), the
customer's history and what the inspection found. No database here.

A method estimates what the customer really consumed per month (kWh):

- ``corrected_measurement``: metered after the repair, ``kwh / days * days_per_month``;
- ``highest_normal_month``: the highest monthly consumption of the normal months (the
  ``lookback_months`` before the irregularity began);
- ``average_highest_months``: the mean of the ``highest_months`` highest of those months;
- ``connected_load``: the load found (kW) x the category's load factor x
  ``hours_per_day`` x ``days_per_month``.

The rule set lists the methods in the regulator's order: the first that applies is used
(unless the office names one). The claim covers whole calendar months before the
inspection's month, from the irregularity's month when known, never more than
``max_claim_months``.
Unbilled energy = monthly estimate x months - kWh already billed over those months
(never below zero), rounded half-up to the kWh. Penalty (minor units) = the fixed amount
for the kind of irregularity (``penalty.fixed``, else ``penalty.fixed.default``) +
``penalty.per_kwh`` x unbilled kWh, rounded half-up; none for a fault when
``penalty.fraud_only``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from core.periods import add_months, month_start
from revenue_protection.enums import AssessmentMethod, Irregularity


class PenaltyRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fixed: dict[str, int] = Field(default_factory=dict)  # irregularity -> minor units
    per_kwh: Decimal = Decimal(0)  # minor units per unbilled kWh
    fraud_only: bool = True


class AssessmentRules(BaseModel):
    """One version of the regulator's order (``rp_assessment_rule_set.definition``)."""

    model_config = ConfigDict(extra="forbid")

    methods: list[AssessmentMethod] = Field(min_length=1)
    lookback_months: int = Field(12, ge=1, le=60)
    highest_months: int = Field(3, ge=1, le=24)
    load_factor: dict[str, Decimal] = Field(default_factory=lambda: {"default": Decimal("0.3")})
    hours_per_day: Decimal = Field(Decimal(24), gt=0, le=24)
    days_per_month: Decimal = Field(Decimal(30), gt=0, le=31)
    max_claim_months: int = Field(12, ge=1, le=120)
    penalty: PenaltyRules = Field(default_factory=PenaltyRules)

    def factor(self, category: str) -> Decimal:
        return self.load_factor.get(category, self.load_factor.get("default", Decimal("0.3")))


@dataclass(frozen=True)
class Inputs:
    """What the case knows: ``history`` the billed kWh of each normal month (month
    start -> kWh) before the irregularity; ``billed_kwh`` what the bills of the claimed
    months already charged (computed for the claimed period by the caller)."""

    inspected_on: date
    irregularity: Irregularity
    category: str
    irregularity_since: date | None = None
    history: dict[date, Decimal] = field(default_factory=dict)
    corrected_kwh: Decimal | None = None
    corrected_days: int | None = None
    load_kw: Decimal | None = None


@dataclass(frozen=True)
class Claim:
    start: date
    end: date  # exclusive: the first of the inspection's month
    months: int


@dataclass(frozen=True)
class Result:
    method: AssessmentMethod
    monthly_kwh: Decimal
    estimates: dict[str, str]  # every applicable method's monthly kWh (for the file)
    claim: Claim
    billed_kwh: Decimal
    unbilled_kwh: Decimal
    penalty: int

    def as_json(self) -> dict[str, Any]:
        return {
            "method": self.method.value,
            "monthly_kwh": str(self.monthly_kwh),
            "estimates": self.estimates,
            "claim_start": self.claim.start.isoformat(),
            "claim_end": self.claim.end.isoformat(),
            "claim_months": self.claim.months,
            "billed_kwh": str(self.billed_kwh),
            "unbilled_kwh": str(self.unbilled_kwh),
            "penalty": self.penalty,
        }


def claim(rules: AssessmentRules, inputs: Inputs) -> Claim:
    """Whole calendar months before the inspection's month, from the irregularity's
    month when known, at most the cap (at least one)."""
    end = month_start(inputs.inspected_on)
    months = rules.max_claim_months
    if inputs.irregularity_since is not None:
        since = month_start(inputs.irregularity_since)
        elapsed = (end.year - since.year) * 12 + end.month - since.month
        months = max(1, min(months, elapsed))
    return Claim(add_months(end, -months), end, months)


def normal_months(rules: AssessmentRules, inputs: Inputs, claimed: Claim) -> list[Decimal]:
    """The kWh of the normal months: the lookback before the irregularity (or the claim)."""
    before = month_start(inputs.irregularity_since) if inputs.irregularity_since else claimed.start
    first = add_months(before, -rules.lookback_months)
    return [kwh for month, kwh in inputs.history.items() if first <= month < before]


def estimate(
    method: AssessmentMethod, rules: AssessmentRules, inputs: Inputs, normal: list[Decimal]
) -> Decimal | None:
    """The monthly kWh by ``method``; None when it does not apply (its data is missing)."""
    if method is AssessmentMethod.CORRECTED_MEASUREMENT:
        if inputs.corrected_kwh is None or not inputs.corrected_days:
            return None
        return inputs.corrected_kwh / inputs.corrected_days * rules.days_per_month
    if method is AssessmentMethod.HIGHEST_NORMAL_MONTH:
        return max(normal) if normal else None
    if method is AssessmentMethod.AVERAGE_HIGHEST_MONTHS:
        if not normal:
            return None
        top = sorted(normal, reverse=True)[: rules.highest_months]
        return sum(top, Decimal(0)) / len(top)
    if inputs.load_kw is None:
        return None
    return (
        inputs.load_kw * rules.factor(inputs.category) * rules.hours_per_day * rules.days_per_month
    )


def _kwh(value: Decimal) -> Decimal:
    return value.quantize(Decimal(1), rounding=ROUND_HALF_UP)


def penalty(rules: AssessmentRules, irregularity: Irregularity, unbilled_kwh: Decimal) -> int:
    if rules.penalty.fraud_only and not irregularity.is_fraud:
        return 0
    fixed = rules.penalty.fixed.get(irregularity.value, rules.penalty.fixed.get("default", 0))
    return fixed + int(_kwh(rules.penalty.per_kwh * unbilled_kwh))


def assess(
    rules: AssessmentRules,
    inputs: Inputs,
    billed_kwh: Decimal,
    method: AssessmentMethod | None = None,
) -> Result | None:
    """The assessment by ``method`` (or the first applicable in the rules' order); None
    when that method, or every method, lacks its data."""
    claimed = claim(rules, inputs)
    normal = normal_months(rules, inputs, claimed)
    estimates = {
        m.value: e for m in rules.methods if (e := estimate(m, rules, inputs, normal)) is not None
    }
    order = [method] if method is not None else rules.methods
    chosen = next((m for m in order if m.value in estimates), None)
    if chosen is None:
        return None
    monthly = estimates[chosen.value]
    unbilled = max(Decimal(0), _kwh(monthly * claimed.months - billed_kwh))
    return Result(
        method=chosen,
        monthly_kwh=monthly,
        estimates={k: str(v) for k, v in estimates.items()},
        claim=claimed,
        billed_kwh=billed_kwh,
        unbilled_kwh=unbilled,
        penalty=penalty(rules, inputs.irregularity, unbilled),
    )
