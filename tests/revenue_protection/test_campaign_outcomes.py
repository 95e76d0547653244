"""Each outcome of a campaign visit, as the handheld reports it through field's work
orders: done (the cut is made), paid on the spot (no cut: the money taken is a payment,
a receipt shown is a claim to verify), refused, no access, meter not found; and the
reconnection fee the campaign's policy sets, charged once per restore done."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select, text

from billing.invoices import service as invoices
from billing.invoices.enums import InvoiceReason
from billing.payments.models import Payment
from core.context import SYSTEM
from core.outbox import InTransactionDispatcher, use_dispatcher
from core.periods import Period
from customers import service as customers
from customers.enums import ConnectionState
from customers.models import UsagePoint
from field import service as field
from field.enums import FailureCode
from field.errors import WorkOrderOutcomeInvalidError
from field.schemas import PaidOnSpot, WorkOrderFailure, WorkOrderOutcome
from revenue_protection import campaigns
from revenue_protection.models import CampaignItem
from tests.billing.world import at, customer, ledger_is_clean
from tests.conftest import TEST_PASSWORD

DAY = date(2026, 2, 11)
# January's bill of 120 kWh under KW-TEST: (500 + 100 * 50 + 20 * 80) * 1.18 = 8378.
BILL = 8378


def _owing(db):
    who = customer(db)
    invoices.issue_bill(
        db,
        SYSTEM,
        contract_id=who.contract_id,
        period=Period(date(2026, 1, 1), date(2026, 2, 1)),
        kwh={"total": Decimal(120)},
        reason=InvoiceReason.CYCLE,
    )
    return who


def _campaign(db, kind: str, people, technician_id: int, fee: int = 0):
    campaign = campaigns.create_campaign(
        db,
        actor=SYSTEM,
        data=campaigns.CampaignCreate(
            name=f"{kind} run", kind=kind, reconnection_fee=fee,
            criteria={"usage_point_ids": [p.usage_point_id for p in people]},
        ),
    )  # fmt: skip
    campaigns.dispatch(
        db,
        actor=SYSTEM,
        campaign_id=campaign.id,
        data=campaigns.CampaignDispatch(technician_ids=[technician_id], planned_date=DAY),
    )
    db.flush()
    items = db.scalars(select(CampaignItem).where(CampaignItem.campaign_id == campaign.id))
    return campaign, {i.usage_point_id: i for i in items}


def _state(db, who) -> str:
    return db.get(UsagePoint, who.usage_point_id).connection_state


def test_every_outcome_of_a_cut_visit(db, make_technician, client, make_user) -> None:
    done, paid, claimed, refused, no_access, not_found = (_owing(db) for _ in range(6))
    technician, agent = make_technician()
    people = [done, paid, claimed, refused, no_access, not_found]
    campaign, items = _campaign(db, "cut", people, technician.id, fee=1500)
    order = {who.usage_point_id: items[who.usage_point_id].work_order_id for who in people}

    # The finding and the payment go together, on a cut or a reduction only.
    with pytest.raises(WorkOrderOutcomeInvalidError):
        field.complete_work_order(
            db, actor=agent, work_order_id=order[paid.usage_point_id],
            outcome=WorkOrderOutcome(completed_at=at(DAY), finding="paid_on_spot"),
        )  # fmt: skip
    with pytest.raises(WorkOrderOutcomeInvalidError):
        field.complete_work_order(
            db, actor=agent, work_order_id=order[paid.usage_point_id],
            outcome=WorkOrderOutcome(
                completed_at=at(DAY), paid=PaidOnSpot(amount=1, reference="R", taken=True)
            ),
        )  # fmt: skip

    field.complete_work_order(
        db, actor=agent, work_order_id=order[done.usage_point_id],
        outcome=WorkOrderOutcome(completed_at=at(DAY)),
    )  # fmt: skip
    field.complete_work_order(
        db, actor=agent, work_order_id=order[paid.usage_point_id],
        outcome=WorkOrderOutcome(
            completed_at=at(DAY), finding="paid_on_spot",
            paid=PaidOnSpot(amount=BILL, reference="RCPT-0001", taken=True),
        ),
    )  # fmt: skip
    field.complete_work_order(
        db, actor=agent, work_order_id=order[claimed.usage_point_id],
        outcome=WorkOrderOutcome(
            completed_at=at(DAY), finding="paid_on_spot",
            paid=PaidOnSpot(amount=4000, reference="MM-778812", taken=False,
                            instrument="mobile_money"),
        ),
    )  # fmt: skip
    for who, code in (
        (refused, FailureCode.CUSTOMER_REFUSED),
        (no_access, FailureCode.NO_ACCESS),
        (not_found, FailureCode.METER_NOT_FOUND),
    ):
        field.fail_work_order(
            db, actor=agent, work_order_id=order[who.usage_point_id],
            failure=WorkOrderFailure(code=code, at=at(DAY)),
        )  # fmt: skip
    with use_dispatcher(InTransactionDispatcher()):
        db.commit()
    db.expire_all()

    seen = campaigns.progress(db, actor=SYSTEM, campaign_id=campaign.id)
    assert seen.status == "closed"
    assert seen.outcomes == {
        "done": 1, "paid_on_spot": 2, "refused": 1, "no_access": 1, "meter_not_found": 1,
    }  # fmt: skip
    # Only the visit done cut the supply; the others left it on.
    assert _state(db, done) == "disconnected"
    assert {_state(db, w) for w in people[1:]} == {"connected"}

    # The money taken at the door is a payment of the account (through payments: its
    # ledger transaction and receipt number); the bill is settled, the ledger balanced.
    taken = db.get(CampaignItem, items[paid.usage_point_id].id)
    assert (taken.paid_status, taken.paid_amount, taken.paid_reference) == (
        "posted", BILL, "RCPT-0001",
    )  # fmt: skip
    payment = db.get(Payment, taken.payment_id)
    assert (payment.customer_account_id, payment.amount, payment.instrument, payment.status) == (
        paid.account_id, BILL, "cash", "posted",
    )  # fmt: skip
    assert "RCPT-0001" in payment.reference
    owed = db.scalar(
        text(
            "SELECT coalesce(sum(p.amount), 0) FROM billing_ledger_posting p JOIN "
            "billing_ledger_account a ON a.id = p.account_id AND a.per_customer_account "
            "WHERE p.customer_account_id = :a"
        ),
        {"a": paid.account_id},
    )
    assert owed == 0  # 8378 billed - 8378 paid
    ledger_is_clean(db)
    # A receipt of a payment made elsewhere: a claim for the back office, no payment.
    claim = db.get(CampaignItem, items[claimed.usage_point_id].id)
    assert (claim.paid_status, claim.paid_amount, claim.payment_id) == ("to_verify", 4000, None)
    assert db.scalar(
        select(Payment.id).where(Payment.customer_account_id == claimed.account_id)
    ) is None  # fmt: skip
    # No reconnection fee on a cut campaign, paid on the spot or not.
    assert db.scalar(text("SELECT count(*) FROM billing_receivable_item WHERE kind = 'fee' "
                          "AND document_ref LIKE :r"), {"r": f"RECON-{campaign.id}-%"}) == 0  # fmt: skip

    # The map tells paid on the spot apart from a cut, with what was paid.
    shown = campaigns.campaign_map(db, actor=SYSTEM, campaign_id=campaign.id)
    props = {f["properties"]["usage_point_id"]: f["properties"] for f in shown["features"]}
    assert props[paid.usage_point_id]["outcome"] == "paid_on_spot"
    assert (props[paid.usage_point_id]["paid_amount"], props[paid.usage_point_id]["paid_status"]) == (
        BILL, "posted",
    )  # fmt: skip
    assert props[claimed.usage_point_id]["paid_status"] == "to_verify"
    assert {p["outcome"] for p in props.values()} == {
        "done", "paid_on_spot", "refused", "no_access", "meter_not_found",
    }  # fmt: skip
    make_user("manager", username="page-rp-outcomes")
    client.post("/login", data={"username": "page-rp-outcomes", "password": TEST_PASSWORD})
    page = client.get(f"/revenue-protection/campaigns/{campaign.id}")
    assert page.status_code == 200
    assert "paid on the spot, supply left on" in page.text and "kw-paid-on-spot" in page.text


def test_the_reconnection_fee_is_charged_once_per_restore_done(db, make_technician) -> None:
    back, away = customer(db), customer(db)  # postpaid meters: restored in the field
    for who in (back, away):
        customers.set_connection_state(
            db, usage_point_id=who.usage_point_id, state=ConnectionState.DISCONNECTED
        )
    technician, agent = make_technician()
    campaign, items = _campaign(db, "restore", [back, away], technician.id, fee=2000)
    field.complete_work_order(
        db, actor=agent, work_order_id=items[back.usage_point_id].work_order_id,
        outcome=WorkOrderOutcome(completed_at=at(DAY)),
    )  # fmt: skip
    field.fail_work_order(
        db, actor=agent, work_order_id=items[away.usage_point_id].work_order_id,
        failure=WorkOrderFailure(code=FailureCode.NO_ACCESS, at=at(DAY)),
    )  # fmt: skip
    with use_dispatcher(InTransactionDispatcher()):
        db.commit()
    db.expire_all()
    # The same news again (a redelivered event): the item is no longer pending.
    campaigns.outcome_of_work_order(
        db, work_order_id=items[back.usage_point_id].work_order_id, finding="",
        failure_code=None, at=at(DAY),
    )  # fmt: skip
    db.flush()
    fees = db.execute(
        text(
            "SELECT customer_account_id, amount FROM billing_receivable_item "
            "WHERE kind = 'fee' AND document_ref LIKE :r"
        ),
        {"r": f"RECON-{campaign.id}-%"},
    ).all()
    assert [tuple(f) for f in fees] == [(back.account_id, 2000)]  # none for no access
    assert (_state(db, back), _state(db, away)) == ("connected", "disconnected")


def test_mobile_money_paid_on_the_spot_is_posted_once(db) -> None:
    """The agent reports a mobile-money payment the operator's notice already posted: the
    visit points at that payment; a transaction of another account is left to verify."""
    from billing.payments import service as payments
    from billing.payments.enums import Channel, Instrument
    from billing.payments.schemas import PaymentCreate
    from revenue_protection import on_spot
    from revenue_protection.models import Campaign

    who, other = _owing(db), _owing(db)
    known = payments.record_payment(
        db, SYSTEM,
        data=PaymentCreate(customer_account_id=who.account_id, amount=BILL,
                           channel=Channel.MOBILE_MONEY, instrument=Instrument.MOBILE_MONEY,
                           external_id="MM-1"),
    )  # fmt: skip
    campaign = Campaign(name="cuts", kind="cut", criteria={"x": 1}, status="running")
    db.add(campaign)
    db.flush()
    mine = CampaignItem(campaign_id=campaign.id, usage_point_id=who.usage_point_id,
                        account_id=who.account_id)  # fmt: skip
    theirs = CampaignItem(campaign_id=campaign.id, usage_point_id=other.usage_point_id,
                          account_id=other.account_id)  # fmt: skip
    db.add_all([mine, theirs])
    db.flush()
    paid = {"amount": BILL, "reference": "MM-1", "taken": True, "instrument": "mobile_money"}
    on_spot.record(db, campaign, mine, paid)
    on_spot.record(db, campaign, theirs, paid)
    assert (mine.payment_id, mine.paid_status) == (known.id, "posted")
    assert (theirs.payment_id, theirs.paid_status) == (None, "to_verify")
    count = db.scalar(text("SELECT count(*) FROM billing_payment WHERE external_id = 'MM-1'"))
    assert count == 1
