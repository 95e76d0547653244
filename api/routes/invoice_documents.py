"""An invoice's documents and deliveries: its PDF, its sends by e-mail or SMS through the
gateways (``core.notify``), and print batches (many invoices in one file for a print
shop, rendered in the background). Outside the caller's territory answers 404."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from api.deps import CurrentActor, DbSession
from api.downloads import attachment
from api.params import NOT_FOUND, Id
from api.schemas import PROBLEM_RESPONSES
from billing.documents import batches, delivery
from billing.documents.from_invoice import invoice_document
from billing.documents.models import PrintBatch
from billing.documents.render import render_pdf
from billing.documents.tasks import render_print_batch
from billing.invoices import repository
from core.notify.models import Notification
from core.pages import BIGINT_MAX
from core.tasks import send_after_commit

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
    return attachment(
        render_pdf(document), f"{document.number}.pdf", "application/pdf", inline=True
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


class PrintBatchCreate(BaseModel):
    """Invoices to print, in print order: one PDF, or a zip of one PDF per invoice."""

    model_config = ConfigDict(extra="forbid")

    invoice_ids: list[Annotated[int, Field(ge=1, le=BIGINT_MAX)]] = Field(
        min_length=1, max_length=batches.MAX_INVOICES
    )
    output: Literal["pdf", "zip"] = "pdf"
    label: str = Field("", max_length=200)


class PrintBatchRead(BaseModel):
    """A print batch and how far the worker got (``done`` of ``total`` invoices)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    label: str
    output: str
    status: str
    total: int
    done: int
    file_name: str | None
    file_bytes: int | None
    error: str | None
    created_at: datetime
    finished_at: datetime | None


@router.post("/print-batches", response_model=PrintBatchRead, status_code=202)
def create_print_batch(
    data: PrintBatchCreate,
    session: DbSession,
    actor: CurrentActor("billing:issue"),  # type: ignore[valid-type]
) -> PrintBatch:
    """Queue a print batch: rendered in the background (one worker task, sent after the
    commit); follow it with ``GET /print-batches/{id}``. 422 ``reference_unknown`` for
    an invoice that does not exist or lies outside the caller's territory."""
    batch = batches.create_batch(
        session, actor, invoice_ids=data.invoice_ids, output=data.output, label=data.label
    )
    send_after_commit(session, render_print_batch, batch.id)
    return batch


@router.get("/print-batches/{batch_id}", response_model=PrintBatchRead, responses=NOT_FOUND)
def print_batch(
    batch_id: Id,
    session: DbSession,
    actor: CurrentActor("billing:read"),  # type: ignore[valid-type]
) -> PrintBatch:
    """Where a print batch stands."""
    return batches.get_batch(session, actor, batch_id)


@router.get(
    "/print-batches/{batch_id}/file",
    response_class=Response,
    responses={**NOT_FOUND, 200: {"content": {"application/pdf": {}, "application/zip": {}}}},
)
def print_batch_file(
    batch_id: Id,
    session: DbSession,
    actor: CurrentActor("billing:read"),  # type: ignore[valid-type]
) -> Response:
    """The finished batch's file (404 until it is done)."""
    batch = batches.get_batch(session, actor, batch_id)
    path = batches.file_of(batch)
    if path is None or not path.exists():
        raise batches.PrintBatchNotFoundError(f"print batch {batch_id} has no file yet")
    media = "application/pdf" if batch.output == "pdf" else "application/zip"
    return FileResponse(path, media_type=media, filename=path.name)
