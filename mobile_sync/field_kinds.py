"""Field wired into sync: what a technician pulls (round items, work orders, seals) and
how the field kinds of records (a read on a round stop, a skip, a work-order outcome, a
seal event) are applied, through ``field.service``.

The office wins on master data, the field wins on observations:

- a record on a stop or an order that is no longer the technician's (re-assigned), on a
  closed round, or on a stop whose meter changed, goes to the conflict queue;
- a work-order outcome whose ``base_version`` is not the order's current version (the
  office re-planned, re-assigned or cancelled it since the device pulled) goes to the
  queue: what the order asks for may have changed;
- a read on a stop whose version moved for another reason (the walking order, notes) is
  stored, flagged ``stale_base_version``: a dial's index is a fact;
- a second read of a stop already read (another register, a second visit) is stored on
  its register, flagged ``round_item_already_read``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session

from core.context import Actor
from core.pages import BIGINT_MAX
from field import service as field
from field.enums import FailureCode, RoundItemStatus, SealPosition, SkipCode
from field.schemas import (
    Gps,
    PaidOnSpot,
    RoundReadingRequest,
    SealAnomaly,
    SealApply,
    SealVisitEvent,
    SkipRequest,
    Visit,
    WorkOrderFailure,
    WorkOrderOutcome,
)
from mobile_sync import field_repository as repo
from mobile_sync import pull
from mobile_sync.enums import ChangeKind, Flag, RecordKind
from mobile_sync.kinds import Applied, Conflict, Item, Outcome, PushContext, Rejected, register
from mobile_sync.reading_kind import ReadingData, invalid, set_round_reader, store_observation
from mobile_sync.repository import RegisterPlace
from mobile_sync.schemas import Change

ROUND_ITEM_ALREADY_READ = "round_item_already_read"
CLOSED_ORDER_STATUSES = {"completed", "failed", "cancelled"}

# -- pull --------------------------------------------------------------------------------------


def _registers(expected: dict[str, Any], ids: dict[str, int]) -> list[dict[str, Any]]:
    return [
        {
            "register_id": ids.get(code),
            "code": code,
            "previous_value": e.get("previous"),
            "previous_read_at": e.get("previous_at"),
            "expected_min": e.get("low"),
            "expected_max": e.get("high"),
        }
        for code, e in sorted((expected or {}).items())
    ]


def _location(row: dict[str, Any]) -> dict[str, float] | None:
    if row.get("lon") is None or row.get("lat") is None:
        return None
    return {"lon": row["lon"], "lat": row["lat"]}


_NOT_DATA = frozenset({"id", "version", "lon", "lat", "register_ids"})


def field_source(
    session: Session, *, actor: Actor, user_id: int, after: int, limit: int
) -> pull.SourcePage:
    """The technician's assignments changed after ``after`` (their change versions)."""
    technician = field.technician_of(session, actor)
    if technician is None:
        return pull.SourcePage([], after, False, 0)
    page = field.assignments_since(session, technician_id=technician.id, since=after, limit=limit)
    changes: list[Change] = []
    for kind, rows in (
        (ChangeKind.ROUND_ITEM, page.round_items),
        (ChangeKind.WORK_ORDER, page.work_orders),
    ):
        for row in rows:
            data = {k: v for k, v in row.items() if k not in _NOT_DATA}
            data["location"] = _location(row)
            data["registers"] = _registers(row["registers"], row["register_ids"] or {})
            changes.append(Change(kind=kind, id=row["id"], version=row["version"], data=data))
    for seal in page.seals:
        data = {k: v for k, v in seal.items() if k not in ("id", "version")}
        data["seal_number"] = seal["number"]
        changes.append(
            Change(kind=ChangeKind.SEAL, id=seal["id"], version=seal["version"], data=data)
        )
    for gone in page.released:
        changes.append(
            Change(
                kind=ChangeKind(gone["kind"]), id=gone["id"], version=gone["version"], deleted=True
            )
        )
    changes.sort(key=lambda c: c.version)
    return pull.SourcePage(
        changes, page.high_water, page.more, repo.route_version(session, technician.id)
    )


