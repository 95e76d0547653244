"""Print batches in the database: queued, rendered by the task with progress written from
its own connection, a finished batch left alone, bad selections refused."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from billing.documents import batches
from billing.documents.document import InvoiceDocument
from billing.documents.models import PrintBatch
from core.context import Actor
from core.settings import get_settings
from tests.billing.invoice_documents import pdf_text, xof_invoice

ACTOR = Actor(user_id=None, username="print-shop", scopes=frozenset({"*"}))


def numbered(_session: Session, ids: Sequence[int]) -> Iterator[InvoiceDocument]:
    for invoice_id in ids:
        yield xof_invoice(number=f"F2025-{invoice_id:06d}")


@pytest.fixture()
def source(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    monkeypatch.setattr(get_settings(), "data_dir", tmp_path)
    before = list(batches._source)
    batches.set_document_source(numbered)
    yield
    batches.set_document_source(before[0] if before else None)


def queued(db: Session, ids: list[int], output: str) -> PrintBatch:
    """A batch as ``create_batch`` records it (here over the test's own document source,
    whose ids name no stored invoice: ``create_batch`` would refuse them)."""
    batch = PrintBatch(
        label="March", output=output, status="queued", invoice_ids=ids, total=len(ids), done=0
    )
    db.add(batch)
    db.flush()
    return batch


def test_a_batch_renders_once_into_its_file(db: Session, source: None) -> None:
    batch = queued(db, [7, 3, 9], "pdf")
    assert (batch.status, batch.total, batch.done) == ("queued", 3, 0)
    reported: list[tuple[int, int]] = []
    done = batches.run_batch(db, batch.id, report=lambda b, n: reported.append((b, n)))
    assert (done.status, done.done) == ("done", 3)
    assert reported[0] == (batch.id, 0)  # "running" is written before the first page
    path = batches.file_of(done)
    assert path is not None and path.stat().st_size == done.file_bytes
    pages, text = pdf_text(path.read_bytes())
    assert pages == 3
    # In the order chosen, not by id.
    assert text.index("F2025-000007") < text.index("F2025-000003") < text.index("F2025-000009")
    assert not list(path.parent.glob("*.part"))
    # Again: a finished batch is left alone.
    assert (
        batches.run_batch(db, batch.id, report=lambda b, n: reported.append((b, -1))).file_bytes
        == done.file_bytes
    )
    assert (batch.id, -1) not in reported


def test_progress_and_failure_are_written_on_the_batch(db: Session, source: None) -> None:
    batch = queued(db, [1, 2], "zip")
    batches.write_progress(db, batch.id, 1)
    db.refresh(batch)
    assert (batch.status, batch.done) == ("running", 1)
    batches.mark_failed(db, batch.id, "RuntimeError: the printer caught fire")
    db.refresh(batch)
    assert (batch.status, batch.error) == ("failed", "RuntimeError: the printer caught fire")
    # A failed batch is rendered anew when handed again.
    again = batches.run_batch(db, batch.id)
    assert (again.status, again.done, again.file_name) == ("done", 2, f"print-batch-{batch.id}.zip")


@pytest.mark.parametrize(("ids", "output"), [([], "pdf"), ([1, 1], "pdf"), ([1], "docx")])
def test_bad_selections_are_refused(db: Session, ids: list[int], output: str) -> None:
    with pytest.raises(batches.PrintBatchInvalidError):
        batches.create_batch(db, ACTOR, invoice_ids=ids, output=output)
