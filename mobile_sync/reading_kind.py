"""The ``reading`` kind: an index read on a register, stored through meters' readings
service (the same validation as every other read). The field wins on observations: a read
is stored whatever the office changed since the device pulled, unless the round item it
answers no longer holds the register or is no longer the technician's (then the office
decides where it belongs: a conflict).

Reads naming a round item are field's (``set_round_reader``, wired by
``mobile_sync.field_kinds``); without it they are rejected (``round_items_unavailable``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.pages import BIGINT_MAX
from core.settings import get_settings
from meters.enums import ReadingSource
from meters.schemas import ReadingCreate, ReadingOutcome
from meters.service import record_readings
from mobile_sync import repository
from mobile_sync.enums import Flag, RecordKind
from mobile_sync.flags import place_flags, serial_flags
from mobile_sync.kinds import Applied, Item, Outcome, PushContext, Rejected, register
from mobile_sync.repository import RegisterPlace


class ReadingData(BaseModel):
    model_config = ConfigDict(extra="ignore")

    round_item_id: int | None = Field(None, ge=1, le=BIGINT_MAX)
    register_id: int = Field(ge=1, le=BIGINT_MAX)
    value: Decimal = Field(ge=0, lt=Decimal("1e13"), decimal_places=3)
    confirmed_implausible: bool = False


# (ctx, item, data, register, flags so far) -> the outcome of a read naming a round item;
# set by field's wiring (``mobile_sync.field_kinds``).
RoundReader = Callable[[PushContext, Item, ReadingData, RegisterPlace, list[str]], Outcome]
_round_reader: list[RoundReader] = []


def set_round_reader(reader: RoundReader) -> None:
    _round_reader[:] = [reader]


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
    wanted = []
    for i, d in data.items():
        gps = items[i].record.gps
        wanted.append((i, d.register_id, gps.lon if gps else None, gps.lat if gps else None))
    places = repository.register_places(
        ctx.session, ctx.actor, wanted, get_settings().projected_srid
    )
    to_store: list[tuple[int, ReadingCreate, list[str]]] = []
    for i, d in data.items():
        item = items[i]
        place = places.get(i)
        if place is None:  # unknown and outside the territory look the same
            outcomes[i] = Rejected("reference_unknown", f"no register {d.register_id}")
            continue
        flags = list(item.flags)
        flags += place_flags(item.record.gps, place.distance_m)
        flags += serial_flags(item.record.scanned_serial, place.meter_serial)
        if d.round_item_id is not None:
            if not _round_reader:
                outcomes[i] = Rejected(
                    "round_items_unavailable", "this server does not manage reading rounds"
                )
            else:
                outcomes[i] = _round_reader[0](ctx, item, d, place, flags)
            continue
        reading = reading_of(item, d, place)
        to_store.append((i, reading, flags))
    if to_store:
        stored = record_readings(ctx.session, readings=[r for _, r, _ in to_store], actor=ctx.actor)
        for (i, _reading, flags), outcome in zip(to_store, stored, strict=True):
            outcomes[i] = applied(outcome, flags)
    assert all(o is not None for o in outcomes)
    return [o for o in outcomes if o is not None]


def reading_of(item: Item, data: ReadingData, place: RegisterPlace) -> ReadingCreate:
    gps = item.record.gps
    return ReadingCreate(
        meter_serial=place.meter_serial,
        register_code=place.register_code,
        read_at=item.captured_at,
        value=data.value,
        source=ReadingSource.HANDHELD,
        latitude=gps.lat if gps else None,
        longitude=gps.lon if gps else None,
        photo_sha256=item.record.photos[0] if item.record.photos else None,
    )


def applied(outcome: ReadingOutcome, flags: list[str]) -> Applied:
    """The receipt of a stored read: its id, its validation status and codes."""
    flags = list(flags)
    if outcome.duplicate:
        flags.append(Flag.SAME_READING_STORED.value)
    if outcome.status == "flagged":
        flags.append(Flag.READING_FLAGGED.value)
    elif outcome.status == "rejected":
        flags.append(Flag.READING_REJECTED.value)
    codes = ",".join(outcome.reason_codes)
    return Applied(outcome.id, tuple(flags), outcome.status + (f": {codes}" if codes else ""))


def store_observation(
    ctx: PushContext, item: Item, data: ReadingData, place: RegisterPlace, flags: list[str]
) -> Applied:
    """Store one read on its register alone (no round item moves): the field's word on
    what the dial showed stands even where the office's plan changed."""
    [outcome] = record_readings(
        ctx.session, readings=[reading_of(item, data, place)], actor=ctx.actor
    )
    return applied(outcome, flags)