# -- shared checks -----------------------------------------------------------------------------


def _technician_id(ctx: PushContext) -> int | None:
    technician = field.technician_of(ctx.session, ctx.actor)
    return technician.id if technician else None


def _gps(item: Item) -> Gps | None:
    gps = item.record.gps
    return Gps(lon=gps.lon, lat=gps.lat, accuracy_m=gps.accuracy_m) if gps else None


def _stop_conflict(ctx: PushContext, state: repo.ItemState) -> Conflict | None:
    """Master data the office changed under a stop: re-assigned, round closed."""
    if ctx.force:
        return None
    if state.technician_id != _technician_id(ctx):
        return Conflict(
            "round_item_reassigned",
            f"stop {state.id} is no longer assigned to you",
            "round_item",
            state.id,
            state.version,
        )
    if state.round_status == "closed":
        return Conflict(
            "round_closed",
            f"the round of stop {state.id} is closed",
            "round_item",
            state.id,
            state.version,
        )
    return None


# -- reads on a round stop ------------------------------------------------------------------


def read_round_item(
    ctx: PushContext, item: Item, data: ReadingData, place: RegisterPlace, flags: list[str]
) -> Outcome:
    assert data.round_item_id is not None
    state = repo.item_state(ctx.session, data.round_item_id)
    if state is None:
        return Rejected("reference_unknown", f"no round item {data.round_item_id}")
    conflict = _stop_conflict(ctx, state)
    if conflict is None and not ctx.force and state.meter_serial != place.meter_serial:
        conflict = Conflict(
            "meter_changed",
            f"register {data.register_id} is not on the meter of stop {state.id}",
            "round_item",
            state.id,
            state.version,
        )
    if conflict is not None:
        return conflict
    base = item.record.base_version
    if base is not None and base != state.version:
        flags = [*flags, Flag.STALE_BASE_VERSION.value]
    if ctx.force or state.status == RoundItemStatus.READ:
        return store_observation(ctx, item, data, place, [*flags, ROUND_ITEM_ALREADY_READ])
    result = field.record_round_reading(
        ctx.session,
        actor=ctx.actor,
        round_item_id=state.id,
        data=RoundReadingRequest(
            values={place.register_code: data.value},
            read_at=item.captured_at,
            gps=_gps(item),
            photo_sha256=item.record.photos[0] if item.record.photos else None,
        ),
    )
    detail = result.reading_status + (
        f": {','.join(result.reason_codes)}" if result.reason_codes else ""
    )
    if result.re_read is not None:
        detail += f"; re-read order {result.re_read.number}"
    if result.reading_status == "flagged":
        flags = [*flags, Flag.READING_FLAGGED.value]
    elif result.reading_status == "rejected":
        flags = [*flags, Flag.READING_REJECTED.value]
    return Applied(result.reading_ids[0] if result.reading_ids else None, tuple(flags), detail)


set_round_reader(read_round_item)

# -- skips ---------------------------------------------------------------------------------


class SkipData(BaseModel):
    model_config = ConfigDict(extra="ignore")

    round_item_id: int = Field(ge=1, le=BIGINT_MAX)
    skip_code: SkipCode
    note: str | None = Field(None, max_length=1000)


@register(RecordKind.SKIP)
def apply_skips(ctx: PushContext, items: Sequence[Item]) -> list[Outcome]:
    return [_skip(ctx, item) for item in items]


