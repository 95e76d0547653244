"""Payment plans suspend the steps and a missed instalment resumes them; write-off with
a second person's approval and recovery by a later payment; notices through the
recording gateways, recorded on the customer's interactions. The books hold after each."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select, text

from billing.collections import notices, plans, service, write_offs
from billing.collections.errors import PaymentPlanConflictError, WriteOffConflictError
from billing.collections.models import CollectionFile, PaymentPlanInstalment, WriteOff
from billing.collections.repository import cut_eligible
from core.context import SYSTEM, Actor
from core.notify import service as notify
from core.notify.gateways import RecordingGateway
from core.notify.message import Channel
from customers.models import Interaction
from tests.billing.collections.helpers import (
    DUE,
    books_hold,
    nights,
    paid,
    policy,
    reversed_,
    steps_done,
)
from tests.billing.payments.helpers import balance, invoice, make_account

ADA = Actor(user_id=None, username="ada-collector", scopes=frozenset({"*"}))
BEA = Actor(user_id=None, username="bea-manager", scopes=frozenset({"*"}))


def bad_debts(db) -> int:
    return int(
        db.execute(
            text(
                "SELECT COALESCE(sum(p.amount), 0) FROM billing_ledger_posting p "
                "JOIN billing_ledger_account a ON a.id = p.account_id "
                "WHERE a.code = 'expense:write_off'"
            )
        ).scalar_one()
    )


def test_a_plan_suspends_the_steps_and_a_missed_instalment_resumes_them(db) -> None:
    policy(db, rate="0")
    account = make_account(db)
    bill = invoice(db, account, 60_000, DUE, "F-PLAN-1")
    nights(db, date(2026, 4, 30), date(2026, 5, 11))
    assert steps_done(db, account.id) == [(1, date(2026, 5, 8))]
    plan = plans.create_plan(
        db,
        SYSTEM,
        customer_account_id=account.id,
        item_ids=[bill.id],
        down_payment=10_000,
        instalments=2,
        first_due_date=date(2026, 6, 12),
        agreed_on=date(2026, 5, 12),
        interest_rate=Decimal("0.10"),
        grace_days=5,
    )
    # Interest on the 50 000 financed, from the agreement to the last instalment,
    # charged at once as an item the plan covers.
    days = (date(2026, 7, 12) - date(2026, 5, 12)).days  # 61
    assert days == 61
    # 50 000 * 0.10 * 61 / 365 = 835.62 -> 836
    assert plan.interest == 836
    rows = db.scalars(
        select(PaymentPlanInstalment)
        .where(PaymentPlanInstalment.plan_id == plan.id)
        .order_by(PaymentPlanInstalment.sequence)
    ).all()
    # down payment, then (50 000 + 836) / 2 = 25 418 twice
    assert [(r.sequence, r.due_date, r.amount) for r in rows] == [
        (0, date(2026, 5, 12), 10_000),
        (1, date(2026, 6, 12), 25_418),
        (2, date(2026, 7, 12), 25_418),
    ]
    with pytest.raises(PaymentPlanConflictError):
        plans.create_plan(
            db,
            SYSTEM,
            customer_account_id=account.id,
            item_ids=[bill.id],
            down_payment=0,
            instalments=1,
            first_due_date=date(2026, 6, 1),
            agreed_on=date(2026, 5, 12),
        )
    paid(db, account, 10_000, date(2026, 5, 12))
    assert db.get(CollectionFile, account.id).status == "plan"
    nights(db, date(2026, 5, 12), date(2026, 6, 17))
    # Suspended: no step, not on the cut list, although the bill is long overdue.
    assert steps_done(db, account.id) == [(1, date(2026, 5, 8))]
    assert cut_eligible(db, SYSTEM, on=date(2026, 6, 16), limit=10, offset=0)[1] == 0
    # Instalment 1 (12 June) unpaid 6 days later, beyond the 5 days of grace: broken on
    # 18 June, and the formal notice (due since 18 May) fires that night.
    nights(db, date(2026, 6, 18), date(2026, 6, 18))
    assert plan.status == "broken"
    assert steps_done(db, account.id) == [(1, date(2026, 5, 8)), (2, date(2026, 6, 18))]
    # 60 000 + 836 interest + 1 000 fee - 10 000 paid
    assert balance(db, account) == 51_836
    books_hold(db)


def test_a_plan_paid_on_time_completes(db) -> None:
    policy(db, rate="0")
    account = make_account(db)
    bill = invoice(db, account, 30_000, DUE, "F-PLAN-2")
    plan = plans.create_plan(
        db,
        SYSTEM,
        customer_account_id=account.id,
        item_ids=[bill.id],
        down_payment=0,
        instalments=2,
        first_due_date=date(2026, 5, 15),
        agreed_on=date(2026, 5, 2),
        grace_days=0,
    )
    paid(db, account, 15_000, date(2026, 5, 15))
    nights(db, date(2026, 5, 2), date(2026, 6, 14))
    assert plan.status == "active" and steps_done(db, account.id) == []
    paid(db, account, 15_000, date(2026, 6, 15))
    assert plan.status == "completed"
    assert db.get(CollectionFile, account.id).status == "current"
    books_hold(db)


def test_write_off_needs_a_second_person_and_is_recovered_by_a_later_payment(db) -> None:
    policy(db, rate="0")
    account = make_account(db)
    invoice(db, account, 30_000, DUE, "F-WO-1")
    nights(db, date(2026, 5, 29), date(2026, 5, 29))
    request = write_offs.request_write_off(
        db, ADA, customer_account_id=account.id, reason="customer untraceable"
    )
    assert request.amount == 30_000
    with pytest.raises(WriteOffConflictError):
        write_offs.decide_write_off(db, ADA, request, approve=True, on=date(2026, 6, 1))
    write_offs.decide_write_off(db, BEA, request, approve=True, on=date(2026, 6, 1))
    assert balance(db, account) == 0  # 30 000 - 30 000 written off
    assert db.get(CollectionFile, account.id).status == "written_off"
    nights(db, date(2026, 6, 1), date(2026, 6, 30))
    assert [s for s in steps_done(db, account.id) if s[1] >= date(2026, 6, 1)] == []
    payment = paid(db, account, 12_000, date(2026, 6, 10))
    db.refresh(request)
    assert request.recovered == 12_000
    # -12 000 paid + 12 000 recovered: the receivable stays at zero, bad debts fall.
    assert balance(db, account) == 0
    # The bad-debt account nets 30 000 written off - 12 000 recovered.
    assert bad_debts(db) == 18_000
    books_hold(db)
    reversed_(db, payment)
    db.refresh(request)
    assert request.recovered == 0
    assert balance(db, account) == 0  # 0 + 12 000 reversed - 12 000 un-recovered
    assert bad_debts(db) == 30_000
    assert db.scalars(select(WriteOff)).all()[-1].status == "approved"
    books_hold(db)


def test_notices_are_sent_in_the_customer_language_and_recorded(db) -> None:
    policy(db, rate="0")
    account = make_account(db)
    account.delivery_phone = "+22961000001"
    account.language = "en"
    invoice(db, account, 25_000, DUE, "F-NOT-1")
    fake = RecordingGateway()
    with notify.use_gateway(Channel.SMS, fake):
        nights(db, date(2026, 5, 1), date(2026, 5, 8))
        counts = notices.send_pending(db, SYSTEM, on=date(2026, 5, 8))
    assert counts == {"sent": 1}
    assert len(fake.sent) == 1
    message = fake.sent[0]
    assert message.to == ("+22961000001",) and message.language == "en"
    assert message.body.startswith("Kilowatch Electricity: REMINDER. Account ")
    interactions = db.scalars(
        select(Interaction).where(Interaction.party_id == account.payer_party_id)
    ).all()
    assert [(i.channel, i.direction, i.subject) for i in interactions] == [
        ("sms", "out", "Payment reminder")
    ]
    # The letter of the formal notice renders as a PDF.
    nights(db, date(2026, 5, 9), date(2026, 5, 18))
    assert notices.send_pending(db, SYSTEM, on=date(2026, 5, 18)) == {"to_print": 1}
    action = service.file_of(db, SYSTEM, account.id).actions[-1]
    from billing.collections.models import CollectionAction

    pdf = notices.letter_pdf(db, db.get(CollectionAction, action.id))
    assert pdf.startswith(b"%PDF")
    books_hold(db)
