"""Recording payments: post to the ledger once, allocate, tell the domains above.

A payment debits the clearing account of its instrument (cash at the desks, the bank,
mobile-money float, cheques awaiting clearing) and credits the customer account's
receivable: one balanced ledger transaction per payment, its source the receipt number.
Services flush, never commit; ``PaymentPosted`` / ``PaymentReversed`` go through the
outbox and are dispatched after commit.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from billing.ledger import service as ledger
from billing.ledger.models import TransactionKind
from billing.payments import allocation, repository
from billing.payments.allocation import DEFAULT_POLICY, AllocationPolicy
from billing.payments.enums import Instrument, ItemKind, PaymentStatus
from billing.payments.errors import (
    ChequeRefusedError,
    PaymentDuplicateError,
    PaymentInvalidError,
    PaymentReversedError,
    ReceivableItemDuplicateError,
)
from billing.payments.events import PaymentPosted, PaymentReversed
from billing.payments.models import Payment, PaymentAllocation, ReceivableItem
from billing.payments.schemas import (
    AccountPosition,
    PaymentCreate,
    ReceivableItemCreate,
    ReceivableItemRead,
)
from core.auth.companies import company_currency
from core.context import Actor
from core.errors import ReferenceUnknownError
from core.flush import by_constraint, flush_guarded
from core.money import CurrencyUnknownError, minor_exponent
from core.outbox import emit
from core.settings import get_settings

# The ledger account each instrument's money sits in until it reaches the bank.
CLEARING_ACCOUNT: dict[str, str] = {
    Instrument.CASH.value: "cash",
    Instrument.CHEQUE.value: "cheques",
    Instrument.MOBILE_MONEY.value: "mobile_money",
    Instrument.CARD.value: "bank",
    Instrument.TRANSFER.value: "bank",
    Instrument.DIRECT_DEBIT.value: "bank",
}

# Revenue account of each kind of charge opened here (invoices post their own lines).
CHARGE_REVENUE = {ItemKind.FEE.value: "revenue:fees", ItemKind.INTEREST.value: "revenue:interest"}

_DUPLICATE = by_constraint(
    {
        "uq_billing_payment_channel_external_id": lambda: PaymentDuplicateError(
            "this channel's transaction is already a payment: it is posted once"
        ),
    }
)


def local_date(at: datetime) -> date:
    return at.astimezone(ZoneInfo(get_settings().timezone)).date()


def currency_of(
    value: str | None, session: Session | None = None, actor: Actor | None = None
) -> str:
    """``value``, else the acting company's currency (the deployment's without one)."""
    currency = value
    if currency is None and session is not None and actor is not None:
        currency = company_currency(session, actor.company_id)
    currency = currency or get_settings().currency
    try:
        minor_exponent(currency)
    except CurrencyUnknownError as exc:
        raise PaymentInvalidError(str(exc)) from exc
    return currency


def require_account(session: Session, actor: Actor, customer_account_id: int) -> None:
    """An unknown account and one outside the territory look the same (422)."""
    if not repository.account_seen(session, actor, customer_account_id):
        raise ReferenceUnknownError(f"no customer account {customer_account_id}")


def next_number(session: Session) -> str:
    """The receipt number: consecutive per utility, from a database sequence."""
    value = session.scalar(text("SELECT nextval('billing_payment_number_seq')"))
    return f"R{int(value or 0):09d}"


def existing(session: Session, channel: str, external_id: str) -> Payment | None:
    return session.scalars(
        select(Payment).where(Payment.channel == channel, Payment.external_id == external_id)
    ).one_or_none()


def record_payment(
    session: Session,
    actor: Actor,
    *,
    data: PaymentCreate,
    allocate: bool = True,
    policy: AllocationPolicy = DEFAULT_POLICY,
    cleared: bool | None = None,
) -> Payment:
    """Post a payment and allocate the account's credit. A transaction id already posted
    on the channel is refused (``payment_duplicate``, the database's unique key last)."""
    require_account(session, actor, data.customer_account_id)
    currency = currency_of(data.currency, session, actor)
    if data.instrument == Instrument.CHEQUE:
        limit = get_settings().cheque_bounce_limit
        bounced = repository.bounces(session, data.customer_account_id)
        if bounced >= limit:
            raise ChequeRefusedError(
                f"this account bounced {bounced} cheques (limit {limit}): no more cheques"
            )
    if data.external_id is not None and existing(session, data.channel, data.external_id):
        raise PaymentDuplicateError(
            f"{data.channel} transaction {data.external_id} is already a payment"
        )
    received_at = data.received_at or datetime.now(UTC)
    if received_at.tzinfo is None:
        raise PaymentInvalidError("received_at needs a time zone")
    value_date = data.value_date or local_date(received_at)
    number = next_number(session)
    txn = ledger.post(
        session,
        actor,
        kind=TransactionKind.PAYMENT,
        entry_date=value_date,
        currency=currency,
        source_ref=number,
        fresh_source=True,  # the receipt number comes from a sequence
        memo=f"{data.channel} {data.instrument}"
        + (f" {data.external_id}" if data.external_id else ""),
        lines=[
            ledger.Line(CLEARING_ACCOUNT[data.instrument], data.amount),
            ledger.Line("receivable", -data.amount, data.customer_account_id),
        ],
    )
    payment = Payment(
        number=number,
        customer_account_id=data.customer_account_id,
        channel=data.channel.value,
        instrument=data.instrument.value,
        external_id=data.external_id,
        amount=data.amount,
        currency=currency,
        received_at=received_at,
        value_date=value_date,
        status=PaymentStatus.POSTED.value,
        cleared=(data.instrument != Instrument.CHEQUE) if cleared is None else cleared,
        reference=data.reference,
        payer_name=data.payer_name,
        cash_session_id=data.cash_session_id,
        ledger_transaction_id=txn.id,
        created_by=actor.user_id,
    )
    if data.external_id is None:
        # Nothing in it can be a duplicate (the number comes from a sequence): no savepoint.
        session.add(payment)
        session.flush()
    else:
        flush_guarded(session, _DUPLICATE, lambda: session.add(payment))
    emit(session, _posted(payment))
    if allocate:
        allocation.allocate_account(session, actor, payment.customer_account_id, policy)
    return payment


def _posted(payment: Payment) -> PaymentPosted:
    return PaymentPosted(
        payment_id=payment.id,
        customer_account_id=payment.customer_account_id,
        amount=payment.amount,
        currency=payment.currency,
        channel=payment.channel,
        instrument=payment.instrument,
        cleared=payment.cleared,
        value_date=payment.value_date,
    )


def reverse_payment(
    session: Session,
    actor: Actor,
    payment: Payment,
    *,
    reason: str,
    on: date | None = None,
    policy: AllocationPolicy = DEFAULT_POLICY,
) -> Payment:
    """Reverse a posted payment: the mirror ledger transaction, its allocations released
    (the items it paid are open again, exactly), then the account's other credit
    allocated by the policy."""
    if payment.status == PaymentStatus.REVERSED.value:
        raise PaymentReversedError(f"payment {payment.number} is already reversed")
    allocation.unallocate(session, actor, payment, reason)
    session.refresh(payment)
    txn = ledger.reverse(
        session,
        actor,
        payment.ledger_transaction_id,
        entry_date=on or local_date(datetime.now(UTC)),
        memo=f"reversal of {payment.number}: {reason}",
    )
    payment.status = PaymentStatus.REVERSED.value
    payment.reversal_transaction_id = txn.id
    payment.reversal_reason = reason
    session.flush()
    emit(
        session,
        PaymentReversed(
            payment_id=payment.id,
            customer_account_id=payment.customer_account_id,
            amount=payment.amount,
            currency=payment.currency,
            channel=payment.channel,
            instrument=payment.instrument,
            cleared=payment.cleared,
            reason=reason,
        ),
    )
    allocation.allocate_account(session, actor, payment.customer_account_id, policy)
    return payment


_ITEM_DUPLICATE = by_constraint(
    {
        "uq_billing_receivable_item_document": lambda: ReceivableItemDuplicateError(
            "this document already has an open item of that kind"
        ),
    }
)


def open_item(
    session: Session,
    actor: Actor,
    *,
    customer_account_id: int,
    kind: ItemKind,
    document_ref: str,
    due_date: date,
    amount: int,
    currency: str,
    ledger_transaction_id: int | None = None,
    allocate: bool = True,
    policy: AllocationPolicy = DEFAULT_POLICY,
) -> ReceivableItem:
    """Open an item for a document already in the ledger (an issued invoice's principal)
    and spend the account's credit on it."""
    require_account(session, actor, customer_account_id)
    if amount <= 0:
        raise PaymentInvalidError("an open item's amount is positive")
    item = ReceivableItem(
        customer_account_id=customer_account_id,
        kind=kind.value,
        document_ref=document_ref,
        due_date=due_date,
        amount=amount,
        currency=currency_of(currency),
        ledger_transaction_id=ledger_transaction_id,
    )
    flush_guarded(session, _ITEM_DUPLICATE, lambda: session.add(item))
    if allocate:
        allocation.allocate_account(session, actor, customer_account_id, policy)
    return item


def charge(
    session: Session,
    actor: Actor,
    *,
    data: ReceivableItemCreate,
    policy: AllocationPolicy = DEFAULT_POLICY,
) -> ReceivableItem:
    """Charge a fee or interest: receivable debit, fee or interest revenue credit, one open
    item. A principal comes from an invoice, never from here."""
    if data.kind == ItemKind.PRINCIPAL:
        raise PaymentInvalidError("principal is opened by an invoice, not charged by hand")
    require_account(session, actor, data.customer_account_id)
    currency = currency_of(data.currency, session, actor)
    txn = ledger.post(
        session,
        actor,
        kind=TransactionKind.FEE if data.kind == ItemKind.FEE else TransactionKind.INTEREST,
        entry_date=data.due_date,
        currency=currency,
        source_ref=data.document_ref,
        memo=data.memo or f"{data.kind.value} {data.document_ref}",
        lines=[
            ledger.Line("receivable", data.amount, data.customer_account_id),
            ledger.Line(CHARGE_REVENUE[data.kind.value], -data.amount),
        ],
    )
    return open_item(
        session,
        actor,
        customer_account_id=data.customer_account_id,
        kind=data.kind,
        document_ref=data.document_ref,
        due_date=data.due_date,
        amount=data.amount,
        currency=currency,
        ledger_transaction_id=txn.id,
        policy=policy,
    )


def allocations(session: Session, payment: Payment) -> list[PaymentAllocation]:
    return repository.allocations_of(session, payment.id)


def position(session: Session, customer_account_id: int) -> AccountPosition:
    """The account's open items and credit beside its ledger balance (the utility's
    currency; items and payments in others are listed by the statement)."""
    from billing.ledger import repository as ledger_repository

    currency = get_settings().currency
    balance = ledger_repository.balances(session, [customer_account_id])
    open_now = {o.id: o.open_amount for o in repository.open_items(session, customer_account_id)}
    items = [
        ReceivableItemRead.model_validate(item).model_copy(
            update={"open_amount": open_now[item.id]}
        )
        for item in repository.items_of(session, customer_account_id)
        if item.id in open_now and item.currency == currency
    ]
    credit = sum(
        c.remaining
        for c in repository.credits(session, customer_account_id)
        if c.currency == currency
    )
    return AccountPosition(
        customer_account_id=customer_account_id,
        currency=currency,
        balance=balance.get(customer_account_id, {}).get(currency, 0),
        open_items=items,
        credit=credit,
    )