def _skip(ctx: PushContext, item: Item) -> Outcome:
    try:
        data = SkipData.model_validate(item.record.data)
    except ValidationError as exc:
        return invalid(exc)
    state = repo.item_state(ctx.session, data.round_item_id)
    if state is None:
        return Rejected("reference_unknown", f"no round item {data.round_item_id}")
    conflict = _stop_conflict(ctx, state)
    if conflict is not None:
        return conflict
    if state.status == RoundItemStatus.READ:
        return Rejected("round_item_done", f"stop {state.id} was read: the read stands")
    skipped = field.skip_round_item(
        ctx.session,
        actor=ctx.actor,
        round_item_id=state.id,
        data=SkipRequest(code=data.skip_code, at=item.captured_at, note=data.note, gps=_gps(item)),
    )
    return Applied(skipped.id, tuple(item.flags))


# -- seal events -----------------------------------------------------------------------------

# The protocol's words and field's (the handheld speaks field's): one meaning each.
SEAL_EVENTS = {
    "applied": "apply",
    "apply": "apply",
    "verified": "verify",
    "verify": "verify",
    "break": "break",  # broken on purpose, for the work
    "removed": "remove",
    "remove": "remove",
    "broken": "found_broken",  # found broken
    "found_broken": "found_broken",
    "missing": "found_missing",
    "found_missing": "found_missing",
    "foreign": "found_foreign",
    "found_foreign": "found_foreign",
}


class SealData(BaseModel):
    model_config = ConfigDict(extra="ignore")

    seal_number: str | None = Field(None, min_length=1, max_length=40)
    event: str = Field(pattern="^(" + "|".join(SEAL_EVENTS) + ")$")
    position: SealPosition | None = None
    work_order_id: int | None = Field(None, ge=1, le=BIGINT_MAX)
    round_item_id: int | None = Field(None, ge=1, le=BIGINT_MAX)
    note: str | None = Field(None, max_length=1000)


@register(RecordKind.SEAL_EVENT)
def apply_seal_events(ctx: PushContext, items: Sequence[Item]) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for item in items:
        try:
            data = SealData.model_validate(item.record.data)
        except ValidationError as exc:
            outcomes.append(invalid(exc))
            continue
        outcomes.append(_seal(ctx, data, item.captured_at, _gps(item), item.flags))
    return outcomes


def _seal(
    ctx: PushContext, data: SealData, at: datetime, gps: Gps | None, flags: Sequence[str]
) -> Outcome:
    try:
        visit = Visit(work_order_id=data.work_order_id, round_item_id=data.round_item_id)
    except ValidationError as exc:
        return invalid(exc)
    event = SEAL_EVENTS[data.event]
    session, actor = ctx.session, ctx.actor
    if event.startswith("found_"):
        done = field.report_seal_anomaly(
            session,
            actor=actor,
            data=SealAnomaly(
                anomaly=event,  # type: ignore[arg-type]
                number=data.seal_number,
                visit=visit,
                position=data.position,
                at=at,
                note=data.note,
                gps=gps,
            ),
        )
        return Applied(done.id, tuple(flags))
    if data.seal_number is None:
        return Rejected("invalid_data", "data/seal_number: a seal number is required")
    if event == "apply":
        if data.position is None:
            return Rejected("invalid_data", "data/position: where the seal was applied")
        done = field.apply_seal(
            session,
            actor=actor,
            data=SealApply(
                number=data.seal_number, visit=visit, position=data.position, at=at, gps=gps
            ),
        )
        return Applied(done.id, tuple(flags))
    step = {"verify": field.verify_seal, "break": field.break_seal, "remove": field.remove_seal}
    done = step[event](
        session,
        actor=actor,
        data=SealVisitEvent(number=data.seal_number, visit=visit, at=at, note=data.note, gps=gps),
    )
    return Applied(done.id, tuple(flags))


# -- work-order outcomes -----------------------------------------------------------------------


class OutcomeReading(BaseModel):
    model_config = ConfigDict(extra="ignore")

    register_id: int | None = Field(None, ge=1, le=BIGINT_MAX)
    register_code: str | None = Field(None, max_length=20)
    value: Decimal = Field(ge=0, lt=Decimal("1e13"), decimal_places=3)


