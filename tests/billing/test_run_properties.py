"""Property: what a run simulates is what it issues, line for line, and both are the pure
rating function's bill for the same consumption."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.orm import Session

from billing.invoices import repository as invoices
from billing.tariffs import repository as tariffs
from billing.tariffs.rating import BillableUsage, rate
from core.periods import Period
from tests.billing.test_runs import bill_january
from tests.billing.world import TARIFF, customer, ledger_is_clean, read


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(consumptions=st.lists(st.integers(min_value=1, max_value=3000), min_size=1, max_size=4))
def test_simulated_is_issued_is_rated(db: Session, consumptions: list[int]) -> None:
    people = []
    for kwh in consumptions:
        who = customer(db)
        read(db, who, date(2026, 1, 31), kwh)
        people.append(who)
    run = bill_january(db, [p.usage_point_id for p in people], history_factor=Decimal(100))
    items = dict(
        db.execute(
            text("SELECT usage_point_id, total FROM billing_run_item WHERE run_id = :r"),
            {"r": run.id},
        ).all()
    )
    january = Period(date(2026, 1, 1), date(2026, 2, 1))
    versions = tariffs.versions_for(db, TARIFF, january)
    for who, kwh in zip(people, consumptions, strict=True):
        [bill] = invoices.invoices_page(db, db_actor(), usage_point_id=who.usage_point_id)[0]
        expected = rate(
            versions,
            BillableUsage(
                january, {"total": Decimal(kwh)}, "residential", "single_phase", Decimal(3)
            ),
        )
        assert items[who.usage_point_id] == bill.total == expected.total
        stored = [
            (ln.kind, ln.component, ln.quantity, ln.unit_price, ln.amount, ln.block)
            for ln in invoices.lines_of(db, bill.id)
        ]
        assert stored == [
            (ln.kind.value, ln.component, ln.quantity, ln.unit_price, ln.amount, ln.block)
            for ln in expected.lines
        ]
    ledger_is_clean(db)


def db_actor():
    from core.context import SYSTEM

    return SYSTEM
