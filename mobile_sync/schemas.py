"""The wire shapes of the sync protocol (``mobile_sync/PROTOCOL.md``). Extend additively:
handhelds in the field run older versions of the app for weeks."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from core.pages import BIGINT_MAX
from mobile_sync.enums import ChangeKind, ConflictAction, ReceiptStatus, RecordKind

Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
DbId = Annotated[int, Field(ge=1, le=BIGINT_MAX)]
PUSH_MAX_RECORDS = 1000
PULL_LIMIT_DEFAULT = 500
PULL_LIMIT_MAX = 2000


class DeviceEnroll(BaseModel):
    model_config = ConfigDict(extra="forbid")

    device_uuid: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")
    label: str = Field("", max_length=100)


class DeviceEnrolled(BaseModel):
    device_id: int
    device_secret: str = Field(description="Shown once: the device keeps it")


class DeviceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: int
    username: str = ""
    agency_id: int | None
    device_uuid: str
    label: str
    status: str
    created_at: datetime
    secret_rotated_at: datetime
    revoked_at: datetime | None
    revoke_reason: str | None
    pulled_at: datetime | None
    pushed_at: datetime | None
    route_version: int | None


class DeviceRevoke(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field("", max_length=200)


class GpsFix(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    accuracy_m: float | None = Field(None, ge=0, le=1_000_000)

    @field_validator("lon", "lat")
    @classmethod
    def _centimetres(cls, value: float) -> float:
        """A phone's float (7.600599999999999) to 7 decimals (~1 cm): the precision GPS
        has, and what the readings pipeline takes (at most 12 decimals, no exponent)."""
        return round(value, 7)


class PushRecord(BaseModel):
    """One record as the device keeps it in its outbox. ``data`` is checked by its kind
    (``mobile_sync.kinds``), so a record of a kind this server cannot apply yet is
    answered ``rejected`` with a code, not refused with the whole batch."""

    model_config = ConfigDict(extra="forbid")

    uuid: uuid.UUID
    kind: RecordKind
    base_version: int | None = Field(None, ge=0, le=2**31 - 1)
    captured_at: AwareDatetime
    gps: GpsFix | None = None
    scanned_serial: str | None = Field(None, max_length=64)
    photos: list[Sha256] = Field(default_factory=list, max_length=20)
    data: dict[str, Any] = Field(default_factory=dict)


class PushBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    device_time: AwareDatetime = Field(description="The device's clock when it sent the batch")
    records: list[PushRecord] = Field(max_length=PUSH_MAX_RECORDS)


class Receipt(BaseModel):
    uuid: str
    status: ReceiptStatus
    code: str | None = None
    detail: str | None = None
    server_id: int | None = None
    photos_missing: list[str] = Field(default_factory=list)
    flags: list[str] = Field(default_factory=list)
    original: Receipt | None = None


class PushResult(BaseModel):
    receipts: list[Receipt]


class Change(BaseModel):
    kind: ChangeKind
    id: int
    version: int
    deleted: bool = False
    data: dict[str, Any] = Field(default_factory=dict)


class PullResult(BaseModel):
    cursor: str
    has_more: bool
    route_version: int
    changes: list[Change]


class OperationRead(BaseModel):
    """A pushed record as the office sees it."""

    id: int
    uuid: str
    device_id: int
    user_id: int
    kind: str
    status: str
    code: str | None
    detail: str | None
    server_id: int | None
    flags: list[str]
    photos: list[str]
    photos_missing: list[str]
    captured_at: datetime
    received_at: datetime
    data: dict[str, Any]


class ConflictRead(BaseModel):
    id: int
    status: str
    code: str
    detail: str
    kind: str
    entity_kind: str | None
    entity_id: int | None
    base_version: int | None
    current_version: int | None
    resolution_note: str | None
    resolved_at: datetime | None
    server_id: int | None
    operation: OperationRead


class ConflictResolve(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: ConflictAction
    note: str = Field(min_length=1, max_length=500)


class AttachmentState(BaseModel):
    """How much of a photo the server holds: ``received`` bytes (``Upload-Offset``)."""

    sha256: str
    received: int
    total: int | None
    complete: bool
