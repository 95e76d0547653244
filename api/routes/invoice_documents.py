"""An invoice's documents and deliveries: its PDF, and its sends by e-mail or SMS through
the gateways (``core.notify``). An invoice outside the caller's territory answers 404."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict

from api.deps import CurrentActor, DbSession
from api.params import NOT_FOUND, Id
from api.schemas import PROBLEM_RESPONSES
from billing.documents import delivery
from billing.documents.from_invoice import invoice_document
from billing.documents.render import render_pdf
from billing.invoices import repository
from core.notify.models import Notification

router = APIRouter(prefix="/api/v1", tags=["invoices"], responses=PROBLEM_RESPONSES)

PDF = {200: {"content": {"application/pdf": {}}, "description": "The invoice as a PDF"}}


class DeliveryRead(BaseModel):
    """One send of the invoice: channel, gateway, recipients and what the gateway answered."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    channel: str
    backend: str
    recipients: list[str]
    subject: str
    status: str
    provider_id: str | None
    error: str | None
    created_at: datetime


@router.get(
    "/invoices/{invoice_id}/pdf",
    response_class=Response,
    responses={**NOT_FOUND, **PDF},
)
def invoice_pdf(
    invoice_id: Id,
    session: DbSession,
    actor: CurrentActor("billing:read"),  # type: ignore[valid-type]
) -> Response:
    """The printed invoice (A4 PDF): lines, totals, consumption history, payment
    reference (ISO 11649) and QR code."""
    document = invoice_document(session, actor, invoice_id)
    return Response(
        render_pdf(document),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{document.number}.pdf"'},
    )


@router.get(
    "/invoices/{invoice_id}/deliveries", response_model=list[DeliveryRead], responses=NOT_FOUND
)
def invoice_deliveries(
    invoice_id: Id,
    session: DbSession,
    actor: CurrentActor("billing:read"),  # type: ignore[valid-type]
) -> list[Notification]:
    """Every send of the invoice, oldest first."""
    repository.get_invoice(session, actor, invoice_id)
    return delivery.deliveries(session, invoice_id)


@router.post(
    "/invoices/{invoice_id}/deliveries",
    response_model=list[DeliveryRead],
    status_code=201,
    responses=NOT_FOUND,
)
def deliver_invoice(
    invoice_id: Id,
    session: DbSession,
    actor: CurrentActor("billing:issue"),  # type: ignore[valid-type]
) -> list[Notification]:
    """Send the invoice again, now, the way its account asks (e-mail with the PDF, or
    SMS); paper accounts get nothing here (print batches). 422
    ``invoice_delivery_unavailable`` when the account lacks the address."""
    return delivery.deliver_invoice(session, actor, invoice_id, again=True)
