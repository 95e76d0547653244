"""Payments: take a payment (exactly once, ``Idempotency-Key``), read payments and an
account's position (open items, credit), reallocate, reverse, charge fees and interest.
Payments and open items are seen where their customer account is (404 elsewhere)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy.orm import Session

from api.deps import CurrentActor, DbSession
from api.idempotency import IdempotencyKey, IdempotentRoute
from api.params import CONFLICT, NOT_FOUND, Id, Limit, Offset
from api.schemas import PROBLEM_RESPONSES
from billing.payments import allocation, cash_desk, cheques, repository, service
from billing.payments.errors import PaymentNotFoundError
from billing.payments.models import Payment
from billing.payments.schemas import (
    AccountPosition,
    AllocationRead,
    PaymentCreate,
    PaymentRead,
    ReallocateRequest,
    ReasonBody,
    ReceivableItemCreate,
    ReceivableItemRead,
)
from core.context import Actor
from customers.errors import AccountNotFoundError

router = APIRouter(
    prefix="/api/v1",
    tags=["payments"],
    responses=PROBLEM_RESPONSES,
    route_class=IdempotentRoute,
)


def payment_read(session: Session, payment: Payment) -> PaymentRead:
    left = repository.unallocated(session, [payment.id]).get(payment.id, 0)
    return PaymentRead.model_validate(payment).model_copy(update={"unallocated": left})


def _payment(session: Session, actor: Actor, payment_id: int) -> Payment:
    payment = repository.payment_seen(session, actor, payment_id)
    if payment is None:
        raise PaymentNotFoundError(f"no payment {payment_id}")
    return payment


@router.post("/payments", response_model=PaymentRead, status_code=201, responses=CONFLICT)
def take_payment(
    data: PaymentCreate,
    session: DbSession,
    actor: CurrentActor("payments:write"),  # type: ignore[valid-type]
    key: IdempotencyKey,
) -> PaymentRead:
    """Post a payment to a customer account and allocate it (fees, then interest, then
    invoices, oldest first; the rest is credit). A retry with the same Idempotency-Key and
    body returns the first answer; a channel transaction id already posted is refused."""
    if data.cash_session_id is not None:
        payment = cash_desk.take_payment(session, actor, data=data)
    else:
        payment = service.record_payment(session, actor, data=data)
    return payment_read(session, payment)


@router.get("/payments/{payment_id}", response_model=PaymentRead, responses=NOT_FOUND)
def read_payment(
    payment_id: Id,
    session: DbSession,
    actor: CurrentActor("billing:read"),  # type: ignore[valid-type]
) -> PaymentRead:
    return payment_read(session, _payment(session, actor, payment_id))


@router.get(
    "/payments/{payment_id}/allocations", response_model=list[AllocationRead], responses=NOT_FOUND
)
def payment_allocations(
    payment_id: Id,
    session: DbSession,
    actor: CurrentActor("billing:read"),  # type: ignore[valid-type]
) -> list[AllocationRead]:
    """Every allocation of the payment, the released ones with who released them and why."""
    payment = _payment(session, actor, payment_id)
    return [AllocationRead.model_validate(a) for a in service.allocations(session, payment)]


@router.post(
    "/payments/{payment_id}/reallocate",
    response_model=list[AllocationRead],
    responses={**NOT_FOUND, **CONFLICT},
)
def reallocate_payment(
    payment_id: Id,
    data: ReallocateRequest,
    session: DbSession,
    actor: CurrentActor("payments:write"),  # type: ignore[valid-type]
) -> list[AllocationRead]:
    """Back office: release the payment's allocations (audited with the reason) and
    allocate it again, to the items given or by the allocation policy."""
    payment = _payment(session, actor, payment_id)
    targets = None if data.targets is None else [(t.item_id, t.amount) for t in data.targets]
    rows = allocation.reallocate(session, actor, payment, reason=data.reason, targets=targets)
    return [AllocationRead.model_validate(a) for a in rows]


@router.post(
    "/payments/{payment_id}/reverse",
    response_model=PaymentRead,
    responses={**NOT_FOUND, **CONFLICT},
)
def reverse_payment(
    payment_id: Id,
    data: ReasonBody,
    session: DbSession,
    actor: CurrentActor("billing:issue"),  # type: ignore[valid-type]
) -> PaymentRead:
    """Reverse a payment (a bounced transfer, a returned debit): the mirror ledger
    transaction, the items it paid open again. Desk cancellations go through approval."""
    payment = _payment(session, actor, payment_id)
    return payment_read(
        session, service.reverse_payment(session, actor, payment, reason=data.reason)
    )


@router.get(
    "/accounts/{account_id}/payments", response_model=list[PaymentRead], responses=NOT_FOUND
)
def account_payments(
    account_id: Id,
    session: DbSession,
    actor: CurrentActor("billing:read"),  # type: ignore[valid-type]
    offset: Offset = 0,
    limit: Limit = 50,
) -> list[PaymentRead]:
    if not repository.account_seen(session, actor, account_id):
        raise AccountNotFoundError(f"no account {account_id}")
    payments = repository.payments_of(session, actor, account_id, limit=limit, offset=offset)
    left = repository.unallocated(session, [p.id for p in payments])
    return [
        PaymentRead.model_validate(p).model_copy(update={"unallocated": left.get(p.id, 0)})
        for p in payments
    ]


@router.get("/accounts/{account_id}/position", response_model=AccountPosition, responses=NOT_FOUND)
def account_position(
    account_id: Id,
    session: DbSession,
    actor: CurrentActor("billing:read"),  # type: ignore[valid-type]
) -> AccountPosition:
    """What the account owes item by item, and its credit: the ledger balance explained."""
    if not repository.account_seen(session, actor, account_id):
        raise AccountNotFoundError(f"no account {account_id}")
    return service.position(session, account_id)


@router.post(
    "/receivable-items", response_model=ReceivableItemRead, status_code=201, responses=CONFLICT
)
def charge_item(
    data: ReceivableItemCreate,
    session: DbSession,
    actor: CurrentActor("billing:issue"),  # type: ignore[valid-type]
    key: IdempotencyKey,
) -> ReceivableItemRead:
    """Charge a fee or interest to an account (posted to the ledger, opened for allocation;
    the account's credit pays it at once)."""
    item = service.charge(session, actor, data=data)
    left = repository.open_amounts(session, [item.id])[item.id]
    return ReceivableItemRead.model_validate(item).model_copy(update={"open_amount": left})


@router.post(
    "/payments/{payment_id}/clear", response_model=PaymentRead, responses={**NOT_FOUND, **CONFLICT}
)
def clear_cheque(
    payment_id: Id,
    session: DbSession,
    actor: CurrentActor("payments:write"),  # type: ignore[valid-type]
) -> PaymentRead:
    """The bank paid the cheque: it is money now (cheques -> bank)."""
    payment = _payment(session, actor, payment_id)
    return payment_read(session, cheques.clear(session, actor, payment))


@router.post(
    "/payments/{payment_id}/bounce", response_model=PaymentRead, responses={**NOT_FOUND, **CONFLICT}
)
def bounce_cheque(
    payment_id: Id,
    data: ReasonBody,
    session: DbSession,
    actor: CurrentActor("payments:write"),  # type: ignore[valid-type]
) -> PaymentRead:
    """The cheque bounced: the payment is reversed (what it paid is owed again exactly) and
    the bounce fee charged; past the bounce limit the account pays by cheque no more."""
    payment = _payment(session, actor, payment_id)
    cheques.bounce(session, actor, payment, reason=data.reason)
    return payment_read(session, payment)
