"""Shared set-up of the collections tests: one policy on working days, accounts with an
invoice due Thursday 30 April 2026, nights run day by day.

Benin's public holidays in May 2026 (the ``holidays`` package): Fri 1 (Labour Day), Thu 14
(Ascension), Mon 25 (Whit Monday), Wed 27 (Eid al-Adha, estimated). Working days after
Thu 30 April: 4, 5, 6, 7, 8 (5th), 11, 12, 13, 15, 18 (10th), 19, 20, 21, 22, 26 (15th).
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.collections import service
from billing.collections.models import CollectionAction, CollectionPolicy
from billing.collections.schemas import NightReport, PolicyCreate
from billing.payments.models import Payment
from core.context import SYSTEM
from kilowatch.handlers import collections_after_payment, collections_after_reversal
from tests.billing.payments.helpers import pay

DUE = date(2026, 4, 30)


def policy(db: Session, *, rate: str = "0.12") -> CollectionPolicy:
    """reminder (SMS, 5 working days, no fee), formal notice (letter, 10 working days,
    1 000 XOF), cut (SMS, 15 working days, 2 500 XOF); interest 12 % a year ACT/365."""
    return service.create_policy(
        db,
        SYSTEM,
        data=PolicyCreate.model_validate(
            {
                "code": f"p-{uuid.uuid4().hex[:8]}",
                "name": "Residential",
                "interest_rate": Decimal(rate),
                "steps": [
                    {
                        "code": "reminder",
                        "delay": 5,
                        "delay_unit": "working_days",
                        "min_amount": 1000,
                        "channel": "sms",
                    },
                    {
                        "code": "formal_notice",
                        "delay": 10,
                        "delay_unit": "working_days",
                        "channel": "letter",
                        "fee": 1000,
                    },
                    {
                        "code": "cut",
                        "delay": 15,
                        "delay_unit": "working_days",
                        "channel": "sms",
                        "fee": 2500,
                        "action": "cut_eligible",
                    },
                ],
            }
        ),
    )


def nights(db: Session, first: date, last: date) -> list[NightReport]:
    reports = []
    day = first
    while day <= last:
        reports.append(service.run_night(db, SYSTEM, on=day))
        day += timedelta(days=1)
    return reports


def steps_done(db: Session, account_id: int) -> list[tuple[int, date]]:
    return [
        (a.position, a.done_on)
        for a in db.scalars(
            select(CollectionAction)
            .where(CollectionAction.customer_account_id == account_id)
            .order_by(CollectionAction.id)
        )
    ]


def paid(db: Session, account, amount: int, on: date) -> Payment:
    """A desk payment and the collections handler its ``PaymentPosted`` event runs."""
    payment = pay(db, account, amount, on)
    collections_after_payment(db, _posted(payment), uuid.uuid4())
    return payment


def _posted(payment: Payment):
    from billing.payments.service import _posted as posted

    return posted(payment)


def reversed_(db: Session, payment: Payment, reason: str = "cheque bounced") -> None:
    from billing.payments.events import PaymentReversed
    from billing.payments.service import reverse_payment

    reverse_payment(db, SYSTEM, payment, reason=reason, on=payment.value_date)
    event = PaymentReversed(
        payment_id=payment.id,
        customer_account_id=payment.customer_account_id,
        amount=payment.amount,
        currency=payment.currency,
        channel=payment.channel,
        instrument=payment.instrument,
        cleared=payment.cleared,
        reason=reason,
    )
    collections_after_reversal(db, event, uuid.uuid4())


def books_hold(db: Session) -> None:
    """``ledger check`` finds zero imbalance; the books' deferred checks are deferred
    again afterwards, so the scenario can go on posting."""
    from sqlalchemy import text

    from tests.billing.payments.helpers import assert_books_hold

    assert_books_hold(db)
    db.execute(text("SET CONSTRAINTS ALL DEFERRED"))
