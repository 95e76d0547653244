"""A small field world for sync tests, the fault matrix and the sync benchmark: an agency
with a territory, technicians (field technicians too, when rounds are asked for), and usage
points at known points with a meter each (installed, one register), each technician's in
a block of its own; optionally one reading round per technician over its block, assigned
to them. Built through the customer, meter and field models and services; the caller
commits (or not)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from geoalchemy2 import WKTElement
from sqlalchemy.orm import Session

from core.auth import service as auth_service
from core.auth.models import Agency, User
from core.context import Actor
from customers.models import ServiceLocation, UsagePoint
from field import service as field_service
from field.schemas import RoundBuild, TechnicianCreate
from meters import service as meters_service
from meters.repository import registers_of
from meters.schemas import MeterCreate

PASSWORD = "correct-horse-battery"
INSTALLED_AT = datetime(2025, 1, 1, 8, tzinfo=UTC)
# Cotonou; 0.0001 deg of latitude is ~11 m. Technician k's block starts k x 0.01 deg east.
ORIGIN = (2.40, 6.36)
BLOCK = 0.01
OFFICE = Actor(
    user_id=None,
    username="sync-test-office",
    scopes=frozenset({"field:read", "field:write", "meters:write", "customers:write"}),
)


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
    # Per technician (username): their points (registers), and their round's id.
    points_of: dict[str, list[Point]] = field(default_factory=dict)
    round_of: dict[str, int] = field(default_factory=dict)
    technician_id: dict[str, int] = field(default_factory=dict)  # field technician ids
    user_id: dict[str, int] = field(default_factory=dict)


def _square(lon: float, lat: float, size: float) -> dict[str, object]:
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def build_world(
    session: Session,
    *,
    technicians: int,
    points: int,
    tag: str | None = None,
    rounds: bool = False,
    origin: tuple[float, float] = ORIGIN,
) -> FieldWorld:
    """``technicians`` technicians of one agency and ``points`` metered usage points per
    technician on a grid (about 11 m apart) in the technician's block."""
    tag = tag or uuid.uuid4().hex[:6].upper()
    lon0, lat0 = origin
    agency = Agency(
        code=f"SYNC-{tag}",
        name=f"Sync {tag}",
        territory=WKTElement(
            f"MULTIPOLYGON((({lon0 - 1} {lat0 - 1}, {lon0 + 5} {lat0 - 1}, {lon0 + 5} "
            f"{lat0 + 1}, {lon0 - 1} {lat0 + 1}, {lon0 - 1} {lat0 - 1})))",
            srid=4326,
        ),
    )
    session.add(agency)
    session.flush()
    world = FieldWorld(agency_code=agency.code)
    side = max(1, int(points**0.5))
    password_hash: str | None = None
    for k in range(technicians):
        username = f"tech-{tag.lower()}-{k}"
        if password_hash is None:
            user = auth_service.create_user(
                session,
                username=username,
                password=PASSWORD,
                roles=["technician"],
                agency_code=agency.code,
            )
            password_hash = user.password_hash
        else:  # the same password: hashed once (Argon2 takes half a second a hash)
            user = User(
                username=username,
                password_hash=password_hash,
                roles=["technician"],
                agency_id=agency.id,
            )
            session.add(user)
            session.flush()
        world.user_id[username] = user.id
        world.technicians.append(username)
        technician = None
        if rounds:
            technician = field_service.create_technician(
                session,
                actor=OFFICE,
                data=TechnicianCreate(user_id=user.id, code=f"T-{tag}-{k}", skills=["reading"]),
            )
            world.technician_id[username] = technician.id
        mine = world.points_of.setdefault(username, [])
        block_lon = lon0 + k * BLOCK
        for n in range(points):
            lon, lat = block_lon + (n % side) * 0.0001, lat0 + (n // side) * 0.0001
            mine.append(_metered_point(session, f"{tag}-{k}-{n}", lon, lat))
        world.points.extend(mine)
        if technician is not None:
            built = field_service.build_round(
                session,
                actor=OFFICE,
                data=RoundBuild(
                    period_start=datetime.now(UTC).date().replace(day=1),
                    by="polygon",
                    polygon=_square(block_lon - 0.00005, lat0 - 0.00005, BLOCK * 0.9),
                    technician_id=technician.id,
                    planned_date=datetime.now(UTC).date(),
                ),
            )
            world.round_of[username] = built.id
    return world


def _metered_point(session: Session, code: str, lon: float, lat: float) -> Point:
    location = ServiceLocation(
        code=f"SL-{code}",
        address_line=f"Rue {code}",
        geom=WKTElement(f"POINT({lon} {lat})", srid=4326),
    )
    session.add(location)
    session.flush()
    usage_point = UsagePoint(
        code=f"UP-{code}",
        service_location_id=location.id,
        category="residential",
        subscribed_power_kva=3,
    )
    session.add(usage_point)
    session.flush()
    meter = meters_service.create_meter(
        session,
        data=MeterCreate(serial=f"SY{code.replace('-', '')}", meter_type="postpaid", dial_digits=6),
    )
    meters_service.install_meter(
        session,
        meter_id=meter.id,
        usage_point_id=usage_point.id,
        installed_at=INSTALLED_AT,
        start_index="0",
    )
    register_id = registers_of(session, meter.id)[0].id
    return Point(register_id, meter.serial, usage_point.id, lon, lat)
