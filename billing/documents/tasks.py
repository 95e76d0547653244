"""Thin Celery tasks of invoice documents: render a print batch."""

from __future__ import annotations

from billing.documents import batches
from core.celery_app import celery_app
from core.context import SYSTEM, acting_as
from core.db import session_scope


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