class OutcomeData(BaseModel):
    model_config = ConfigDict(extra="ignore")

    work_order_id: int = Field(ge=1, le=BIGINT_MAX)
    outcome: str = Field(pattern="^(completed|failed)$")
    code: str | None = Field(None, max_length=100)
    readings: list[OutcomeReading] = Field(default_factory=list, max_length=6)
    seals: list[SealData] = Field(default_factory=list, max_length=20)
    notes: str | None = Field(None, max_length=1000)
    new_meter_id: int | None = Field(None, ge=1, le=BIGINT_MAX)
    new_start_readings: list[OutcomeReading] = Field(default_factory=list, max_length=6)
    # A cut or power reduction the customer paid off at the door (code ``paid_on_spot``).
    paid: PaidOnSpot | None = None


@register(RecordKind.WORK_ORDER_OUTCOME)
def apply_outcomes(ctx: PushContext, items: Sequence[Item]) -> list[Outcome]:
    return [_outcome(ctx, item) for item in items]


def _indexes(ctx: PushContext, readings: list[OutcomeReading]) -> dict[str, Decimal] | None:
    indexes: dict[str, Decimal] = {}
    for reading in readings:
        code = reading.register_code
        if code is None and reading.register_id is not None:
            found = repo.register_meter_serial(ctx.session, reading.register_id)
            code = found[1] if found else None
        indexes[code or "total"] = reading.value
    return indexes or None


def _outcome(ctx: PushContext, item: Item) -> Outcome:
    try:
        data = OutcomeData.model_validate(item.record.data)
    except ValidationError as exc:
        return invalid(exc)
    state = repo.order_state(ctx.session, data.work_order_id)
    if state is None:
        return Rejected("reference_unknown", f"no work order {data.work_order_id}")
    if not ctx.force:
        base = item.record.base_version
        if state.status in CLOSED_ORDER_STATUSES:
            return Conflict(
                "work_order_changed",
                f"work order {state.id} is {state.status}",
                "work_order",
                state.id,
                state.version,
            )
        if state.technician_id != _technician_id(ctx):
            return Conflict(
                "work_order_reassigned",
                f"work order {state.id} is no longer assigned to you",
                "work_order",
                state.id,
                state.version,
            )
        if base is not None and base != state.version:
            return Conflict(
                "work_order_changed",
                f"work order {state.id} changed since it was pulled (version {state.version})",
                "work_order",
                state.id,
                state.version,
            )
    visit_seals = [
        s.model_copy(update={"work_order_id": state.id, "round_item_id": None}) for s in data.seals
    ]
    for seal in visit_seals:
        outcome = _seal(ctx, seal, item.captured_at, _gps(item), ())
        if not isinstance(outcome, Applied):
            return outcome
    gps, photos = _gps(item), list(item.record.photos)
    if data.outcome == "failed":
        try:
            code = FailureCode(data.code or "other")
        except ValueError:
            return Rejected("invalid_data", f"data/code: not a failure code: {data.code}")
        order = field.fail_work_order(
            ctx.session,
            actor=ctx.actor,
            work_order_id=state.id,
            failure=WorkOrderFailure(code=code, at=item.captured_at, note=data.notes, gps=gps),
        )
        return Applied(order.id, tuple(item.flags))
    order = field.complete_work_order(
        ctx.session,
        actor=ctx.actor,
        work_order_id=state.id,
        outcome=WorkOrderOutcome(
            completed_at=item.captured_at,
            indexes=_indexes(ctx, data.readings),  # type: ignore[arg-type]
            new_meter_id=data.new_meter_id,
            new_start_indexes=_indexes(ctx, data.new_start_readings),  # type: ignore[arg-type]
            finding=data.code,
            note=data.notes,
            photo_sha256=photos,
            gps=gps,
            paid=data.paid,
        ),
    )
    return Applied(order.id, tuple(item.flags))


pull.set_source(field_source)
