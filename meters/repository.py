"""Queries of the meter domain, under the territory rule (``core.territory``).

Functions taking the acting principal return only what it may see (None or nothing
otherwise, which callers turn into a 404); the others serve checks made after the
subject was found visible.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from core.context import Actor
from core.pages import next_cursor, paginate
from core.territory import visible
from customers.models import UsagePoint
from meters.models import Meter, MeterInstallation, Reading, Register


def meter_by_serial(session: Session, serial: str) -> Meter | None:
    """Any meter with this serial, seen or not (serials are unique utility-wide)."""
    return session.scalars(select(Meter).where(Meter.serial == serial)).one_or_none()


def visible_meter(
    session: Session, actor: Actor, meter_id: int, *, for_update: bool = False
) -> Meter | None:
    query = select(Meter).where(Meter.id == meter_id, visible(actor, Meter))
    return session.scalars(query.with_for_update(of=Meter) if for_update else query).one_or_none()


def visible_meter_by_serial(session: Session, actor: Actor, serial: str) -> Meter | None:
    query = select(Meter).where(Meter.serial == serial, visible(actor, Meter))
    return session.scalars(query).one_or_none()


def visible_register(session: Session, actor: Actor, register_id: int) -> Register | None:
    query = select(Register).where(Register.id == register_id, visible(actor, Register))
    return session.scalars(query).one_or_none()


def usage_point_exists(session: Session, usage_point_id: int) -> bool:
    return session.get(UsagePoint, usage_point_id) is not None


def usage_point_visible(session: Session, actor: Actor, usage_point_id: int) -> bool:
    """Whether ``actor`` sees the usage point (always, when unrestricted and it exists)."""
    query = select(UsagePoint.id).where(UsagePoint.id == usage_point_id, visible(actor, UsagePoint))
    return session.scalar(query) is not None


def meters_page(
    session: Session,
    actor: Actor,
    *,
    status: str | None = None,
    serial_prefix: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[Meter], int]:
    """One page of the meters ``actor`` sees (by serial) and how many there are."""
    query = select(Meter).where(visible(actor, Meter))
    if status:
        query = query.where(Meter.status == status)
    if serial_prefix:
        query = query.where(Meter.serial.startswith(serial_prefix, autoescape=True))
    return paginate(session, query.order_by(Meter.serial), offset=offset, limit=limit)


def registers_of(session: Session, meter_id: int) -> list[Register]:
    return registers_of_meters(session, [meter_id]).get(meter_id, [])


def registers_of_meters(session: Session, meter_ids: list[int]) -> dict[int, list[Register]]:
    """The registers of several meters in one query (a page of meters)."""
    found: dict[int, list[Register]] = defaultdict(list)
    query = select(Register).where(Register.meter_id.in_(meter_ids)).order_by(Register.id)
    for register in session.scalars(query):
        found[register.meter_id].append(register)
    return found


def active_installation_of_meter(session: Session, meter_id: int) -> MeterInstallation | None:
    return session.scalars(
        select(MeterInstallation).where(
            MeterInstallation.meter_id == meter_id, MeterInstallation.removed_at.is_(None)
        )
    ).one_or_none()


def active_installation_at_usage_point(
    session: Session, usage_point_id: int, register_set: str = "main"
) -> MeterInstallation | None:
    return session.scalars(
        select(MeterInstallation).where(
            MeterInstallation.usage_point_id == usage_point_id,
            MeterInstallation.register_set == register_set,
            MeterInstallation.removed_at.is_(None),
        )
    ).one_or_none()


def _covering(at: datetime) -> list[object]:
    return [
        MeterInstallation.installed_at <= at,
        or_(MeterInstallation.removed_at.is_(None), MeterInstallation.removed_at > at),
    ]


def installation_covering(
    session: Session, meter_id: int, at: datetime
) -> MeterInstallation | None:
    """The installation of the meter at instant ``at`` (None while it was not fitted)."""
    query = select(MeterInstallation).where(MeterInstallation.meter_id == meter_id, *_covering(at))
    return session.scalars(query).one_or_none()


def installations_of_meter(
    session: Session, actor: Actor, meter_id: int
) -> list[MeterInstallation]:
    """Where the meter has been fitted, oldest first: the installations ``actor`` sees."""
    query = select(MeterInstallation).where(
        MeterInstallation.meter_id == meter_id, visible(actor, MeterInstallation)
    )
    return list(session.scalars(query.order_by(MeterInstallation.installed_at)))


def installations_of_usage_point(session: Session, usage_point_id: int) -> list[MeterInstallation]:
    return list(
        session.scalars(
            select(MeterInstallation)
            .where(MeterInstallation.usage_point_id == usage_point_id)
            .order_by(MeterInstallation.installed_at)
        )
    )


def meters_for_usage_point(
    session: Session, usage_point_id: int, *, at: datetime | None = None
) -> list[Meter]:
    """Meters installed at the usage point: at ``at`` when given, else ever (oldest first)."""
    query = (
        select(Meter)
        .join(MeterInstallation, MeterInstallation.meter_id == Meter.id)
        .where(MeterInstallation.usage_point_id == usage_point_id)
    )
    if at is not None:
        query = query.where(*_covering(at))
    return list(session.scalars(query.order_by(MeterInstallation.installed_at)).unique())


def _reading_feed(
    actor: Actor, *, meter_id: int | None, usage_point_id: int | None
) -> Select[tuple[Reading]]:
    """A meter's or a usage point's reads that ``actor`` sees. Both go through registers,
    so that the natural-key index (register, read_at, source) serves the query."""
    registers = select(Register.id)
    query = select(Reading).where(visible(actor, Reading))
    if meter_id is not None:
        registers = registers.where(Register.meter_id == meter_id)
        query = query.where(Reading.meter_id == meter_id)
    if usage_point_id is not None:
        registers = registers.join(
            MeterInstallation, MeterInstallation.meter_id == Register.meter_id
        ).where(MeterInstallation.usage_point_id == usage_point_id)
        query = query.where(Reading.usage_point_id == usage_point_id)
    return query.where(Reading.register_id.in_(registers))


class CursorUnknownError(LookupError):
    """The cursor names no read of this feed."""


def readings_page(
    session: Session,
    actor: Actor,
    *,
    meter_id: int | None = None,
    usage_point_id: int | None = None,
    after: int | None = None,
    limit: int = 100,
    since: datetime | None = None,
) -> tuple[list[Reading], int | None]:
    """Newest first, keyset-paginated on (read_at, id); the cursor is the id of the last
    read of the previous page, looked up in the same feed (unknown: CursorUnknownError).
    Returns the page and the cursor of the next one (None after a page that is not full).
    ``since``: only reads at or after it (a customer sees their own occupancy's reads)."""
    feed = _reading_feed(actor, meter_id=meter_id, usage_point_id=usage_point_id)
    if since is not None:
        feed = feed.where(Reading.read_at >= since)
    query = feed
    if after is not None:
        last = session.execute(
            feed.with_only_columns(Reading.read_at, Reading.id).where(Reading.id == after)
        ).first()
        if last is None:
            raise CursorUnknownError(after)
        query = query.where(
            or_(
                Reading.read_at < last.read_at,
                and_(Reading.read_at == last.read_at, Reading.id < last.id),
            )
        )
    rows = list(
        session.scalars(query.order_by(Reading.read_at.desc(), Reading.id.desc()).limit(limit))
    )
    return rows, next_cursor([r.id for r in rows], limit)
