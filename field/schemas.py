"""Pydantic shapes of the field domain: what the office and the handheld send (XCreate,
requests, outcomes) and get back (XRead). Text never carries NUL bytes and ids fit
PostgreSQL's bigint, so bad input is a 422, never a database error."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from customers.schemas import EntityId, Text
from field.enums import (
    FailureCode,
    RoundSelection,
    SealKind,
    SealPosition,
    Skill,
    SkipCode,
    WorkOrderKind,
)
from meters.enums import ReadingQuality, RegisterCode

Code = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9._-]+$")]
Index = Annotated[Decimal, Field(ge=0, lt=Decimal("1e13"), decimal_places=3)]
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
Note = Text(1000)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Gps(_In):
    """Where the device was (WGS 84) and how sure it was (metres)."""

    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    accuracy_m: float | None = Field(None, ge=0, le=100000)


# -- organisation ---------------------------------------------------------------------------


class TeamCreate(_In):
    code: Code
    name: Text(200, 1)  # type: ignore[valid-type]
    agency_id: EntityId | None = None


class TeamRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    agency_id: int | None
    active: bool


class TechnicianCreate(_In):
    user_id: EntityId
    code: Code
    full_name: Text(200) = ""  # type: ignore[valid-type]
    team_id: EntityId | None = None
    skills: list[Skill] = Field(default_factory=lambda: [Skill.READING], max_length=10)
    working_days: list[Annotated[int, Field(ge=1, le=7)]] = Field(
        default_factory=lambda: [1, 2, 3, 4, 5], max_length=7
    )


class TechnicianUpdate(_In):
    full_name: Text(200) | None = None  # type: ignore[valid-type]
    team_id: EntityId | None = None
    skills: list[Skill] | None = Field(None, max_length=10)
    working_days: list[Annotated[int, Field(ge=1, le=7)]] | None = Field(None, max_length=7)
    active: bool | None = None


class TechnicianRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    user_id: int
    agency_id: int | None
    team_id: int | None
    full_name: str
    skills: list[str]
    working_days: list[int]
    active: bool


# -- rounds ---------------------------------------------------------------------------------


class CycleCreate(_In):
    """A reading cycle and its usage points (each usage point belongs to one cycle: naming
    one already in another cycle moves it here)."""

    code: Code
    name: Text(200) = ""  # type: ignore[valid-type]
    agency_id: EntityId | None = None
    usage_point_ids: list[EntityId] = Field(default_factory=list, max_length=20000)


class CycleRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    agency_id: int | None
    usage_points: int = 0


class PolygonGeometry(_In):
    """A GeoJSON Polygon in EPSG:4326 (RFC 7946): one outer ring, closed."""

    type: Literal["Polygon"]
    coordinates: list[
        Annotated[
            list[Annotated[list[float], Field(min_length=2, max_length=3)]],
            Field(min_length=4, max_length=5000),
        ]
    ] = Field(min_length=1, max_length=50)

    @model_validator(mode="after")
    def _closed(self) -> PolygonGeometry:
        for ring in self.coordinates:
            if ring[0][:2] != ring[-1][:2]:
                raise ValueError("each ring must end where it starts")
            for lon, lat, *_ in ring:
                if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                    raise ValueError("coordinates are lon, lat in degrees (EPSG:4326)")
        return self


class RoundBuild(_In):
    """Build a round for a period from a selection of usage points (those with a meter,
    in the caller's territory, not already in an open round of the period)."""

    period_start: date
    name: Text(200) = ""  # type: ignore[valid-type]
    by: RoundSelection
    cycle_code: Code | None = None
    transformer_code: Code | None = None
    feeder_code: Code | None = None
    polygon: PolygonGeometry | None = None
    agency_id: EntityId | None = None
    technician_id: EntityId | None = None
    # The day the reads are expected (the expected ranges are computed for it).
    planned_date: date | None = None
    ordering: Literal["ortools", "code"] = "ortools"

    @model_validator(mode="after")
    def _one_selection(self) -> RoundBuild:
        needed = {
            RoundSelection.CYCLE: "cycle_code",
            RoundSelection.TRANSFORMER: "transformer_code",
            RoundSelection.FEEDER: "feeder_code",
            RoundSelection.POLYGON: "polygon",
        }[self.by]
        if getattr(self, needed) is None:
            raise ValueError(f"selection by {self.by.value} needs {needed}")
        return self


class RoundAssign(_In):
    technician_id: EntityId | None


class RoundReorder(_In):
    ordering: Literal["ortools", "code"] = "ortools"


class RoundRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    period_start: date
    agency_id: int | None
    status: str
    technician_id: int | None
    selection: dict[str, Any]
    route_version: int
    route_length_m: float
    ordering: str


class RoundItemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    round_id: int
    sequence: int
    usage_point_id: int
    meter_serial: str | None
    expected: dict[str, Any]
    lon: float | None
    lat: float | None
    access_notes: str | None
    technician_id: int | None
    status: str
    skip_code: str | None
    visited_at: datetime | None
    reading_ids: list[int]
    reading_status: str | None
    change_version: int


class RoundProgress(BaseModel):
    round_id: int
    total: int
    read: int
    skipped: int
    pending: int
    by_reader: list[dict[str, Any]]


class RoundReadingRequest(_In):
    """What the reader saw on each register (one value for a single-register meter)."""

    values: dict[RegisterCode, Index] = Field(min_length=1, max_length=6)
    read_at: AwareDatetime
    quality: ReadingQuality = ReadingQuality.ACTUAL
    gps: Gps | None = None
    photo_sha256: Sha256 | None = None
    note: Note | None = None  # type: ignore[valid-type]


class SkipRequest(_In):
    code: SkipCode
    at: AwareDatetime
    note: Note | None = None  # type: ignore[valid-type]
    gps: Gps | None = None


# -- work orders ----------------------------------------------------------------------------


class WorkOrderCreate(_In):
    kind: WorkOrderKind
    usage_point_id: EntityId | None = None
    contract_id: EntityId | None = None
    agency_id: EntityId | None = None
    priority: int = Field(3, ge=1, le=5)
    planned_date: date | None = None
    due_date: date | None = None
    reason: Text(500) | None = None  # type: ignore[valid-type]
    instructions: dict[str, Any] = Field(default_factory=dict)
    source_key: Text(200) | None = None  # type: ignore[valid-type]


class WorkOrderPlan(_In):
    planned_date: date
    team_id: EntityId | None = None
    reason: Text(500) | None = None  # type: ignore[valid-type]


class WorkOrderAssign(_In):
    technician_id: EntityId
    reason: Text(500) | None = None  # type: ignore[valid-type]


class WorkOrderStart(_In):
    at: AwareDatetime
    gps: Gps | None = None


# The finding of a cut or power-reduction visit where the customer paid there and then:
# the supply is left as it is (``field.work_orders``), the payment goes with ``paid``.
PAID_ON_SPOT = "paid_on_spot"


class PaidOnSpot(_In):
    """What the customer paid at the door: ``taken`` when the agent took the money (it is
    posted as a payment), else a receipt of a payment made elsewhere that the back office
    verifies. ``reference``: the agent's receipt number, or the one shown."""

    amount: int = Field(gt=0, le=10**15, description="integer minor units")
    reference: Text(100, 1)  # type: ignore[valid-type]
    taken: bool
    instrument: Literal["cash", "mobile_money"] = "cash"


class WorkOrderOutcome(_In):
    """What was done. ``indexes``: the meter's registers as read on the visit (the end
    index of a removed or replaced meter, the final read ...). ``new_meter_id`` and
    ``new_start_indexes``: the meter fitted (install, replace)."""

    completed_at: AwareDatetime
    indexes: dict[RegisterCode, Index] | None = None
    new_meter_id: EntityId | None = None
    new_start_indexes: dict[RegisterCode, Index] | None = None
    finding: Text(100) | None = None  # type: ignore[valid-type]
    note: Note | None = None  # type: ignore[valid-type]
    photo_sha256: list[Sha256] = Field(default_factory=list, max_length=20)
    gps: Gps | None = None
    paid: PaidOnSpot | None = None  # with the finding ``paid_on_spot``


class WorkOrderFailure(_In):
    code: FailureCode
    at: AwareDatetime
    note: Note | None = None  # type: ignore[valid-type]
    gps: Gps | None = None


class WorkOrderCancel(_In):
    reason: Text(500, 1)  # type: ignore[valid-type]


class WorkOrderRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    kind: str
    status: str
    usage_point_id: int | None
    meter_id: int | None
    contract_id: int | None
    round_item_id: int | None
    agency_id: int | None
    team_id: int | None
    technician_id: int | None
    priority: int
    planned_date: date | None
    due_date: date | None
    reason: str | None
    instructions: dict[str, Any]
    outcome: dict[str, Any] | None
    failure_code: str | None
    started_at: datetime | None
    finished_at: datetime | None
    change_version: int


class WorkOrderStepRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    event: str
    from_status: str | None
    to_status: str
    reason: str | None
    details: dict[str, Any]
    actor: str
    at: datetime


# -- seals ----------------------------------------------------------------------------------


class SealBatchCreate(_In):
    code: Code
    kind: SealKind
    prefix: Annotated[str, Field(max_length=10, pattern=r"^[A-Z0-9-]*$")] = ""
    first_number: int = Field(ge=0, le=10**12)
    last_number: int = Field(ge=0, le=10**12)
    digits: int = Field(7, ge=1, le=12)
    agency_id: EntityId | None = None
    received_at: AwareDatetime

    @model_validator(mode="after")
    def _range(self) -> SealBatchCreate:
        if self.last_number < self.first_number:
            raise ValueError("last_number must not be below first_number")
        if self.last_number - self.first_number >= 100_000:
            raise ValueError("a batch holds at most 100,000 seals")
        if len(str(self.last_number)) > self.digits:
            raise ValueError("last_number has more digits than the seal shows")
        return self


class SealIssue(_In):
    technician_id: EntityId
    numbers: list[Text(40, 1)] = Field(min_length=1, max_length=1000)  # type: ignore[valid-type]
    at: AwareDatetime


class Visit(_In):
    """The visit a seal event happens on: exactly one of a work order or a round item."""

    work_order_id: EntityId | None = None
    round_item_id: EntityId | None = None

    @model_validator(mode="after")
    def _one(self) -> Visit:
        if (self.work_order_id is None) == (self.round_item_id is None):
            raise ValueError("name exactly one of work_order_id and round_item_id")
        return self


class SealApply(_In):
    number: Text(40, 1)  # type: ignore[valid-type]
    visit: Visit
    position: SealPosition
    at: AwareDatetime
    gps: Gps | None = None


class SealVisitEvent(_In):
    """Verify, break or remove a seal on a visit."""

    number: Text(40, 1)  # type: ignore[valid-type]
    visit: Visit
    at: AwareDatetime
    note: Note | None = None  # type: ignore[valid-type]
    gps: Gps | None = None


class SealAnomaly(_In):
    """A seal found broken, missing (``number``: the one recorded there, if known) or
    foreign (``number``: what is written on the foreign seal)."""

    anomaly: Literal["found_broken", "found_missing", "found_foreign"]
    number: Text(40, 1) | None = None  # type: ignore[valid-type]
    visit: Visit
    position: SealPosition | None = None
    at: AwareDatetime
    note: Note | None = None  # type: ignore[valid-type]
    gps: Gps | None = None


class SealBatchRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    kind: str
    prefix: str
    first_number: int
    last_number: int
    digits: int
    agency_id: int | None
    received_at: datetime


class SealRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    batch_id: int
    kind: str
    status: str
    technician_id: int | None
    usage_point_id: int | None
    meter_id: int | None
    position: str | None
    applied_at: datetime | None
    change_version: int


class SealEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    seal_id: int | None
    seal_number: str
    event: str
    technician_id: int | None
    work_order_id: int | None
    round_item_id: int | None
    usage_point_id: int | None
    position: str | None
    note: str | None
    at: datetime


class RoundReadingResult(BaseModel):
    """A stop read: its reads, how validation judged them, and the re-read order an
    implausible value created."""

    item: RoundItemRead
    reading_ids: list[int]
    reading_status: str
    reason_codes: list[str]
    re_read_work_order_id: int | None


class WorkOrderDetail(WorkOrderRead):
    history: list[WorkOrderStepRead]


class SealBatchStock(SealBatchRead):
    """A batch and how many of its seals are in each status."""

    stock: dict[str, int]


class SealEventRequest(SealVisitEvent):
    event: Literal["verify", "break", "remove"]
