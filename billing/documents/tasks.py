"""Thin Celery tasks of invoice documents: render a print batch, deliver invoices."""

from __future__ import annotations

from billing.documents import batches, delivery
from billing.documents import from_invoice as from_invoice  # registers the batches' source
from core.celery_app import celery_app
from core.context import SYSTEM, acting_as
from core.db import session_scope
from core.logging import get_logger

log = get_logger(__name__)


def _report(batch_id: int, done: int) -> None:
    with session_scope() as progress_session:
        batches.write_progress(progress_session, batch_id, done)


@celery_app.task(name="billing.render_print_batch")
def render_print_batch(batch_id: int) -> int:
    """Render batch ``batch_id`` (idempotent: a finished batch is left alone); the file's
    size in bytes."""
    with acting_as(SYSTEM, request_id=f"task:print-batch:{batch_id}"):
        try:
            with session_scope() as session:
                batch = batches.run_batch(session, batch_id, report=_report)
                return int(batch.file_bytes or 0)
        except Exception as exc:
            with session_scope() as failure:
                batches.mark_failed(failure, batch_id, f"{type(exc).__name__}: {exc}")
            raise


@celery_app.task(name="billing.deliver_invoices")
def deliver_invoices(invoice_ids: list[int]) -> int:
    """Send each invoice as its account asks, each in its own transaction (one bad address
    never stops the others; every outcome is logged); the number of sends recorded."""
    sent = 0
    with acting_as(SYSTEM, request_id="task:deliver-invoices"):
        for invoice_id in invoice_ids:
            try:
                with session_scope() as session:
                    sent += len(delivery.deliver_invoice(session, SYSTEM, invoice_id))
            except delivery.InvoiceDeliveryUnavailableError:
                continue  # said in the invoice page: the account lacks an address
            except Exception as exc:  # one invoice's trouble never stops the others
                log.error("billing.deliver_failed", invoice_id=invoice_id, error=repr(exc))
    return sent


@celery_app.task(name="billing.deliver_pending_invoices")
def deliver_pending_invoices(limit: int = 1000) -> int:
    """Send the issued invoices of e-mail and SMS accounts not sent yet (a sweep: run it
    from beat or cron; idempotent); the number of sends recorded."""
    with acting_as(SYSTEM, request_id="task:deliver-pending"), session_scope() as session:
        pending = delivery.pending_deliveries(session, limit)
    return int(deliver_invoices(pending)) if pending else 0
