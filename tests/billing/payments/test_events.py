"""PaymentPosted and PaymentReversed reach their handlers after commit (never for work that
rolled back), typed, with what revenue protection needs: account, amount, instrument and
whether the money is cleared."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from billing.payments import service
from billing.payments.enums import Channel, Instrument
from billing.payments.events import PaymentPosted, PaymentReversed
from core import events
from core.context import SYSTEM
from core.outbox import InTransactionDispatcher, use_dispatcher
from tests.billing.payments.helpers import make_account, pay

seen_events: list[tuple[str, dict[str, Any]]] = []


@events.handles(PaymentPosted, name="test-payment-posted-probe")
def _posted(_session: Session, event: PaymentPosted, _id: uuid.UUID) -> None:
    seen_events.append(("posted", event.payload()))


@events.handles(PaymentReversed, name="test-payment-reversed-probe")
def _reversed(_session: Session, event: PaymentReversed, _id: uuid.UUID) -> None:
    seen_events.append(("reversed", event.payload()))


def test_events_follow_the_commit(db: Session) -> None:
    seen_events.clear()
    account = make_account(db)
    with use_dispatcher(InTransactionDispatcher()):
        with db.begin_nested() as savepoint:
            pay(db, account, 999, date(2026, 2, 1))
            savepoint.rollback()  # the payment is not made: no news
        payment = pay(db, account, 4000, date(2026, 2, 2), channel=Channel.CHEQUE,
                      instrument=Instrument.CHEQUE)  # fmt: skip
        assert seen_events == []  # not before the commit
        db.commit()
        service.reverse_payment(db, SYSTEM, payment, reason="bounced")
        db.commit()
    assert seen_events == [
        (
            "posted",
            {
                "payment_id": payment.id,
                "customer_account_id": account.id,
                "amount": 4000,
                "currency": "XOF",
                "channel": "cheque",
                "instrument": "cheque",
                "cleared": False,  # a cheque is not money until it clears
                "value_date": "2026-02-02",
            },
        ),
        (
            "reversed",
            {
                "payment_id": payment.id,
                "customer_account_id": account.id,
                "amount": 4000,
                "currency": "XOF",
                "channel": "cheque",
                "instrument": "cheque",
                "cleared": False,
                "reason": "bounced",
            },
        ),
    ]
