"""Cash desks: open, take payments (``POST /payments`` with ``cash_session_id``), count and
close, deposit the takings, print receipts and duplicates, cancel with a supervisor's
approval, and the supervisor's view of every desk. Desks are seen in their agency's
territory; payments where their account is."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy.orm import Session

from api.deps import CurrentActor, DbSession
from api.idempotency import IdempotencyKey, IdempotentRoute
from api.params import CONFLICT, NOT_FOUND, Id
from api.schemas import PROBLEM_RESPONSES
from billing.payments import cash_desk, receipts, repository, service
from billing.payments.errors import PaymentNotFoundError
from billing.payments.models import CashDeskSession
from billing.payments.receipts import ReceiptLayout
from billing.payments.schemas import (
    CancellationRead,
    CashCount,
    CashSessionOpen,
    CashSessionRead,
    DepositCreate,
    DepositRead,
    DeskRead,
    ReasonBody,
)
from core.context import Actor

router = APIRouter(
    prefix="/api/v1", tags=["cash desk"], responses=PROBLEM_RESPONSES, route_class=IdempotentRoute
)

_PDF = {
    200: {
        "content": {"application/pdf": {}, "text/plain": {}},
        "description": "The receipt",
    }
}


def _desk(session: Session, desk: CashDeskSession, cashier: str | None = None) -> DeskRead:
    taken = cash_desk.takings(session, desk.id)
    return DeskRead(
        session=CashSessionRead.model_validate(desk),
        cashier=cashier or "",
        takings=taken.by_instrument,
        payments=taken.payments,
        reversed=taken.reversed,
        deposited=taken.deposited,
        expected_cash=cash_desk.expected_cash(desk, taken),
    )


@router.post("/cash-sessions", response_model=DeskRead, status_code=201, responses=CONFLICT)
def open_desk(
    data: CashSessionOpen,
    session: DbSession,
    actor: CurrentActor("payments:write"),  # type: ignore[valid-type]
) -> DeskRead:
    """Open the caller's cash desk for the day (one open session per cashier, agency, day)."""
    desk = cash_desk.open_session(
        session,
        actor,
        agency_id=data.agency_id,
        business_date=data.business_date,
        opening_float=data.opening_float,
        currency=data.currency,
    )
    return _desk(session, desk, actor.username)


@router.get("/cash-sessions", response_model=list[DeskRead])
def supervise_desks(
    session: DbSession,
    actor: CurrentActor("payments:approve"),  # type: ignore[valid-type]
    business_date: date | None = Query(None, description="the day (local); today when absent"),
) -> list[DeskRead]:
    """Every desk of the day in the caller's territory, with its takings at this moment."""
    day = business_date or service.local_date(datetime.now(UTC))
    return [_desk(session, v.session, v.cashier) for v in cash_desk.desks(session, actor, day)]


@router.get("/cash-sessions/{session_id}", response_model=DeskRead, responses=NOT_FOUND)
def read_desk(
    session_id: Id,
    session: DbSession,
    actor: CurrentActor("payments:write"),  # type: ignore[valid-type]
) -> DeskRead:
    return _desk(session, cash_desk.get_session(session, actor, session_id))


@router.post(
    "/cash-sessions/{session_id}/close",
    response_model=DeskRead,
    responses={**NOT_FOUND, **CONFLICT},
)
def close_desk(
    session_id: Id,
    data: CashCount,
    session: DbSession,
    actor: CurrentActor("payments:write"),  # type: ignore[valid-type]
) -> DeskRead:
    """Count the drawer by denomination and close; the difference with the expected cash
    (float + cash takings - deposits) is recorded."""
    count: dict[int, int] = {}
    for line in data.count:
        count[line.denomination] = count.get(line.denomination, 0) + line.pieces
    desk = cash_desk.close_session(session, actor, session_id, count=count)
    return _desk(session, desk, actor.username)


@router.post(
    "/cash-sessions/{session_id}/deposits",
    response_model=DepositRead,
    status_code=201,
    responses={**NOT_FOUND, **CONFLICT},
)
def deposit_takings(
    session_id: Id,
    data: DepositCreate,
    session: DbSession,
    actor: CurrentActor("payments:write"),  # type: ignore[valid-type]
    key: IdempotencyKey,
) -> DepositRead:
    """Takings of the session taken to the bank (cash -> bank in the ledger)."""
    deposit = cash_desk.record_deposit(
        session,
        actor,
        session_id,
        amount=data.amount,
        bank_reference=data.bank_reference,
        deposited_on=data.deposited_on,
    )
    return DepositRead.model_validate(deposit)


def _payment(session: Session, actor: Actor, payment_id: int):  # type: ignore[no-untyped-def]
    payment = repository.payment_seen(session, actor, payment_id)
    if payment is None:
        raise PaymentNotFoundError(f"no payment {payment_id}")
    return payment


@router.post(
    "/payments/{payment_id}/receipt",
    response_class=Response,
    responses={**NOT_FOUND, **_PDF},
)
def print_receipt(
    payment_id: Id,
    session: DbSession,
    actor: CurrentActor("payments:write"),  # type: ignore[valid-type]
    layout: Annotated[ReceiptLayout, Query()] = ReceiptLayout.A5,
) -> Response:
    """The receipt as a PDF (A5, or 80 mm for thermal printers) or 42-column text. Every
    print after the first is marked as a duplicate."""
    content, media_type = receipts.print_receipt(
        session, _payment(session, actor, payment_id), layout
    )
    return Response(content, media_type=media_type)


@router.post(
    "/payments/{payment_id}/cancellation",
    response_model=CancellationRead,
    status_code=201,
    responses={**NOT_FOUND, **CONFLICT},
)
def request_cancellation(
    payment_id: Id,
    data: ReasonBody,
    session: DbSession,
    actor: CurrentActor("payments:write"),  # type: ignore[valid-type]
) -> CancellationRead:
    """Ask a supervisor to cancel a desk payment, with the reason."""
    payment = _payment(session, actor, payment_id)
    return CancellationRead.model_validate(
        cash_desk.request_cancellation(session, actor, payment, reason=data.reason)
    )


@router.post(
    "/cancellations/{cancellation_id}/approve",
    response_model=CancellationRead,
    responses={**NOT_FOUND, **CONFLICT},
)
def approve_cancellation(
    cancellation_id: Id,
    session: DbSession,
    actor: CurrentActor("payments:approve"),  # type: ignore[valid-type]
) -> CancellationRead:
    """Approve (another person than the requester): the payment is reversed."""
    request = cash_desk.get_cancellation(session, actor, cancellation_id)
    return CancellationRead.model_validate(
        cash_desk.decide_cancellation(session, actor, request, approve=True)
    )


@router.post(
    "/cancellations/{cancellation_id}/reject",
    response_model=CancellationRead,
    responses={**NOT_FOUND, **CONFLICT},
)
def reject_cancellation(
    cancellation_id: Id,
    session: DbSession,
    actor: CurrentActor("payments:approve"),  # type: ignore[valid-type]
) -> CancellationRead:
    request = cash_desk.get_cancellation(session, actor, cancellation_id)
    return CancellationRead.model_validate(
        cash_desk.decide_cancellation(session, actor, request, approve=False)
    )
