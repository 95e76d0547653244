"""An NTL case from end to end on the database: a flag sent to inspection opens the case
and its inspection order; the technician's completed order brings the findings; the case
is assessed under the rule set by each method, back-billed through billing (the ledger
balances), contested, closed, and the flag confirmed with its label."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select, text

from billing.invoices import service as invoices
from billing.invoices.enums import InvoiceReason
from core.context import SYSTEM
from core.outbox import InTransactionDispatcher, use_dispatcher
from core.periods import Period
from field import service as field
from field.models import WorkOrder
from field.schemas import WorkOrderOutcome
from fraud import review
from fraud.enums import FlagEvent
from fraud.models import Flag, Label
from fraud.schemas import FlagCreate, FlagStep
from revenue_protection import service
from revenue_protection.enums import AssessmentMethod, CaseSource
from revenue_protection.errors import (
    AssessmentNotPossibleError,
    NtlCaseOpenExistsError,
    NtlCaseTransitionInvalidError,
)
from revenue_protection.models import NtlCase
from revenue_protection.schemas import ContestDecision, Findings, NtlCaseCreate
from tests.billing.world import at, ledger_is_clean
from tests.revenue_protection.world import bypassed_customer, rules

INSPECTED = date(2026, 1, 15)  # a Thursday


def _dispatch(db) -> None:
    with use_dispatcher(InTransactionDispatcher()):
        db.commit()


def _flagged_case(db):
    """The customer, flagged and sent to inspection; the case fraud's event opened."""
    rules(db)
    who = bypassed_customer(db)
    flag = review.open_flag(
        db, actor=SYSTEM, data=FlagCreate(usage_point_id=who.usage_point_id, note="tip")
    )
    for event in (FlagEvent.REVIEW, FlagEvent.SEND_TO_INSPECTION):
        review.step_flag(db, actor=SYSTEM, flag_id=flag.id, data=FlagStep(event=event))
    _dispatch(db)  # fraud.flag_sent_to_inspection -> the case and its order
    [case] = db.scalars(select(NtlCase).where(NtlCase.usage_point_id == who.usage_point_id))
    return who, flag, case


def _inspect(db, make_technician, case, finding: str = "bypass") -> None:
    technician, tech = make_technician(skills=["inspection"])
    field.assign_work_order(
        db, actor=SYSTEM, work_order_id=case.inspection_work_order_id, technician_id=technician.id
    )
    field.complete_work_order(
        db,
        actor=tech,
        work_order_id=case.inspection_work_order_id,
        outcome=WorkOrderOutcome(
            completed_at=at(INSPECTED),
            finding=finding,
            note="cable around the meter",
            photo_sha256=["a" * 64],
        ),
    )
    _dispatch(db)  # field.work_order_completed -> the findings


def test_a_flag_becomes_a_case_with_its_inspection_order(db) -> None:
    who, flag, case = _flagged_case(db)
    assert (case.source, case.source_ref, case.flag_id, case.status) == (
        "fraud_flag",
        str(flag.id),
        flag.id,
        "inspecting",
    )
    order = db.get(WorkOrder, case.inspection_work_order_id)
    assert (order.kind, order.usage_point_id, order.instructions["ntl_case_id"]) == (
        "inspect",
        who.usage_point_id,
        case.id,
    )
    # The same flag again (a redelivered event) opens nothing new.
    again = service.open_case(
        db,
        actor=SYSTEM,
        usage_point_id=who.usage_point_id,
        source=CaseSource.FRAUD_FLAG,
        source_ref=str(flag.id),
    )
    assert again.id == case.id
    # A second case by hand at the same usage point is refused.
    with pytest.raises(NtlCaseOpenExistsError):
        service.create_case(db, actor=SYSTEM, data=NtlCaseCreate(usage_point_id=who.usage_point_id))


