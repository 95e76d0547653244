"""Print batches: the invoices a print shop prints, rendered in the background into one
PDF (each invoice on its own pages) or a zip of one PDF per invoice, with progress.

Where the documents come from is pluggable (:func:`set_document_source`): the invoice
service registers a function turning invoice ids into :class:`InvoiceDocument` s, so this
module needs no invoice table. ``run_batch`` is idempotent: a batch already done is left
alone, a failed or interrupted one is rendered again from the start (the file is written
under a temporary name and moved into place, so a half-written file is never served).
"""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from billing.documents.document import InvoiceDocument
from billing.documents.models import PrintBatch
from billing.documents.render import render_many, render_pdf
from billing.invoices.models import Invoice
from core.context import Actor
from core.errors import (
    EntityNotFoundError,
    FieldError,
    InputInvalidError,
    ReferenceUnknownError,
)
from core.settings import get_settings
from core.territory import visible

# invoice ids -> their documents, in the same order.
DocumentSource = Callable[[Session, Sequence[int]], Iterable[InvoiceDocument]]
_source: list[DocumentSource] = []

MAX_INVOICES = 20000  # one print file; a bigger mailing is several batches
PROGRESS_EVERY_SECONDS = 1.0


class PrintBatchNotFoundError(EntityNotFoundError):
    code = "print_batch_not_found"


class PrintBatchInvalidError(InputInvalidError):
    """No invoice, too many, or the same invoice twice."""

    code = "print_batch_invalid"


class PrintBatchInvoiceUnknownError(ReferenceUnknownError):
    """An invoice chosen does not exist or lies outside the caller's territory."""


def get_batch(session: Session, actor: Actor, batch_id: int) -> PrintBatch:
    """A batch the caller sees (404 otherwise)."""
    batch = session.scalars(
        select(PrintBatch).where(PrintBatch.id == batch_id, visible(actor, PrintBatch))
    ).one_or_none()
    if batch is None:
        raise PrintBatchNotFoundError(f"no print batch {batch_id}")
    return batch


def set_document_source(source: DocumentSource | None) -> None:
    """Where batches read their documents (the invoice service sets it at import)."""
    _source.clear()
    if source is not None:
        _source.append(source)


def folder() -> Path:
    path = get_settings().data_dir / "print_batches"
    path.mkdir(parents=True, exist_ok=True)
    return path


def file_of(batch: PrintBatch) -> Path | None:
    """The batch's finished file, when there is one."""
    if batch.status != "done" or not batch.file_name:
        return None
    return folder() / batch.file_name


def create_batch(
    session: Session,
    actor: Actor,
    *,
    invoice_ids: Sequence[int],
    output: str = "pdf",
    label: str = "",
) -> PrintBatch:
    """Record a batch to render (queued); the caller sends ``billing.render_print_batch``
    after commit."""
    if output not in ("pdf", "zip"):
        raise PrintBatchInvalidError(f"output {output!r}: pdf or zip")
    if not invoice_ids or len(invoice_ids) > MAX_INVOICES:
        raise PrintBatchInvalidError(f"a print batch holds 1 to {MAX_INVOICES} invoices")
    if len(set(invoice_ids)) != len(invoice_ids):
        raise PrintBatchInvalidError("an invoice appears twice in the batch")
    seen = set(
        session.scalars(
            select(Invoice.id).where(Invoice.id.in_(list(invoice_ids)), visible(actor, Invoice))
        )
    )
    unseen = [i for i in invoice_ids if i not in seen]
    if unseen:
        raise PrintBatchInvoiceUnknownError(
            f"no invoice {', '.join(map(str, unseen[:10]))}",
            errors=[FieldError("invoice_ids", "no such invoice", "reference_unknown")],
        )
    batch = PrintBatch(
        label=label,
        output=output,
        status="queued",
        invoice_ids=list(invoice_ids),
        total=len(invoice_ids),
        done=0,
        agency_id=actor.territory_agency_id,
        created_by=actor.user_id,
    )
    session.add(batch)
    session.flush()
    return batch


def render_file(
    documents: Iterable[InvoiceDocument],
    output: str,
    *,
    progress: Callable[[int], None] | None = None,
) -> bytes:
    """The print file's bytes: one PDF of every invoice, or a zip of ``<number>.pdf``."""
    if output == "pdf":
        return render_many(documents, progress=progress)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for done, document in enumerate(documents, start=1):
            archive.writestr(f"{document.number}.pdf", render_pdf(document))
            if progress is not None:
                progress(done)
    return buffer.getvalue()


def run_batch(
    session: Session,
    batch_id: int,
    *,
    report: Callable[[int, int], None] | None = None,
) -> PrintBatch:
    """Render batch ``batch_id`` into its file. ``report(batch_id, done)`` is called at
    most once a second while rendering (the task writes it from its own connection, so
    the screen sees it before the end)."""
    batch = session.get(PrintBatch, batch_id)
    if batch is None:
        raise PrintBatchNotFoundError(f"no print batch {batch_id}")
    if batch.status == "done":
        return batch
    if not _source:
        raise RuntimeError("no invoice document source is registered")
    # The batch row is only written here at the end: ``report`` updates it from another
    # connection meanwhile, which must never wait for a lock this session holds.
    last = [time.monotonic()]

    def progress(done: int) -> None:
        now = time.monotonic()
        if report is not None and now - last[0] >= PROGRESS_EVERY_SECONDS:
            last[0] = now
            report(batch_id, done)

    if report is not None:
        report(batch_id, 0)
    documents = _source[0](session, batch.invoice_ids)
    content = render_file(documents, batch.output, progress=progress)
    name = f"print-batch-{batch.id}.{batch.output}"
    partial = folder() / f"{name}.part"
    partial.write_bytes(content)
    partial.replace(folder() / name)
    batch.status, batch.done = "done", batch.total
    batch.file_name, batch.file_bytes = name, len(content)
    batch.finished_at = datetime.now(UTC)
    session.flush()
    return batch


def write_progress(session: Session, batch_id: int, done: int) -> None:
    """Store how far batch ``batch_id`` got (from a session of its own, committed at once)."""
    session.execute(
        update(PrintBatch)
        .where(PrintBatch.id == batch_id, PrintBatch.status != "done")
        .values(status="running", done=done, error=None)
    )


def mark_failed(session: Session, batch_id: int, error: str) -> None:
    """Record why batch ``batch_id`` failed (a session of its own: the rendering one rolled
    back). Handing the batch to ``run_batch`` again renders it anew."""
    session.execute(
        update(PrintBatch)
        .where(PrintBatch.id == batch_id, PrintBatch.status != "done")
        .values(status="failed", error=error[:2000], finished_at=datetime.now(UTC))
    )
