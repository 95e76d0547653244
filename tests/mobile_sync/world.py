"""A small field world for sync tests and the sync benchmark: an agency with a territory,
technicians, and usage points at known points with a meter each (installed, one register),
built through the customer and meter models and services, committed or not by the caller."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from geoalchemy2 import WKTElement
from sqlalchemy.orm import Session

from core.auth import service as auth_service
from core.auth.models import Agency
from customers.models import ServiceLocation, UsagePoint
from meters import service as meters_service
from meters.repository import registers_of
from meters.schemas import MeterCreate

PASSWORD = "correct-horse-battery"
INSTALLED_AT = datetime(2025, 1, 1, 8, tzinfo=UTC)
# Cotonou; 0.0001 deg of latitude is ~11 m.
ORIGIN = (2.40, 6.36)


@dataclass(frozen=True)
class Point:
    register_id: int
    meter_serial: str
    usage_point_id: int
    lon: float
    lat: float


@dataclass
class FieldWorld:
    agency_code: str
    technicians: list[str] = field(default_factory=list)  # usernames
    points: list[Point] = field(default_factory=list)


def build_world(
    session: Session, *, technicians: int, points: int, tag: str | None = None
) -> FieldWorld:
    """``technicians`` technicians of one agency and ``points`` metered usage points on a
    grid (about 11 m apart), inside the agency's territory."""
    tag = tag or uuid.uuid4().hex[:6].upper()
    lon0, lat0 = ORIGIN
    agency = Agency(
        code=f"SYNC-{tag}",
        name=f"Sync {tag}",
        territory=WKTElement(
            f"MULTIPOLYGON((({lon0 - 1} {lat0 - 1}, {lon0 + 1} {lat0 - 1}, {lon0 + 1} "
            f"{lat0 + 1}, {lon0 - 1} {lat0 + 1}, {lon0 - 1} {lat0 - 1})))",
            srid=4326,
        ),
    )
    session.add(agency)
    session.flush()
    world = FieldWorld(agency_code=agency.code)
    for n in range(technicians):
        username = f"tech-{tag.lower()}-{n}"
        auth_service.create_user(
            session,
            username=username,
            password=PASSWORD,
            roles=["technician"],
            agency_code=agency.code,
        )
        world.technicians.append(username)
    side = max(1, int(points**0.5))
    for n in range(points):
        lon, lat = lon0 + (n % side) * 0.0001, lat0 + (n // side) * 0.0001
        location = ServiceLocation(
            code=f"SL-{tag}-{n}",
            address_line=f"Rue {n}",
            geom=WKTElement(f"POINT({lon} {lat})", srid=4326),
        )
        session.add(location)
        session.flush()
        usage_point = UsagePoint(
            code=f"UP-{tag}-{n}",
            service_location_id=location.id,
            category="residential",
            subscribed_power_kva=3,
        )
        session.add(usage_point)
        session.flush()
        meter = meters_service.create_meter(
            session,
            data=MeterCreate(serial=f"SY{tag}{n:06d}", meter_type="postpaid", dial_digits=6),
        )
        meters_service.install_meter(
            session,
            meter_id=meter.id,
            usage_point_id=usage_point.id,
            installed_at=INSTALLED_AT,
            start_index="0",
        )
        world.points.append(
            Point(registers_of(session, meter.id)[0].id, meter.serial, usage_point.id, lon, lat)
        )
    return world
