"""Automatic restoration: payments posted for real (billing's payment service), their
events delivered after commit to the handler, the decision table deciding per cut usage
point: restore through the head-end, a restore order, or hold with the reason."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select, text

from billing.invoices import service as invoices
from billing.invoices.enums import InvoiceReason
from billing.payments import cheques
from billing.payments.enums import Channel, Instrument
from core.context import SYSTEM
from core.outbox import InTransactionDispatcher, use_dispatcher
from core.periods import Period
from customers import service as customers
from customers.enums import ConnectionState
from customers.models import Account, UsagePoint
from field import service as field
from field.models import WorkOrder
from field.schemas import WorkOrderOutcome
from revenue_protection import service as cases
from revenue_protection.enums import CaseSource
from revenue_protection.head_end import CommandOutcome, SimulatedHeadEnd, use_head_end
from revenue_protection.models import Restoration, SupplyHold
from tests.billing.payments.helpers import pay
from tests.billing.world import at, customer, month_total

PAID = date(2026, 2, 10)


@pytest.fixture()
def head_end():
    simulated = SimulatedHeadEnd()
    previous = use_head_end(simulated)
    yield simulated
    use_head_end(previous)


def _dispatch(db) -> None:
    with use_dispatcher(InTransactionDispatcher()):
        db.commit()


def _cut_customer(db, *, smart: bool = True):
    """A customer owing January's bill of 150 kWh, cut for it."""
    who = customer(db)
    invoices.issue_bill(
        db,
        SYSTEM,
        contract_id=who.contract_id,
        period=Period(date(2026, 1, 1), date(2026, 2, 1)),
        kwh={"total": Decimal(150)},
        reason=InvoiceReason.CYCLE,
    )
    if smart:
        db.execute(
            text("UPDATE meter_asset SET meter_type = 'smart' WHERE serial = :s"),
            {"s": who.meter_serial},
        )
    customers.set_connection_state(
        db, usage_point_id=who.usage_point_id, state=ConnectionState.DISCONNECTED
    )
    return who


def _restorations(db, who) -> list[Restoration]:
    return list(
        db.scalars(
            select(Restoration)
            .where(Restoration.usage_point_id == who.usage_point_id)
            .order_by(Restoration.id)
        )
    )


def _state(db, who) -> str:
    db.expire_all()
    return db.get(UsagePoint, who.usage_point_id).connection_state


def test_a_cleared_payment_restores_a_smart_meter_remotely(db, head_end) -> None:
    who = _cut_customer(db)
    pay(db, db.get(Account, who.account_id), month_total(150), PAID)
    _dispatch(db)
    [r] = _restorations(db, who)
    assert (r.status, r.branch, r.reason) == ("restored", "remote", None)
    assert head_end.sent == [(who.meter_serial, "connect")]
    assert [s["step"] for s in r.steps] == ["received", "decided", "command_sent", "acknowledged"]
    assert r.payment_at <= r.started_at <= r.decided_at <= r.command_at <= r.restored_at
    assert _state(db, who) == "connected"


def test_a_pending_cheque_is_held_until_it_clears(db, head_end) -> None:
    who = _cut_customer(db)
    payment = pay(
        db,
        db.get(Account, who.account_id),
        month_total(150),
        PAID,
        channel=Channel.CHEQUE,
        instrument=Instrument.CHEQUE,
    )
    _dispatch(db)
    [held] = _restorations(db, who)
    assert (held.status, held.reason) == ("held", "payment_not_cleared")
    assert _state(db, who) == "disconnected"
    cheques.clear(db, SYSTEM, payment)
    _dispatch(db)
    [_, cleared] = _restorations(db, who)
    assert (cleared.trigger, cleared.status) == ("payment_cleared", "restored")
    assert _state(db, who) == "connected"


