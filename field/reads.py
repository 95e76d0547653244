"""Reads taken in the field (a round stop, a re-read, a final read, the index seen on a cut
or a meter change), stored through the meter domain's own pipeline so that they are
judged exactly like every other read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from core.context import Actor
from field.schemas import Gps
from meters import service as meters
from meters.enums import ReadingQuality, ReadingSource, ReasonCode, RegisterCode
from meters.schemas import ReadingCreate, ReadingOutcome

# Validation codes that say "this value is probably not what the dial shows": worth a
# second visit. (A read in the future or before installation is a device or data problem,
# not a reason to walk back.)
IMPLAUSIBLE = frozenset(
    {
        ReasonCode.NEGATIVE_ADVANCE,
        ReasonCode.OUT_OF_RANGE_HIGH,
        ReasonCode.OUT_OF_RANGE_LOW,
        ReasonCode.ZERO_CONSUMPTION,
        ReasonCode.VALUE_EXCEEDS_DIALS,
    }
)
_STATUS_RANK = {"accepted": 0, "flagged": 1, "rejected": 2, "superseded": 0}


@dataclass(frozen=True)
class FieldReads:
    """The reads stored for one visit and how validation judged them."""

    outcomes: list[ReadingOutcome]

    @property
    def ids(self) -> list[int]:
        return [o.id for o in self.outcomes]

    @property
    def worst_status(self) -> str:
        return max((o.status for o in self.outcomes), key=lambda s: _STATUS_RANK.get(s, 0))

    @property
    def implausible_codes(self) -> list[str]:
        codes = {c for o in self.outcomes if not o.duplicate for c in o.reason_codes}
        return sorted(c for c in codes if c in IMPLAUSIBLE)


def store_reads(
    session: Session,
    *,
    actor: Actor,
    meter_serial: str,
    values: Mapping[Any, Decimal],  # register code (RegisterCode or its text) -> index
    read_at: datetime,
    gps: Gps | None = None,
    photo_sha256: str | None = None,
    quality: ReadingQuality = ReadingQuality.ACTUAL,
) -> FieldReads:
    """One handheld read per register, through ``meters.service.record_reading``."""
    outcomes = [
        meters.record_reading(
            session,
            actor=actor,
            reading=ReadingCreate(
                meter_serial=meter_serial,
                register_code=RegisterCode(str(getattr(code, "value", code))),
                read_at=read_at,
                value=value,
                source=ReadingSource.HANDHELD,
                quality=quality,
                latitude=gps.lat if gps else None,
                longitude=gps.lon if gps else None,
                photo_sha256=photo_sha256,
            ),
        )
        for code, value in values.items()
    ]
    return FieldReads(outcomes)
