"""Background report exports: a large export runs in a worker; the page follows it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, DateTime, Integer, LargeBinary, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.models import Base, IdMixin
from core.territory import Scope


class ReportExport(IdMixin, Base):
    """One requested export of a report (its filters, format, progress and, once done,
    the file). Run as the user who asked, so it holds only what their territory shows."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        """Its content is bounded by its requester's territory: seen by that territory's
        users (and head office); a head office export only by head office."""
        return scope.holds(ReportExport.territory_agency_id)

    __tablename__ = "core_report_export"

    report: Mapped[str] = mapped_column(Text)
    filters: Mapped[dict[str, Any]] = mapped_column(JSONB)
    format: Mapped[str] = mapped_column(Text)  # csv | xlsx
    status: Mapped[str] = mapped_column(Text, default="queued", server_default="queued")
    progress: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # percent
    rows: Mapped[int | None] = mapped_column(Integer)
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    error: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(Text)
    requested_by_id: Mapped[int | None] = mapped_column(BigInteger)
    territory_agency_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
