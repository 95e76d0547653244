"""Print batches: many invoices rendered into one file for a print shop."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ColumnElement,
    DateTime,
    ForeignKey,
    Integer,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.models import Base, IdMixin
from core.territory import Scope


class PrintBatch(IdMixin, Base):
    """A print shop's order: the invoices chosen (``invoice_ids``, in print order), the
    file made from them (one PDF, or a zip of one PDF per invoice) in the data folder, and
    how far the worker got (``done`` of ``total``)."""

    __tablename__ = "billing_print_batch"
    __table_args__ = (
        CheckConstraint("output IN ('pdf', 'zip')", name="output_known"),
        CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="status_known"),
        CheckConstraint("done BETWEEN 0 AND total", name="done_counted"),
    )

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        """A batch belongs to the territory of whoever made it (its invoices were each
        checked against it); head office's batches (no agency) stay with head office."""
        return scope.holds(PrintBatch.agency_id)

    label: Mapped[str] = mapped_column(Text, default="", server_default="")
    output: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    invoice_ids: Mapped[list[int]] = mapped_column(JSONB)
    total: Mapped[int] = mapped_column(Integer)
    done: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    file_name: Mapped[str | None] = mapped_column(Text)
    file_bytes: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
    agency_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("core_agency.id", ondelete="RESTRICT"), index=True
    )
    created_by: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("core_user.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
