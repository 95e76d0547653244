"""The scheduled-job tables: what runs when, and what each run did."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Integer, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.models import Base, IdMixin, TimestampMixin
from core.territory import GLOBAL


class ScheduledJob(IdMixin, TimestampMixin, Base):
    """A job on the utility's calendar (prepare the reading cycle every 25th, score fraud
    every night ...): a registered Celery task name with its arguments and a cron rule
    (minute hour day-of-month month day-of-week) read in the utility's local time."""

    __territory__ = GLOBAL
    __tablename__ = "core_scheduled_job"

    name: Mapped[str] = mapped_column(Text, unique=True)
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    task: Mapped[str] = mapped_column(Text)
    args: Mapped[list[Any]] = mapped_column(JSONB, default=list, server_default="[]")
    kwargs: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    cron: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    next_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ScheduledJobRun(IdMixin, Base):
    """One run of a scheduled job (by the calendar, a catch-up after down time, or by hand):
    when it was due, when it ran, how it ended, how long it took and what it returned."""

    __territory__ = GLOBAL
    __tablename__ = "core_scheduled_job_run"

    job_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("core_scheduled_job.id", ondelete="CASCADE"), index=True
    )
    trigger: Mapped[str] = mapped_column(Text)  # schedule | catch_up | manual
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    queued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(Text, default="queued", server_default="queued")
    output: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str | None] = mapped_column(Text)
