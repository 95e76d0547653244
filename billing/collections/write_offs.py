"""Litigation and write-off (non-valeur).

A write-off is asked by one person and approved by another; approval posts it (bad-debt
expense debit, the account's receivable credit) and the file leaves dunning. The open
items stay open (the debt still exists in law), so the receivable sub-ledger then equals
the open items less what is written off and not recovered. A later payment pays those
items as usual and recovers the write-off by the mirror posting (receivable debit,
bad-debt expense credit), up to what was written off; a reversed payment un-recovers.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.collections import engine
from billing.collections.enums import FileStatus, WriteOffStatus
from billing.collections.errors import (
    WriteOffConflictError,
    WriteOffInvalidError,
    WriteOffNotFoundError,
)
from billing.collections.models import CollectionFile, Litigation, WriteOff, WriteOffRecovery
from billing.ledger import repository as ledger_repository
from billing.ledger import service as ledger
from billing.ledger.models import TransactionKind
from billing.payments import repository as payments_repository
from billing.payments import service as payments
from billing.payments.models import Payment
from core.context import Actor
from core.settings import get_settings


def balance_of(session: Session, customer_account_id: int, currency: str) -> int:
    return (
        ledger_repository.balances(session, [customer_account_id])
        .get(customer_account_id, {})
        .get(currency, 0)
    )


def request_write_off(
    session: Session,
    actor: Actor,
    *,
    customer_account_id: int,
    reason: str,
    amount: int | None = None,
) -> WriteOff:
    """Ask to write off ``amount`` (default: the account's whole receivable balance)."""
    payments.require_account(session, actor, customer_account_id)
    currency = get_settings().currency
    owed = balance_of(session, customer_account_id, currency)
    amount = owed if amount is None else amount
    if amount <= 0 or amount > owed:
        raise WriteOffInvalidError(f"the account owes {owed}: cannot write off {amount}")
    if not reason.strip():
        raise WriteOffInvalidError("a write-off states why the debt is uncollectable")
    row = WriteOff(
        customer_account_id=customer_account_id,
        amount=amount,
        currency=currency,
        status=WriteOffStatus.REQUESTED.value,
        reason=reason,
        requested_by=actor.username,
    )
    session.add(row)
    session.flush()
    return row


def get_write_off(session: Session, actor: Actor, write_off_id: int) -> WriteOff:
    row = session.get(WriteOff, write_off_id)
    if row is None or not payments_repository.account_seen(session, actor, row.customer_account_id):
        raise WriteOffNotFoundError(f"no write-off {write_off_id}")
    return row


def decide_write_off(
    session: Session, actor: Actor, write_off: WriteOff, *, approve: bool, on: date
) -> WriteOff:
    """Approve (and post) or reject a write-off: never by the person who asked."""
    if write_off.status != WriteOffStatus.REQUESTED.value:
        raise WriteOffConflictError(f"write-off {write_off.id} is already {write_off.status}")
    if actor.username == write_off.requested_by:
        raise WriteOffConflictError("a second person approves a write-off, not the one who asked")
    write_off.approved_by = actor.username
    write_off.decided_on = on
    if not approve:
        write_off.status = WriteOffStatus.REJECTED.value
        session.flush()
        return write_off
    owed = balance_of(session, write_off.customer_account_id, write_off.currency)
    if write_off.amount > owed:
        raise WriteOffConflictError(f"the account now owes {owed}: ask again")
    txn = ledger.post(
        session,
        actor,
        kind=TransactionKind.WRITE_OFF,
        entry_date=on,
        currency=write_off.currency,
        source_ref=f"WO-{write_off.id}",
        memo=f"write-off: {write_off.reason}",
        lines=[
            ledger.Line("expense:write_off", write_off.amount),
            ledger.Line("receivable", -write_off.amount, write_off.customer_account_id),
        ],
    )
    write_off.status = WriteOffStatus.APPROVED.value
    write_off.ledger_transaction_id = txn.id
    session.flush()
    engine.recompute(
        session,
        on=on,
        reason=f"write-off {write_off.id}",
        account_ids=[write_off.customer_account_id],
    )
    file = session.get(CollectionFile, write_off.customer_account_id)
    if file is not None and file.status != FileStatus.CURRENT.value:
        file.status = FileStatus.WRITTEN_OFF.value
        file.next_step_date = None
        file.reason = f"written off ({write_off.id})"
    session.flush()
    return write_off


def recover(session: Session, actor: Actor, payment: Payment) -> list[WriteOffRecovery]:
    """Recover approved write-offs of the payment's account, oldest first, by up to the
    payment's amount (once per payment and write-off)."""
    left = payment.amount
    recovered = []
    rows = session.scalars(
        select(WriteOff)
        .where(
            WriteOff.customer_account_id == payment.customer_account_id,
            WriteOff.status == WriteOffStatus.APPROVED.value,
            WriteOff.recovered < WriteOff.amount,
            WriteOff.currency == payment.currency,
        )
        .order_by(WriteOff.id)
        .with_for_update()
    ).all()
    for write_off in rows:
        if left == 0:
            break
        done = session.scalars(
            select(WriteOffRecovery).where(
                WriteOffRecovery.write_off_id == write_off.id,
                WriteOffRecovery.payment_id == payment.id,
            )
        ).first()
        if done is not None:
            continue
        amount = min(left, write_off.amount - write_off.recovered)
        txn = ledger.post(
            session,
            actor,
            kind=TransactionKind.WRITE_OFF,
            entry_date=payment.value_date,
            currency=payment.currency,
            source_ref=f"WO-{write_off.id}-R-{payment.number}",
            memo=f"recovery of write-off {write_off.id} by {payment.number}",
            lines=[
                ledger.Line("receivable", amount, payment.customer_account_id),
                ledger.Line("expense:write_off", -amount),
            ],
        )
        write_off.recovered += amount
        left -= amount
        row = WriteOffRecovery(
            write_off_id=write_off.id,
            customer_account_id=payment.customer_account_id,
            payment_id=payment.id,
            amount=amount,
            ledger_transaction_id=txn.id,
        )
        session.add(row)
        recovered.append(row)
    session.flush()
    return recovered


def unrecover(session: Session, actor: Actor, payment: Payment, on: date) -> int:
    """A reversed payment gives back what it recovered: each recovery's posting is
    reversed and the write-off is owed to the bad-debt account again."""
    rows = session.scalars(
        select(WriteOffRecovery).where(WriteOffRecovery.payment_id == payment.id)
    ).all()
    total = 0
    for row in rows:
        write_off = session.get(WriteOff, row.write_off_id)
        if write_off is None or row.amount == 0:
            continue
        ledger.reverse(
            session,
            actor,
            row.ledger_transaction_id,
            entry_date=on,
            memo=f"payment {payment.number} reversed",
        )
        write_off.recovered -= row.amount
        total += row.amount
        row.amount = 0
    session.flush()
    return total


def open_litigation(
    session: Session,
    actor: Actor,
    *,
    customer_account_id: int,
    on: date,
    handler_kind: str = "pending",
    handler_name: str = "",
    documents: list[dict[str, Any]] | None = None,
) -> Litigation:
    """Hand an account to a bailiff or a lawyer (``pending``: not chosen yet) with its
    documents (by default its open items: bill numbers, due dates, amounts)."""
    payments.require_account(session, actor, customer_account_id)
    if documents is None:
        open_now = {
            o.id: o.open_amount
            for o in payments_repository.open_items(session, customer_account_id)
        }
        documents = [
            {
                "document_ref": i.document_ref,
                "kind": i.kind,
                "due_date": i.due_date.isoformat(),
                "open_amount": open_now[i.id],
            }
            for i in payments_repository.items_of(session, customer_account_id)
            if i.id in open_now
        ]
    row = Litigation(
        customer_account_id=customer_account_id,
        handler_kind=handler_kind,
        handler_name=handler_name,
        amount=sum(int(d.get("open_amount", 0)) for d in documents),
        documents=documents,
        opened_on=on,
        created_by=actor.user_id,
    )
    session.add(row)
    file = session.get(CollectionFile, customer_account_id)
    if file is not None and file.status == FileStatus.OVERDUE.value:
        file.status = FileStatus.LITIGATION.value
        file.reason = "handed to litigation"
    session.flush()
    return row
