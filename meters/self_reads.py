"""Customers' own reads of their meters (the self-care portal): what each of their meters
should show now, a read they type in (with an optional photo), and their reading history.

A self-read goes through ``meters.readings.service.record_readings``, the pipeline every
handheld read and every imported file goes through, so the readings rules judge it
exactly as they judge the rest; nothing here repeats a rule. What is the portal's own is
what it does with the judge's verdict: a rejected read, or one the rules flag and the
customer has not confirmed, is refused with the reason codes (the caller's transaction is
rolled back, so nothing of it stays); a confirmed flagged read is kept for the office to
look at, as a handheld's confirmed out-of-range read is.

Which usage points are the customer's, and since when, is decided by the caller
(``customers.portal``: ``{usage point id: start of the customer's contract}``); a meter
not fitted at one of them now is not found (its existence is not told), and the history
shows only reads taken at the customer's usage point since their contract began (never a
previous occupant's).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from core.context import SYSTEM, Actor
from core.errors import FieldError
from meters import repository
from meters.enums import ReadingSource, ReadingStatus, RegisterCode
from meters.errors import MeterNotFoundError, ReadingImplausibleError, RegisterNotFoundError
from meters.models import Reading
from meters.readings.expected import ExpectedRead, expected_reads
from meters.readings.service import record_readings
from meters.schemas import ReadingCreate, ReadingOutcome

# A self-read history long enough for years of monthly reads, short enough for a phone.
HISTORY = 120


@dataclass(frozen=True)
class CustomerMeter:
    """One of the customer's meters as fitted now, and what each register should show."""

    usage_point_id: int
    expected: ExpectedRead


def customer_meters(
    session: Session, usage_points: Mapping[int, datetime], at: datetime | None = None
) -> list[CustomerMeter]:
    """The main meter fitted now at each of the customer's usage points (those without
    one are left out), with the range the readings rules accept unflagged per register."""
    found = expected_reads(session, usage_point_ids=list(usage_points), at=at or _now())
    return [CustomerMeter(up, found[up]) for up in usage_points if up in found]


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _fitted(
    session: Session, usage_points: Mapping[int, datetime], meter_id: int
) -> tuple[str, int]:
    """The serial of ``meter_id`` and its usage point, when it is fitted now at one of
    the customer's."""
    installation = repository.active_installation_of_meter(session, meter_id)
    if installation is None or installation.usage_point_id not in usage_points:
        raise MeterNotFoundError(f"no meter {meter_id} among yours")
    meter = repository.visible_meter(session, SYSTEM, meter_id)
    assert meter is not None  # it is installed
    return meter.serial, installation.usage_point_id


def submit(
    session: Session,
    *,
    actor: Actor,
    usage_points: Mapping[int, datetime],
    meter_id: int,
    register_code: RegisterCode,
    value: Decimal,
    read_at: datetime | None = None,
    photo_sha256: str | None = None,
    confirmed: bool = False,
) -> ReadingOutcome:
    """Record the customer's read of one register (source ``self_read``) as the readings
    rules judge it; refuse it (``ReadingImplausibleError``) when they reject it, or flag
    it and the customer has not ``confirmed`` the value."""
    serial, usage_point_id = _fitted(session, usage_points, meter_id)
    if register_code.value not in {r.code for r in repository.registers_of(session, meter_id)}:
        raise RegisterNotFoundError(
            f"meter {serial} has no {register_code.value} register",
            errors=[FieldError("register_code", "not a register of this meter", "not_found")],
        )
    at = read_at or _now()
    expected = expected_reads(session, usage_point_ids=[usage_point_id], at=at)
    [outcome] = record_readings(
        session,
        readings=[
            ReadingCreate(
                meter_serial=serial,
                register_code=register_code,
                read_at=at,
                value=value,
                source=ReadingSource.SELF_READ,
                photo_sha256=photo_sha256,
            )
        ],
        actor=actor,
    )
    refused = outcome.status == ReadingStatus.REJECTED or (
        outcome.status == ReadingStatus.FLAGGED and not confirmed and not outcome.duplicate
    )
    if refused:
        raise ReadingImplausibleError(
            _explain(outcome, value),
            errors=[FieldError("value", code, code) for code in outcome.reason_codes],
            extra={
                "reason_codes": list(outcome.reason_codes),
                "can_confirm": outcome.status == ReadingStatus.FLAGGED,
                "expected": _range(expected, meter_id, register_code.value),
            },
        )
    return outcome


def _explain(outcome: ReadingOutcome, value: Decimal) -> str:
    if outcome.status == ReadingStatus.REJECTED:
        return f"{value} cannot be right for this meter ({', '.join(outcome.reason_codes)})"
    return (
        f"{value} is far from what this meter usually shows "
        f"({', '.join(outcome.reason_codes)}): check it, then confirm it if it is right"
    )


def _range(
    expected: dict[int, ExpectedRead], meter_id: int, code: str
) -> dict[str, str | None] | None:
    for read in expected.values():
        if read.meter_id == meter_id and code in read.registers:
            return read.registers[code].as_json()
    return None


def history(session: Session, usage_points: Mapping[int, datetime], meter_id: int) -> list[Reading]:
    """The reads of one of the customer's meters at their usage point since their
    contract began, newest first: every source (the reader's, the estimates, their own)
    and every verdict, so a flagged self-read shows as waiting for the office."""
    _serial, usage_point_id = _fitted(session, usage_points, meter_id)
    reads, _next = repository.readings_page(
        session,
        SYSTEM,
        meter_id=meter_id,
        usage_point_id=usage_point_id,
        limit=HISTORY,
        since=usage_points[usage_point_id],
    )
    return reads


def register_codes(session: Session, meter_id: int) -> dict[int, str]:
    """{register id: code} of a meter, to name the register of each read shown."""
    return {r.id: r.code for r in repository.registers_of(session, meter_id)}
