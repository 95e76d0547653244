"""A customer whose meter was bypassed from July 2025 (see tests/billing/world.py for the
tariff KW-TEST: fixed 500 XOF a month, energy 0-100 kWh a month at 50, above at 80, TVA
18 %), and the regulator's order used by the tests."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from billing.invoices import service as invoices
from billing.invoices.enums import InvoiceReason
from core.context import SYSTEM
from core.periods import Period, add_months
from revenue_protection import service
from revenue_protection.assessment import AssessmentRules
from revenue_protection.schemas import RuleSetCreate
from tests.billing.world import Customer, customer

# Billed kWh per month of 2025: January to June normal, July to December 40 a month.
NORMAL = [120, 150, 180, 140, 160, 130]
BYPASSED = [40] * 6

RULES = {
    "methods": [
        "corrected_measurement",
        "highest_normal_month",
        "average_highest_months",
        "connected_load",
    ],
    "lookback_months": 12,
    "highest_months": 3,
    "load_factor": {"residential": "0.1", "default": "0.3"},
    "hours_per_day": "24",
    "days_per_month": "30",
    "max_claim_months": 6,
    "penalty": {"fixed": {"bypass": 25000, "default": 10000}, "per_kwh": "10"},
}


def rules(db: Session) -> None:
    service.create_rule_set(
        db,
        actor=SYSTEM,
        data=RuleSetCreate(
            effective_from=date(2020, 1, 1), definition=AssessmentRules.model_validate(RULES)
        ),
    )


def bypassed_customer(db: Session) -> Customer:
    """Supplied from 1 January 2025, one bill a month for 2025 (NORMAL then BYPASSED)."""
    who = customer(db, start=date(2025, 1, 1))
    for i, kwh in enumerate(NORMAL + BYPASSED):
        first = add_months(date(2025, 1, 1), i)
        invoices.issue_bill(
            db,
            SYSTEM,
            contract_id=who.contract_id,
            period=Period(first, add_months(first, 1)),
            kwh={"total": Decimal(kwh)},
            reason=InvoiceReason.CYCLE,
            issue_date=add_months(first, 1),
        )
    return who
