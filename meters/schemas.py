"""Request and response shapes of the meter domain."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from core.pages import BIGINT_MAX, KeysetPage
from meters.enums import (
    MeterStatus,
    MeterType,
    ReadingQuality,
    ReadingSource,
    RegisterCode,
    RegisterSet,
)

Index = Decimal | dict[RegisterCode, Decimal]


class MeterCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    serial: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._/-]+$")
    make: str = Field("", max_length=100)
    model: str = Field("", max_length=100)
    meter_type: MeterType
    dial_digits: int = Field(5, ge=3, le=10)
    multiplier: Decimal = Field(Decimal(1), gt=0, le=100000, decimal_places=4)
    phases: Literal[1, 3] = 1  # single- or three-phase: there is no two-phase meter
    stock_location: str | None = Field(None, max_length=100)
    registers: list[RegisterCode] = Field(
        default_factory=lambda: [RegisterCode.TOTAL], min_length=1, max_length=3
    )


class MeterUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    make: str | None = Field(None, max_length=100)
    model: str | None = Field(None, max_length=100)
    stock_location: str | None = Field(None, max_length=100)


class RegisterRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    unit: str


class MeterRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    serial: str
    make: str
    model: str
    meter_type: MeterType
    dial_digits: int
    multiplier: Decimal
    phases: int
    status: MeterStatus
    stock_location: str | None
    registers: list[RegisterRead] = []


class InstallRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    usage_point_id: int = Field(ge=1, le=BIGINT_MAX)
    installed_at: AwareDatetime
    start_index: Index = Field(description="One index, or one per register code")
    register_set: RegisterSet = RegisterSet.MAIN


class RemoveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    removed_at: AwareDatetime
    end_index: Index
    reason: str | None = Field(None, max_length=200)
    to_stock_location: str | None = Field(None, max_length=100)


class ReplaceRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    new_meter_id: int = Field(ge=1, le=BIGINT_MAX)
    replaced_at: AwareDatetime
    old_end_index: Index
    new_start_index: Index
    register_set: RegisterSet = RegisterSet.MAIN
    reason: str | None = Field(None, max_length=200)


class InstallationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    meter_id: int
    usage_point_id: int
    register_set: str
    installed_at: datetime
    start_indexes: dict[str, Any]
    removed_at: datetime | None
    end_indexes: dict[str, Any] | None
    replaces_installation_id: int | None
    removal_reason: str | None


class ReadingCreate(BaseModel):
    """One read typed in or sent by a device. ``reader_id`` defaults to the caller."""

    model_config = ConfigDict(extra="forbid")

    meter_serial: str = Field(min_length=1, max_length=64)
    register_code: RegisterCode = RegisterCode.TOTAL
    read_at: AwareDatetime
    value: Decimal = Field(ge=0, lt=Decimal("1e13"), decimal_places=3)
    source: ReadingSource = Field(description="handheld, self_read or ami")
    quality: ReadingQuality = ReadingQuality.ACTUAL
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)
    photo_sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")


class ReadingRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    register_id: int
    meter_id: int
    installation_id: int | None
    usage_point_id: int | None
    read_at: datetime
    value: Decimal
    source: str
    quality: str
    status: str
    reason_codes: list[str]
    rule_set_version: int
    reader_id: int | None
    photo_sha256: str | None
    estimation_method: str | None
    superseded_by_id: int | None


class ReadingOutcome(ReadingRead):
    """A recorded read and how validation judged it; ``duplicate`` when it was already
    stored under the same natural key (nothing changed)."""

    duplicate: bool = False


class ReadingPage(KeysetPage[ReadingRead]):
    """A page of a reading feed, newest first; ``next_cursor`` is the id of its last read."""


class EstimateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    register_id: int = Field(ge=1, le=BIGINT_MAX)
    at: AwareDatetime


class ImportReportRead(BaseModel):
    job_key: str
    rule_set_version: int
    rows: int
    new: int
    duplicates: int
    accepted: int
    flagged: int
    rejected: int
    rejected_by_code: dict[str, int]
    codes_by_status: dict[str, dict[str, int]]
    superseded_estimates: int
    seconds: float


class ConsumptionRead(BaseModel):
    usage_point_id: int
    register_code: str
    period_from: datetime
    period_to: datetime
    kwh: Decimal
    intervals: int
    includes_estimate: bool
    meter_changed: bool


class RuleSetCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field("", max_length=200)
    parameters: dict[str, Any]


class RuleSetRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: int
    name: str
    parameters: dict[str, Any]
    is_active: bool
    created_at: datetime
