"""The records of data migrations: each run, the legacy keys mapped to Kilowatch ids, and
the rows a partial run set aside."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.models import Base, IdMixin
from core.territory import GLOBAL

RUN_STATUSES = ("queued", "running", "done", "dry", "refused", "failed")


class MigrationRun(IdMixin, Base):
    """One import of a legacy base (files from a folder, a workbook or an upload): who ran
    it, how far it got, and what it did per entity."""

    __territory__ = GLOBAL
    __tablename__ = "core_migration_run"

    # queued (uploaded, waiting for the worker) -> running -> done | dry (checked only) |
    # refused (problems found, nothing written) | failed (an unexpected error)
    status: Mapped[str] = mapped_column(Text, default="running")
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    partial: Mapped[bool] = mapped_column(Boolean, default=False)
    source_name: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(Text)
    # The staff account that started it: the worker acts with its scopes and territory.
    actor_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("core_user.id", ondelete="SET NULL")
    )
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # {entity: {"done": n, "total": n}} while it runs
    progress: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    # MigrationReport.as_dict(): per entity counts, and the problems
    report: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


class MigrationKey(Base):
    """A legacy system's external key of one record (a customer number, a meter serial
    ...) and the Kilowatch id it was brought in as: what makes a second import update
    rather than duplicate."""

    __territory__ = GLOBAL
    __tablename__ = "core_migration_key"
    __table_args__ = (
        PrimaryKeyConstraint("entity", "external_key"),
        # Back from a record to its legacy key (exports, "already stored under key ...").
        Index("ix_core_migration_key_entity_kilowatch_id", "entity", "kilowatch_id"),
    )

    entity: Mapped[str] = mapped_column(Text)
    external_key: Mapped[str] = mapped_column(Text)
    kilowatch_id: Mapped[int] = mapped_column(BigInteger)
    run_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("core_migration_run.id", ondelete="SET NULL"), index=True
    )
    # Only so the audit trail can name each row (its entries are keyed by ``id``).
    id: Mapped[int] = mapped_column(BigInteger, Identity(), unique=True)


class MigrationParked(IdMixin, Base):
    """A row a partial run did not load, with its text as read and why: corrected and
    imported again (``kilowatch migrate parked RUN``) it goes in like any other."""

    __territory__ = GLOBAL
    __tablename__ = "core_migration_parked"

    run_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("core_migration_run.id", ondelete="CASCADE"), index=True
    )
    entity: Mapped[str] = mapped_column(Text)
    line: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict[str, str]] = mapped_column(JSONB)
    # [{"field": ..., "code": ..., "message": ...}]
    problems: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