def test_an_open_ntl_case_or_a_hold_keeps_the_supply_off(db, head_end) -> None:
    who = _cut_customer(db)
    cases.open_case(
        db,
        actor=SYSTEM,
        usage_point_id=who.usage_point_id,
        source=CaseSource.MANUAL,
        order_inspection=False,
    )
    pay(db, db.get(Account, who.account_id), month_total(150), PAID)
    _dispatch(db)
    [r] = _restorations(db, who)
    assert (r.status, r.reason) == ("held", "ntl_case_open")

    other = _cut_customer(db)
    db.add(SupplyHold(usage_point_id=other.usage_point_id, reason="court order"))
    pay(db, db.get(Account, other.account_id), month_total(150), PAID)
    _dispatch(db)
    [h] = _restorations(db, other)
    assert (h.status, h.reason) == ("held", "supply_hold")
    assert head_end.sent == []


def test_a_partial_payment_leaves_the_balance_above_the_threshold(db, head_end) -> None:
    who = _cut_customer(db)
    pay(db, db.get(Account, who.account_id), 1000, PAID)
    _dispatch(db)
    [r] = _restorations(db, who)
    assert (r.status, r.reason) == ("held", "balance_above_threshold")


def test_a_head_end_time_out_falls_back_to_a_field_order(db, head_end, make_technician) -> None:
    who = _cut_customer(db)
    head_end.outcomes[who.meter_serial] = CommandOutcome.TIMED_OUT
    pay(db, db.get(Account, who.account_id), month_total(150), PAID)
    _dispatch(db)
    [r] = _restorations(db, who)
    assert (r.status, r.branch, r.reason) == (
        "field_order",
        "remote_fallback",
        "head_end_timed_out",
    )
    order = db.get(WorkOrder, r.work_order_id)
    assert (order.kind, order.priority, order.usage_point_id) == ("restore", 1, who.usage_point_id)
    technician, tech = make_technician()
    field.assign_work_order(db, actor=SYSTEM, work_order_id=order.id, technician_id=technician.id)
    field.complete_work_order(
        db,
        actor=tech,
        work_order_id=order.id,
        outcome=WorkOrderOutcome(completed_at=at(date(2026, 2, 11))),
    )
    _dispatch(db)
    db.expire_all()
    [done] = _restorations(db, who)
    assert done.status == "restored"
    assert _state(db, who) == "connected"


def test_a_meter_without_remote_control_gets_a_field_order(db, head_end) -> None:
    who = _cut_customer(db, smart=False)
    pay(db, db.get(Account, who.account_id), month_total(150), PAID)
    _dispatch(db)
    [r] = _restorations(db, who)
    assert (r.status, r.branch) == ("field_order", "field")
    assert head_end.sent == []


def test_supervision_shows_each_branch_timed_and_the_stuck(db, head_end, client, make_user) -> None:
    from tests.conftest import bearer

    smart = _cut_customer(db)
    pay(db, db.get(Account, smart.account_id), month_total(150), PAID)
    plain = _cut_customer(db, smart=False)
    pay(db, db.get(Account, plain.account_id), month_total(150), PAID)
    _dispatch(db)
    manager = bearer(make_user("manager"))
    answer = client.get("/api/v1/revenue-protection/restorations/supervision", headers=manager)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    branches = {b["branch"]: b for b in body["branches"]}
    assert branches["remote"]["count"] >= 1 and branches["field"]["count"] >= 1
    assert branches["remote"]["command_p95_ms"] >= 0
    assert body["running"].get("field_order", 0) >= 1
    listed = client.get(
        "/api/v1/revenue-protection/restorations", headers=manager, params={"status": "restored"}
    ).json()
    assert smart.usage_point_id in {r["usage_point_id"] for r in listed["items"]}


def test_an_agreed_plan_makes_the_balance_left_acceptable(db, head_end) -> None:
    from revenue_protection import restoration

    who = _cut_customer(db)
    restoration.PLAN_SOURCES.append(lambda _s, account_id: account_id == who.account_id)
    try:
        pay(db, db.get(Account, who.account_id), 1000, PAID)  # a first instalment
        _dispatch(db)
    finally:
        restoration.PLAN_SOURCES.clear()
    [r] = _restorations(db, who)
    assert (r.status, r.branch) == ("restored", "remote")
