"""End to end on the demo utility: a flag becomes an NTL case, the inspection is done by
a technician (field's service, as the sync API's push calls it), the assessment bills the
unbilled energy by each method (kWh by the rules' formula from the customer's own bills),
the ledger balances after every back-bill and credit note, and the label reaches fraud."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select, text

from billing.ledger import repository as ledger
from core.context import SYSTEM, acting_as
from core.outbox import InTransactionDispatcher, use_dispatcher
from core.periods import add_months, local_date, month_start
from field import service as field
from field.schemas import WorkOrderOutcome
from fraud import review
from fraud.enums import FlagEvent
from fraud.models import Flag, Label
from fraud.schemas import FlagCreate, FlagStep
from kilowatch.demo_billing import build_demo_billing
from kilowatch.demo_utility.builder import build_demo_utility
from revenue_protection import service
from revenue_protection.enums import AssessmentMethod as M
from revenue_protection.models import NtlCase
from revenue_protection.schemas import ContestDecision, Findings
from tests.revenue_protection.world import RULES, rules


def _books_balance(db) -> None:
    db.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))
    db.execute(text("SET CONSTRAINTS ALL DEFERRED"))
    report = ledger.check(db)
    assert report.ok and report.total_imbalance == 0, report


def test_a_flag_on_the_demo_utility_to_back_bills_and_a_label(db, make_technician) -> None:
    with acting_as(SYSTEM, request_id="test-rp-e2e"):
        build_demo_utility(db, customers=40, seed=15, service_points=60)
        build_demo_billing(db, None)
    rules(db)
    this_month = month_start(local_date(datetime.now(UTC)))
    months = [add_months(this_month, -k) for k in (3, 2, 1)]  # the billed months
    # A residential customer billed every one of them, with consumption in each.
    row = db.execute(
        text(
            "SELECT i.usage_point_id, array_agg(i.kwh ORDER BY i.period_start) "
            "FROM billing_invoice i JOIN customer_usage_point up ON up.id = i.usage_point_id "
            "WHERE i.kind = 'invoice' AND i.status = 'issued' AND up.category = 'residential' "
            "AND i.period_start = ANY(:m) AND i.period_end = i.period_start + interval '1 month'"
            " GROUP BY i.usage_point_id HAVING count(*) = 3 AND min(i.kwh) > 0 "
            "ORDER BY i.usage_point_id LIMIT 1"
        ),
        {"m": months},
    ).one()
    up, kwh = row[0], [Decimal(k) for k in row[1]]

    flag = review.open_flag(db, actor=SYSTEM, data=FlagCreate(usage_point_id=up, note="e2e"))
    for event in (FlagEvent.REVIEW, FlagEvent.SEND_TO_INSPECTION):
        review.step_flag(db, actor=SYSTEM, flag_id=flag.id, data=FlagStep(event=event))
    with use_dispatcher(InTransactionDispatcher()):
        db.commit()
    case = db.scalars(select(NtlCase).where(NtlCase.flag_id == flag.id)).one()
    technician, tech = make_technician(skills=["inspection"])
    field.assign_work_order(
        db, actor=SYSTEM, work_order_id=case.inspection_work_order_id, technician_id=technician.id
    )
    field.complete_work_order(
        db,
        actor=tech,
        work_order_id=case.inspection_work_order_id,
        outcome=WorkOrderOutcome(completed_at=datetime.now(UTC), finding="meter_tampered"),
    )
    with use_dispatcher(InTransactionDispatcher()):
        db.commit()
    db.refresh(case)
    assert (case.status, case.irregularity) == ("inspected", "meter_tampered")
    # Tampered since the last billed month: the two before it are the normal months.
    service.record_findings(
        db,
        actor=SYSTEM,
        case_id=case.id,
        data=Findings(irregularity_since=months[2], load_kw=Decimal("1.5"),
                      corrected_kwh=Decimal(40), corrected_days=8),
    )  # fmt: skip
    billed = kwh[2]  # the claim is the last billed month: 1 month, billed kwh[2]
    monthly = {
        M.CORRECTED_MEASUREMENT: Decimal(40) / 8 * 30,  # 150
        M.HIGHEST_NORMAL_MONTH: max(kwh[0], kwh[1]),
        M.AVERAGE_HIGHEST_MONTHS: (kwh[0] + kwh[1]) / 2,
        M.CONNECTED_LOAD: Decimal("1.5") * Decimal("0.1") * 24 * 30,  # 108
    }
    last_method = list(monthly)[-1]
    for method, estimate in monthly.items():
        unbilled = max(Decimal(0), (estimate * 1 - billed).quantize(Decimal(1), "ROUND_HALF_UP"))
        service.assess(db, actor=SYSTEM, case_id=case.id, method=method)
        db.refresh(case)
        assert Decimal(case.assessment["unbilled_kwh"]) == unbilled, method
        # meter_tampered: the default fixed penalty 10000 + 10 per unbilled kWh
        assert case.penalty == 10000 + 10 * int(unbilled), method
        service.back_bill(db, actor=SYSTEM, case_id=case.id)
        db.refresh(case)
        lines = db.execute(
            text("SELECT kind, amount FROM billing_invoice_line WHERE invoice_id = :i"),
            {"i": case.back_bill_invoice_id},
        ).all()
        assert sum(a for _k, a in lines) == case.assessment["invoice_total"]
        assert ("surcharge", case.penalty) in [tuple(x) for x in lines]
        _books_balance(db)
        if method is not last_method:
            service.contest(db, actor=SYSTEM, case_id=case.id, reason="e2e")
            service.decide_contestation(
                db, actor=SYSTEM, case_id=case.id,
                data=ContestDecision(accepted=True, reason="next method"),
            )  # fmt: skip
            _books_balance(db)
    service.close(db, actor=SYSTEM, case_id=case.id)
    assert db.get(Flag, flag.id).status == "confirmed"
    label = db.scalars(select(Label).where(Label.flag_id == flag.id)).one()
    assert (label.outcome, label.kind) == ("fraud", "meter_tampered")
    assert RULES["penalty"]["fixed"]["default"] == 10000
