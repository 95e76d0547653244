"""Mobile sync: the handhelds enrolled to technicians, the operation log of every record a
device pushed (keyed by the client's UUID), the photos received (keyed by sha256) and the
conflict queue the office reviews.

Territory (``core.territory``): a device works for its technician's agency (copied at
enrollment), so a device, its operations and their conflicts are seen by the staff of that
agency (and by unrestricted staff); a device of a technician without an agency only by
unrestricted staff. A photo is addressed by its hash: naming the hash already means holding
the content, and the records that reference it carry the territory, so attachments are
``GLOBAL``.

The operation log is append-only in the database: what a device sent, and the receipt it
got, never change (a conflict's resolution is recorded on the conflict).
"""

from __future__ import annotations

import uuid as uuid_module
from datetime import datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ColumnElement,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from core.models import Base, IdMixin, TimestampMixin
from core.territory import GLOBAL, Scope, through


class SyncDevice(IdMixin, TimestampMixin, Base):
    """A handheld (a phone with the Kilowatch app, or any client of the sync protocol)
    enrolled by one technician, with the secret it proves itself with; the office revokes
    it when the phone is lost."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        """By its technician's agency at enrollment."""
        return scope.holds(SyncDevice.agency_id)

    __tablename__ = "sync_device"
    __table_args__ = (
        UniqueConstraint("user_id", "device_uuid"),
        CheckConstraint("status IN ('active', 'revoked')", name="status"),
        CheckConstraint("(status = 'revoked') = (revoked_at IS NOT NULL)", name="revoked"),
    )

    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("core_user.id"), index=True)
    agency_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("core_agency.id"))
    device_uuid: Mapped[str] = mapped_column(Text)
    label: Mapped[str] = mapped_column(Text, default="", server_default="")
    # sha256 hex of the secret (a 256-bit random token: a fast hash is enough).
    secret_hash: Mapped[str] = mapped_column(Text)
    secret_rotated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    status: Mapped[str] = mapped_column(Text, default="active", server_default="active")
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_by: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("core_user.id"))
    revoke_reason: Mapped[str | None] = mapped_column(Text)
    # The device's sync cursor: the last cursor it pulled with (what it holds), and when.
    pull_cursor: Mapped[str | None] = mapped_column(Text)
    pulled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    route_version: Mapped[int | None] = mapped_column(Integer)
    pushed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


def _by_device(device_id: Any, scope: Scope) -> ColumnElement[bool]:
    return through(SyncDevice, device_id, scope)


class SyncOperation(IdMixin, Base):
    """One record a device pushed (a reading, a skip, a work-order outcome, a seal event),
    keyed by the UUID the device gave it, with the receipt it was answered: applied,
    conflict or rejected (a duplicate is answered from here, never stored twice)."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        """By the device that pushed it."""
        return _by_device(SyncOperation.device_id, scope)

    __tablename__ = "sync_operation"
    __table_args__ = (
        CheckConstraint("status IN ('applied', 'conflict', 'rejected')", name="status"),
        CheckConstraint(
            "kind IN ('reading', 'skip', 'work_order_outcome', 'seal_event')", name="kind"
        ),
        Index("ix_sync_operation_device_id_id", "device_id", "id"),
    )

    uuid: Mapped[uuid_module.UUID] = mapped_column(UUID(as_uuid=True), unique=True)
    device_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("sync_device.id"))
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("core_user.id"))
    kind: Mapped[str] = mapped_column(Text)  # RecordKind
    status: Mapped[str] = mapped_column(Text)  # ReceiptStatus (never "duplicate")
    code: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[str | None] = mapped_column(Text)
    # The record it made (a reading's id, a round item's ...), when applied.
    server_id: Mapped[int | None] = mapped_column(BigInteger)
    flags: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list, server_default="{}")
    photos: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list, server_default="{}")
    base_version: Mapped[int | None] = mapped_column(Integer)
    # As the device said, and corrected by the device's clock offset at push time.
    captured_at_device: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    captured_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    clock_offset_s: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    gps: Mapped[Any | None] = mapped_column(
        Geometry("POINT", srid=4326, spatial_index=False), nullable=True
    )
    gps_accuracy_m: Mapped[float | None] = mapped_column(Float)
    scanned_serial: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class SyncAttachment(IdMixin, Base):
    """A photo received whole from a device and checked against its sha256; the bytes live
    in the attachment folder (``<dir>/<aa>/<sha256>``), content-addressed."""

    __territory__ = GLOBAL  # addressed by its hash; the records referencing it are located

    __tablename__ = "sync_attachment"
    __table_args__ = (CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name="sha256"),)

    sha256: Mapped[str] = mapped_column(Text, unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(Text)
    uploaded_by: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("core_user.id"))
    device_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("sync_device.id"))
    stored_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class SyncConflict(IdMixin, TimestampMixin, Base):
    """A pushed record that met master data changed by the office since the device pulled
    it (a stale base version, a reassigned or cancelled item): kept, never dropped, until
    someone in the office applies it anyway or discards it with a reason."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        """By the device whose record it holds."""
        return _by_device(SyncConflict.device_id, scope)

    __tablename__ = "sync_conflict"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'applied', 'discarded')", name="status"),
        CheckConstraint("(status = 'open') = (resolved_at IS NULL)", name="resolved"),
        Index("ix_sync_conflict_status_id", "status", "id"),
    )

    operation_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("sync_operation.id"), unique=True
    )
    device_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("sync_device.id"), index=True)
    kind: Mapped[str] = mapped_column(Text)
    code: Mapped[str] = mapped_column(Text)  # why it conflicts (stable)
    detail: Mapped[str] = mapped_column(Text, default="", server_default="")
    entity_kind: Mapped[str | None] = mapped_column(Text)  # round_item, work_order ...
    entity_id: Mapped[int | None] = mapped_column(BigInteger)
    base_version: Mapped[int | None] = mapped_column(Integer)
    current_version: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(Text, default="open", server_default="open")
    resolved_by: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("core_user.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolution_note: Mapped[str | None] = mapped_column(Text)
    server_id: Mapped[int | None] = mapped_column(BigInteger)
