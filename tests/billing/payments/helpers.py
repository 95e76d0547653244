"""Shared set-up of the payment tests: an account, invoices and charges posted to the
ledger with their open items, the books' check."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from billing.ledger import repository as ledger_repository
from billing.ledger import service as ledger
from billing.ledger.models import TransactionKind
from billing.payments import service
from billing.payments.enums import Channel, Instrument, ItemKind
from billing.payments.models import Payment, ReceivableItem
from billing.payments.schemas import PaymentCreate, ReceivableItemCreate
from core.context import SYSTEM
from customers.models import Account
from tests.billing.test_ledger import make_account

__all__ = ["make_account"]


def invoice(db: Session, account: Account, amount: int, due: date, ref: str) -> ReceivableItem:
    """An issued invoice of ``amount`` XOF (18 % VAT inside, rounded down) and its open
    item: what billing runs do when they issue."""
    vat = amount * 18 // 118
    txn = ledger.post(
        db,
        SYSTEM,
        kind=TransactionKind.INVOICE,
        entry_date=due,
        currency="XOF",
        source_ref=ref,
        lines=[
            ledger.Line("receivable", amount, account.id),
            ledger.Line("revenue:energy", -(amount - vat)),
            ledger.Line("tax:vat", -vat),
        ],
    )
    return service.open_item(
        db,
        SYSTEM,
        customer_account_id=account.id,
        kind=ItemKind.PRINCIPAL,
        document_ref=ref,
        due_date=due,
        amount=amount,
        currency="XOF",
        ledger_transaction_id=txn.id,
    )


def charge(db: Session, account: Account, kind: ItemKind, amount: int, due: date, ref: str):
    return service.charge(
        db,
        SYSTEM,
        data=ReceivableItemCreate(
            customer_account_id=account.id, kind=kind, document_ref=ref, due_date=due, amount=amount
        ),
    )


def pay(
    db: Session,
    account: Account,
    amount: int,
    on: date,
    *,
    channel: Channel = Channel.DESK,
    instrument: Instrument = Instrument.CASH,
    external_id: str | None = None,
) -> Payment:
    return service.record_payment(
        db,
        SYSTEM,
        data=PaymentCreate(
            customer_account_id=account.id,
            amount=amount,
            currency="XOF",
            channel=channel,
            instrument=instrument,
            external_id=external_id,
            received_at=datetime(on.year, on.month, on.day, 10, tzinfo=UTC),
        ),
    )


def balance(db: Session, account: Account) -> int:
    return ledger_repository.balances(db, [account.id]).get(account.id, {}).get("XOF", 0)


def assert_books_hold(db: Session) -> None:
    """``ledger check``: every transaction balances, every sub-ledger matches its control."""
    from sqlalchemy import text

    db.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))
    report = ledger_repository.check(db)
    assert report.ok and report.total_imbalance == 0, report
