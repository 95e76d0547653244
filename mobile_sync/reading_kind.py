"""The ``reading`` kind: an index read on a register, stored through meters' readings
service (the same validation as every other read). The field wins on observations: a read
is stored whatever the office changed since the device pulled, unless the round item it
answers no longer holds the register or is no longer the technician's (then the office
decides where it belongs: a conflict).

Round items are field's: a guard from field (``set_round_item_guard``) checks a read's item;
without one, a read naming a round item is rejected (``round_items_unavailable``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.pages import BIGINT_MAX
from meters.enums import ReadingSource
from meters.schemas import ReadingCreate
from meters.service import record_readings
from mobile_sync import repository
from mobile_sync.enums import Flag, RecordKind
from mobile_sync.flags import place_flags, serial_flags
from mobile_sync.kinds import Applied, Conflict, Item, Outcome, PushContext, Rejected, register


class ReadingData(BaseModel):
    model_config = ConfigDict(extra="ignore")

    round_item_id: int | None = Field(None, ge=1, le=BIGINT_MAX)
    register_id: int = Field(ge=1, le=BIGINT_MAX)
    value: Decimal = Field(ge=0, lt=Decimal("1e13"), decimal_places=3)
    confirmed_implausible: bool = False


@dataclass(frozen=True)
class RoundItemCheck:
    """What field says about a read's round item."""

    outcome: Conflict | Rejected | None  # None: the read may be stored
    version: int | None = None


# (ctx, round_item_id, register_id, base_version) -> the check; set by field's wiring.
RoundItemGuard = Callable[[PushContext, int, int, int | None], RoundItemCheck]
_guard: list[RoundItemGuard] = []


def set_round_item_guard(guard: RoundItemGuard) -> None:
    _guard[:] = [guard]


def invalid(error: ValidationError) -> Rejected:
    first = error.errors()[0]
    where = "/".join(str(p) for p in first.get("loc", ()))
    return Rejected("invalid_data", f"data/{where}: {first.get('msg', 'invalid')}")


@register(RecordKind.READING)
def apply_readings(ctx: PushContext, items: Sequence[Item]) -> list[Outcome]:
    """Store the reads of ``items`` in one pass of meters' pipeline; each answer in order."""
    outcomes: list[Outcome | None] = [None] * len(items)
    data: dict[int, ReadingData] = {}
    for i, item in enumerate(items):
        try:
            data[i] = ReadingData.model_validate(item.record.data)
        except ValidationError as exc:
            outcomes[i] = invalid(exc)
    places = repository.register_places(
        ctx.session, ctx.actor, (d.register_id for d in data.values())
    )
    to_store: list[tuple[int, ReadingCreate, list[str]]] = []
    for i, d in data.items():
        item = items[i]
        place = places.get(d.register_id)
        if place is None:  # unknown and outside the territory look the same
            outcomes[i] = Rejected("reference_unknown", f"no register {d.register_id}")
            continue
        flags = list(item.flags)
        if d.round_item_id is not None:
            check = _check_round_item(ctx, d, item)
            if check.outcome is not None:
                outcomes[i] = check.outcome
                continue
            base = item.record.base_version
            if base is not None and check.version is not None and check.version != base:
                flags.append(Flag.STALE_BASE_VERSION.value)
        meter_at = (place.lon, place.lat) if place.lon is not None else None
        flags += place_flags(item.record.gps, meter_at)
        flags += serial_flags(item.record.scanned_serial, place.meter_serial)
        gps = item.record.gps
        reading = ReadingCreate(
            meter_serial=place.meter_serial,
            register_code=place.register_code,
            read_at=item.captured_at,
            value=d.value,
            source=ReadingSource.HANDHELD,
            latitude=gps.lat if gps else None,
            longitude=gps.lon if gps else None,
            photo_sha256=item.record.photos[0] if item.record.photos else None,
        )
        to_store.append((i, reading, flags))
    if to_store:
        stored = record_readings(ctx.session, readings=[r for _, r, _ in to_store], actor=ctx.actor)
        for (i, _reading, flags), outcome in zip(to_store, stored, strict=True):
            if outcome.duplicate:
                flags.append(Flag.SAME_READING_STORED.value)
            if outcome.status == "flagged":
                flags.append(Flag.READING_FLAGGED.value)
            elif outcome.status == "rejected":
                flags.append(Flag.READING_REJECTED.value)
            codes = ",".join(outcome.reason_codes)
            outcomes[i] = Applied(
                outcome.id, tuple(flags), f"{outcome.status}" + (f": {codes}" if codes else "")
            )
    assert all(o is not None for o in outcomes)
    return [o for o in outcomes if o is not None]


def _check_round_item(ctx: PushContext, data: ReadingData, item: Item) -> RoundItemCheck:
    if not _guard:
        return RoundItemCheck(
            Rejected("round_items_unavailable", "this server does not manage reading rounds")
        )
    assert data.round_item_id is not None
    check = _guard[0](ctx, data.round_item_id, data.register_id, item.record.base_version)
    if ctx.force and isinstance(check.outcome, Conflict):
        return RoundItemCheck(None, check.version)  # the office applies it anyway
    return check
