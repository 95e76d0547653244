"""Cheques: posted when received (``service.record_payment`` refuses one from an account
past the bounce limit) to cheques awaiting clearing (``cleared`` False), cleared
when the bank pays (cheques -> bank), or bounced: the payment is reversed (the debt it
paid re-opened exactly, item by item), a bounce fee is charged, and after
``settings.cheque_bounce_limit`` bounces the account may no longer pay by cheque."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from billing.ledger import service as ledger
from billing.ledger.models import TransactionKind
from billing.payments import service
from billing.payments.enums import Instrument, ItemKind, PaymentStatus
from billing.payments.errors import ChequeStateError
from billing.payments.events import PaymentCleared
from billing.payments.models import Payment, ReceivableItem
from billing.payments.schemas import ReceivableItemCreate
from core.context import Actor
from core.outbox import emit
from core.settings import get_settings


def _pending(payment: Payment) -> None:
    if (
        payment.instrument != Instrument.CHEQUE.value
        or payment.status != PaymentStatus.POSTED.value
        or payment.cleared
    ):
        raise ChequeStateError(f"{payment.number} is not a cheque awaiting clearing")


def clear(session: Session, actor: Actor, payment: Payment, *, on: date | None = None) -> Payment:
    """The bank paid the cheque: its amount moves from cheques awaiting clearing to bank."""
    _pending(payment)
    ledger.post(
        session,
        actor,
        kind=TransactionKind.PAYMENT,
        entry_date=on or service.local_date(datetime.now(UTC)),
        currency=payment.currency,
        source_ref=f"CLEARED {payment.number}",
        memo=f"cheque {payment.number} cleared",
        lines=[ledger.Line("bank", payment.amount), ledger.Line("cheques", -payment.amount)],
    )
    payment.cleared = True
    payment.cleared_at = datetime.now(UTC)
    session.flush()
    emit(
        session,
        PaymentCleared(
            payment_id=payment.id,
            customer_account_id=payment.customer_account_id,
            amount=payment.amount,
            currency=payment.currency,
            instrument=payment.instrument,
        ),
    )
    return payment


def bounce(
    session: Session, actor: Actor, payment: Payment, *, reason: str, on: date | None = None
) -> ReceivableItem | None:
    """The cheque bounced: reverse it (what it paid is owed again, exactly) and charge the
    bounce fee (none when the fee is 0). Returns the fee's open item."""
    _pending(payment)
    day = on or service.local_date(datetime.now(UTC))
    service.reverse_payment(session, actor, payment, reason=f"cheque bounced: {reason}", on=day)
    payment.bounced_at = datetime.now(UTC)
    session.flush()
    fee = get_settings().cheque_bounce_fee
    if fee <= 0:
        return None
    return service.charge(
        session,
        actor,
        data=ReceivableItemCreate(
            customer_account_id=payment.customer_account_id,
            kind=ItemKind.FEE,
            document_ref=f"BOUNCE {payment.number}",
            due_date=day,
            amount=fee,
            currency=payment.currency,
            memo=f"bounced cheque {payment.number}",
        ),
    )
