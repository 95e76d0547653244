"""Who a receipt pays: matched by an ISO 11649 RF reference (an invoice's), else by a
customer account number quoted in the text, the amount choosing among several candidates.
Shared by bank statements and mobile-money callbacks; what finds no account waits in the
unmatched queue (``UnmatchedReceipt``) until matched by hand."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from stdnum import iso11649, luhn

from billing.invoices.models import Invoice
from billing.payments import repository, service
from billing.payments.enums import Channel, Instrument, UnmatchedStatus
from billing.payments.errors import UnmatchedReceiptMatchedError, UnmatchedReceiptNotFoundError
from billing.payments.models import Payment, UnmatchedReceipt
from billing.payments.schemas import PaymentCreate
from core.context import Actor
from core.territory import visible
from customers.models import Account

RF_PATTERN = re.compile(r"RF\s?\d{2}(?:\s?[0-9A-Z]){1,21}", re.IGNORECASE)
ACCOUNT_PATTERN = re.compile(r"(?<!\d)\d{10}(?!\d)")  # 9 digits + a Luhn check digit


@dataclass(frozen=True)
class Match:
    customer_account_id: int
    rule: str  # "rf" | "account_number"


def rf_references(text: str) -> list[str]:
    """Valid ISO 11649 references in ``text`` (spaces removed, upper case)."""
    found = []
    for raw in RF_PATTERN.findall(text or ""):
        compact = iso11649.compact(raw)
        # The pattern may run on into the next word ("RF18...34 E2E"): the longest
        # valid prefix is the reference.
        for end in range(len(compact), 4, -1):
            if iso11649.is_valid(compact[:end]):
                found.append(compact[:end])
                break
    return found


def account_numbers(text: str) -> list[str]:
    return [n for n in ACCOUNT_PATTERN.findall(text or "") if luhn.is_valid(n)]


def find_account(session: Session, actor: Actor, text: str, amount: int) -> Match | None:
    """The account ``text`` names: by an invoice's RF reference first, else by a quoted
    account number; when several accounts are named, the one with ``amount`` open (if
    exactly one) wins, otherwise nothing is guessed. Only accounts ``actor`` may see are
    candidates (the rest stay unmatched, for the agency or head office to match)."""
    refs = rf_references(text)
    if refs:
        accounts = set(
            session.scalars(
                select(Account.id)
                .join(Invoice, Invoice.account_id == Account.id)
                .where(Invoice.payment_reference.in_(refs), visible(actor, Account))
            )
        )
        chosen = _one(session, accounts, amount)
        if chosen is not None:
            return Match(chosen, "rf")
    numbers = account_numbers(text)
    if numbers:
        accounts = set(
            session.scalars(
                select(Account.id).where(Account.number.in_(numbers), visible(actor, Account))
            )
        )
        chosen = _one(session, accounts, amount)
        if chosen is not None:
            return Match(chosen, "account_number")
    return None


def _one(session: Session, accounts: set[int], amount: int) -> int | None:
    if len(accounts) == 1:
        return next(iter(accounts))
    owing = [
        a
        for a in accounts
        if sum(o.open_amount for o in repository.open_items(session, a)) == amount
    ]
    return owing[0] if len(owing) == 1 else None


@dataclass(frozen=True)
class Receipt:
    """Money reported by a bank or an operator, before it is known whom it pays."""

    channel: Channel
    instrument: Instrument
    external_id: str
    amount: int
    currency: str
    received_at: datetime
    text: str  # what the payer quoted: remittance, bill reference, account reference
    payer_name: str | None = None
    payer_account: str | None = None
    raw: dict[str, Any] | None = None


def known(session: Session, channel: Channel, external_id: str) -> bool:
    """Whether the transaction is already a payment or waits in the unmatched queue."""
    if service.existing(session, channel.value, external_id) is not None:
        return True
    return (
        session.scalar(
            select(UnmatchedReceipt.id).where(
                UnmatchedReceipt.channel == channel.value,
                UnmatchedReceipt.external_id == external_id,
            )
        )
        is not None
    )


def take(
    session: Session,
    actor: Actor,
    receipt: Receipt,
    *,
    agency_id: int | None = None,
    statement_id: int | None = None,
) -> Payment | UnmatchedReceipt:
    """Post the receipt to the account it names, or queue it as unmatched."""
    match = find_account(session, actor, receipt.text, receipt.amount)
    if match is not None:
        return service.record_payment(
            session,
            actor,
            data=PaymentCreate(
                customer_account_id=match.customer_account_id,
                amount=receipt.amount,
                currency=receipt.currency,
                channel=receipt.channel,
                instrument=receipt.instrument,
                external_id=receipt.external_id,
                reference=(receipt.text or None) and receipt.text[:200],
                payer_name=receipt.payer_name and receipt.payer_name[:200],
                received_at=receipt.received_at,
            ),
        )
    unmatched = UnmatchedReceipt(
        channel=receipt.channel.value,
        external_id=receipt.external_id,
        amount=receipt.amount,
        currency=receipt.currency,
        received_at=receipt.received_at,
        reference=receipt.text or None,
        payer_name=receipt.payer_name,
        payer_account=receipt.payer_account,
        agency_id=agency_id,
        statement_id=statement_id,
        raw=receipt.raw,
    )
    session.add(unmatched)
    session.flush()
    return unmatched


def unmatched_queue(
    session: Session, actor: Actor, *, limit: int, offset: int
) -> list[UnmatchedReceipt]:
    return list(
        session.scalars(
            select(UnmatchedReceipt)
            .where(
                UnmatchedReceipt.status == UnmatchedStatus.OPEN.value,
                visible(actor, UnmatchedReceipt),
            )
            .order_by(UnmatchedReceipt.received_at, UnmatchedReceipt.id)
            .limit(limit)
            .offset(offset)
        )
    )


def match_by_hand(
    session: Session, actor: Actor, receipt_id: int, *, customer_account_id: int
) -> Payment:
    """Post an unmatched receipt to the account the back office found: the payment keeps
    the receipt's channel and transaction id, so it can never be posted twice."""
    receipt = session.scalars(
        select(UnmatchedReceipt)
        .where(UnmatchedReceipt.id == receipt_id, visible(actor, UnmatchedReceipt))
        .with_for_update()
    ).one_or_none()
    if receipt is None:
        raise UnmatchedReceiptNotFoundError(f"no unmatched receipt {receipt_id}")
    if receipt.status != UnmatchedStatus.OPEN.value:
        raise UnmatchedReceiptMatchedError(f"receipt {receipt_id} is already matched")
    payment = service.record_payment(
        session,
        actor,
        data=PaymentCreate(
            customer_account_id=customer_account_id,
            amount=receipt.amount,
            currency=receipt.currency,
            channel=Channel(receipt.channel),
            instrument=Instrument.MOBILE_MONEY
            if receipt.channel == Channel.MOBILE_MONEY.value
            else Instrument.TRANSFER,
            external_id=receipt.external_id,
            reference=receipt.reference and receipt.reference[:200],
            payer_name=receipt.payer_name and receipt.payer_name[:200],
            received_at=receipt.received_at,
        ),
    )
    receipt.status = UnmatchedStatus.MATCHED.value
    receipt.payment_id = payment.id
    session.flush()
    return payment


def account_by_number(session: Session, actor: Actor, number: str) -> int | None:
    """The id of the account numbered ``number`` that ``actor`` may see."""
    return session.scalar(
        select(Account.id).where(Account.number == number, visible(actor, Account))
    )
