"""The assessment methods, the claim's cap and the penalty, on hand-computed figures (no
database: ``revenue_protection.assessment`` is pure)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from revenue_protection.assessment import AssessmentRules, Inputs, assess, claim
from revenue_protection.enums import AssessmentMethod as M
from revenue_protection.enums import Irregularity
from tests.revenue_protection.world import NORMAL, RULES

RULESET = AssessmentRules.model_validate(RULES)
HISTORY = {date(2025, m, 1): Decimal(k) for m, k in enumerate(NORMAL, start=1)}
INPUTS = Inputs(
    inspected_on=date(2026, 1, 15),
    irregularity=Irregularity.BYPASS,
    category="residential",
    irregularity_since=date(2025, 7, 10),
    history=HISTORY,
    corrected_kwh=Decimal(50),
    corrected_days=10,
    load_kw=Decimal(2),
)
BILLED = Decimal(240)  # 6 months at 40 kWh


def test_the_claim_runs_whole_months_up_to_the_inspections_month_and_the_cap() -> None:
    c = claim(RULESET, INPUTS)
    assert (c.start, c.end, c.months) == (date(2025, 7, 1), date(2026, 1, 1), 6)
    # Irregular since 2024: 18 months, capped to 6.
    older = Inputs(**{**INPUTS.__dict__, "irregularity_since": date(2024, 7, 1)})
    assert claim(RULESET, older).months == 6
    # Unknown start: the cap.
    unknown = Inputs(**{**INPUTS.__dict__, "irregularity_since": None})
    assert claim(RULESET, unknown).start == date(2025, 7, 1)


def test_each_method_on_hand_computed_figures() -> None:
    expected = {
        # 50 kWh in 10 days -> 150 a month; 150*6 - 240 = 660
        M.CORRECTED_MEASUREMENT: (Decimal(150), Decimal(660)),
        # highest of Jan..Jun 2025: 180; 180*6 - 240 = 840
        M.HIGHEST_NORMAL_MONTH: (Decimal(180), Decimal(840)),
        # mean of 180, 160, 150 = 163.33..; 163.33*6 = 980 - 240 = 740
        M.AVERAGE_HIGHEST_MONTHS: (Decimal(490) / 3, Decimal(740)),
        # 2 kW * 0.1 * 24 h * 30 d = 144 a month; 144*6 - 240 = 624
        M.CONNECTED_LOAD: (Decimal(144), Decimal(624)),
    }
    for method, (monthly, unbilled) in expected.items():
        result = assess(RULESET, INPUTS, BILLED, method)
        assert result is not None
        assert result.monthly_kwh == monthly, method
        assert result.unbilled_kwh == unbilled, method
        # bypass: 25000 fixed + 10 per unbilled kWh
        assert result.penalty == 25000 + 10 * int(unbilled), method


def test_the_regulators_order_picks_the_first_method_with_data() -> None:
    assert assess(RULESET, INPUTS, BILLED).method is M.CORRECTED_MEASUREMENT
    no_repair = Inputs(**{**INPUTS.__dict__, "corrected_kwh": None})
    assert assess(RULESET, no_repair, BILLED).method is M.HIGHEST_NORMAL_MONTH
    nothing = Inputs(
        inspected_on=date(2026, 1, 15), irregularity=Irregularity.BYPASS, category="residential"
    )
    assert assess(RULESET, nothing, BILLED) is None


def test_a_fault_bears_no_penalty_and_nothing_is_claimed_below_what_was_billed() -> None:
    fault = Inputs(**{**INPUTS.__dict__, "irregularity": Irregularity.METER_FAULTY})
    assert assess(RULESET, fault, BILLED, M.HIGHEST_NORMAL_MONTH).penalty == 0
    assert assess(RULESET, INPUTS, Decimal(5000), M.HIGHEST_NORMAL_MONTH).unbilled_kwh == 0
