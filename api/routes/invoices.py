"""Invoices and credit notes: read them (seen where their account is), correct one (credit
note + re-bill), true up an estimated bill, issue a contract's final bill."""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter
from sqlalchemy.orm import Session

from api.deps import CurrentActor, DbSession
from api.params import CONFLICT, NOT_FOUND, Id, Limit, Offset, OptionalId
from api.schemas import PROBLEM_RESPONSES
from billing.invoices import repository, service
from billing.invoices.models import Invoice
from billing.invoices.schemas import (
    CorrectionRead,
    CreditCreate,
    InvoiceRead,
    InvoiceSummary,
    RebillCreate,
)
from core.pages import Page

router = APIRouter(prefix="/api/v1", tags=["invoices"], responses=PROBLEM_RESPONSES)

_STEP = {**NOT_FOUND, **CONFLICT}


def _read(session: Session, invoice: Invoice) -> InvoiceRead:
    lines = repository.lines_of(session, invoice.id)
    return InvoiceRead.model_validate(
        {
            **InvoiceSummary.model_validate(invoice).model_dump(),
            "consumption": invoice.consumption,
            "category": invoice.category,
            "connection_type": invoice.connection_type,
            "subscribed_kva": invoice.subscribed_kva,
            "lines": lines,
        }
    )


@router.get("/invoices", response_model=Page[InvoiceSummary])
def list_invoices(
    session: DbSession,
    actor: CurrentActor("billing:read"),  # type: ignore[valid-type]
    account_id: OptionalId = None,
    usage_point_id: OptionalId = None,
    billing_run_id: OptionalId = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> Page[InvoiceSummary]:
    """Bills and credit notes, newest first, of an account, a usage point or a run."""
    invoices, total = repository.invoices_page(
        session,
        actor,
        account_id=account_id,
        usage_point_id=usage_point_id,
        run_id=billing_run_id,
        offset=offset,
        limit=limit,
    )
    return Page(
        items=[InvoiceSummary.model_validate(i) for i in invoices],
        total=total,
        offset=offset,
        limit=limit,
    )


@router.get("/invoices/{invoice_id}", response_model=InvoiceRead, responses=NOT_FOUND)
def get_invoice(
    invoice_id: Id,
    session: DbSession,
    actor: CurrentActor("billing:read"),  # type: ignore[valid-type]
) -> InvoiceRead:
    """One document with its lines, as issued."""
    return _read(session, repository.get_invoice(session, actor, invoice_id))


@router.post(
    "/invoices/{invoice_id}/credit", response_model=InvoiceRead, status_code=201, responses=_STEP
)
def credit_invoice(
    invoice_id: Id,
    body: CreditCreate,
    session: DbSession,
    actor: CurrentActor("billing:issue"),  # type: ignore[valid-type]
) -> InvoiceRead:
    """Cancel an issued bill with a credit note (the mirror of its lines and postings)."""
    return _read(session, service.credit(session, actor, invoice_id=invoice_id, note=body.note))


@router.post(
    "/invoices/{invoice_id}/rebill",
    response_model=CorrectionRead,
    status_code=201,
    responses=_STEP,
)
def rebill_invoice(
    invoice_id: Id,
    body: RebillCreate,
    session: DbSession,
    actor: CurrentActor("billing:issue"),  # type: ignore[valid-type]
) -> CorrectionRead:
    """Correct a bill: a credit note, then the bill of the same period on the given kWh
    (or on the consumption the meters give now)."""
    kwh = None if body.kwh is None else {r: Decimal(v) for r, v in body.kwh.items()}
    credit_note, invoice = service.rebill(
        session, actor, invoice_id=invoice_id, kwh=kwh, note=body.note
    )
    return CorrectionRead(credit_note=_read(session, credit_note), invoice=_read(session, invoice))


@router.post(
    "/invoices/{invoice_id}/true-up",
    response_model=CorrectionRead,
    status_code=201,
    responses=_STEP,
)
def true_up_invoice(
    invoice_id: Id,
    session: DbSession,
    actor: CurrentActor("billing:issue"),  # type: ignore[valid-type]
) -> CorrectionRead:
    """Replace an estimated bill by the actual one once reads replaced the estimate
    (409 ``true_up_not_ready`` before)."""
    credit_note, invoice = service.true_up(session, actor, invoice_id=invoice_id)
    return CorrectionRead(credit_note=_read(session, credit_note), invoice=_read(session, invoice))


@router.post(
    "/contracts/{contract_id}/final-bill",
    response_model=InvoiceRead,
    status_code=201,
    responses=_STEP,
)
def final_bill(
    contract_id: Id,
    session: DbSession,
    actor: CurrentActor("billing:issue"),  # type: ignore[valid-type]
) -> InvoiceRead:
    """The final bill of an ended contract (409 ``final_bill_not_ready`` until it ended
    and its final reading is in)."""
    return _read(session, service.final_bill(session, actor, contract_id=contract_id))