def test_the_inspection_assessed_by_each_method_back_billed_and_closed(db, make_technician) -> None:
    who, flag, case = _flagged_case(db)
    _inspect(db, make_technician, case)
    db.refresh(case)
    assert (case.status, case.irregularity, case.inspected_on) == (
        "inspected",
        "bypass",
        INSPECTED,
    )
    assert case.findings["photos"] == ["a" * 64]
    with pytest.raises(AssessmentNotPossibleError):
        service.assess(db, actor=SYSTEM, case_id=case.id, method=AssessmentMethod.CONNECTED_LOAD)
    service.record_findings(
        db,
        actor=SYSTEM,
        case_id=case.id,
        data=Findings(
            irregularity_since=date(2025, 7, 1),
            load_kw=Decimal(2),
            corrected_kwh=Decimal(50),
            corrected_days=10,
        ),
    )
    # Claimed: July..December 2025 (6 months, the cap); billed 6 * 40 = 240 kWh.
    # Energy priced at the margin of KW-TEST over 6 months (first block 6 * 100 kWh at
    # 50, above at 80): energy(240 + u) - energy(240), and 240 * 50 = 12000.
    #   corrected 150/month: u = 660, 900 kWh: 600*50 + 300*80 = 54000 - 12000 = 42000
    #   highest 180/month:   u = 840, 1080:    30000 + 480*80 = 68400 - 12000 = 56400
    #   average 163.33:      u = 740, 980:     30000 + 380*80 = 60400 - 12000 = 48400
    #   load 144/month:      u = 624, 864:     30000 + 264*80 = 51120 - 12000 = 39120
    # Penalty (bypass): 25000 + 10 * u.
    expected = {
        AssessmentMethod.CORRECTED_MEASUREMENT: (660, 42000),
        AssessmentMethod.HIGHEST_NORMAL_MONTH: (840, 56400),
        AssessmentMethod.AVERAGE_HIGHEST_MONTHS: (740, 48400),
        AssessmentMethod.CONNECTED_LOAD: (624, 39120),
    }
    for method, (kwh, energy) in expected.items():
        service.assess(db, actor=SYSTEM, case_id=case.id, method=method)
        service.back_bill(db, actor=SYSTEM, case_id=case.id, issue_date=date(2026, 1, 20))
        db.refresh(case)
        bill = db.execute(
            text("SELECT kwh, total, reason FROM billing_invoice WHERE id = :id"),
            {"id": case.back_bill_invoice_id},
        ).one()
        assert (bill.kwh, bill.total, bill.reason) == (
            kwh,
            energy + 25000 + 10 * kwh,
            "back_billing",
        ), method
        ledger_is_clean(db)
        if method is not AssessmentMethod.CONNECTED_LOAD:
            # The customer contests; accepted: a credit note cancels it, assess again.
            service.contest(db, actor=SYSTEM, case_id=case.id, reason="too high")
            service.decide_contestation(
                db,
                actor=SYSTEM,
                case_id=case.id,
                data=ContestDecision(accepted=True, reason="try the next method"),
            )
            ledger_is_clean(db)
    # The last back-bill (connected load) stands: 39120 + 25000 + 6240 = 70360.
    service.close(db, actor=SYSTEM, case_id=case.id)
    db.refresh(case)
    assert (case.status, case.recovered_kwh, case.recovered_amount) == ("closed", 624, 70360)
    assert db.get(Flag, flag.id).status == "confirmed"
    [label] = db.scalars(select(Label).where(Label.usage_point_id == who.usage_point_id))
    assert (label.outcome, label.kind, label.inspected_on, label.flag_id) == (
        "fraud",
        "bypass",
        INSPECTED,
        flag.id,
    )
    # Credit notes and the standing back-bill: the receivable holds exactly the last one.
    receivable = db.scalar(
        text(
            "SELECT sum(total) FROM billing_invoice WHERE contract_id = :c "
            "AND (reason = 'back_billing' OR credits_invoice_id IN "
            "(SELECT id FROM billing_invoice WHERE reason = 'back_billing'))"
        ),
        {"c": who.contract_id},
    )
    assert receivable == 70360
    # The next cycle bill still goes through (a back-bill does not block the months).
    january = invoices.issue_bill(
        db,
        SYSTEM,
        contract_id=who.contract_id,
        period=Period(date(2026, 1, 1), date(2026, 2, 1)),
        kwh={"total": Decimal(150)},
        reason=InvoiceReason.CYCLE,
    )
    assert january.kwh == 150
    ledger_is_clean(db)
    steps = [s.event for s in service.case_history(db, actor=SYSTEM, case_id=case.id)]
    assert steps[:4] == ["open", "order_inspection", "record_findings", "record_findings"]
    assert steps[-1] == "close"


def test_a_seal_anomaly_opens_a_case_and_a_clean_inspection_dismisses_it(
    db, make_technician
) -> None:
    rules(db)
    who = bypassed_customer(db)
    case = service.open_case(
        db,
        actor=SYSTEM,
        usage_point_id=who.usage_point_id,
        source=CaseSource.SEAL_ANOMALY,
        source_ref="seal-event-1",
        note="seal S-1 found broken",
    )
    assert case.status == "inspecting"
    _inspect(db, make_technician, case, finding="none")
    db.refresh(case)
    with pytest.raises(NtlCaseTransitionInvalidError):
        service.close(db, actor=SYSTEM, case_id=case.id)
    service.dismiss(db, actor=SYSTEM, case_id=case.id, reason="seal broken by the wind")
    [label] = db.scalars(select(Label).where(Label.usage_point_id == who.usage_point_id))
    assert (label.outcome, label.source, label.flag_id) == (
        "no_fraud",
        f"ntl_case:{case.id}",
        None,
    )


def test_the_seal_anomaly_handler_opens_one_case_and_joins_news_to_it(db) -> None:
    import uuid
    from datetime import UTC, datetime

    from field.events import SealAnomalyFound
    from kilowatch.handlers import ntl_case_from_seal_anomaly

    rules(db)
    who = bypassed_customer(db)

    def event(n: int) -> SealAnomalyFound:
        return SealAnomalyFound(
            seal_event_id=n, anomaly="found_broken", seal_number=f"S-{n}", seal_id=None,
            usage_point_id=who.usage_point_id, meter_id=None, work_order_id=None,
            round_item_id=None, technician_id=None, at=datetime(2026, 1, 10, tzinfo=UTC),
        )  # fmt: skip

    for n in (101, 101, 102):  # the first delivered twice, then another seal at the meter
        ntl_case_from_seal_anomaly(db, event(n), uuid.uuid4())
    [case] = db.scalars(select(NtlCase).where(NtlCase.usage_point_id == who.usage_point_id))
    assert (case.source, case.source_ref, case.status) == ("seal_anomaly", "101", "inspecting")
    assert "seal S-102 found broken" in case.note
    steps = [s.event for s in service.case_history(db, actor=SYSTEM, case_id=case.id)]
    assert steps == ["open", "order_inspection", "joined"]
