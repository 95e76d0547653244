"""Field test builders: premises with a point (through the customer services), meters
fitted with history (through the meter services), technicians (users made technicians)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.orm import Session

from core.auth import service as auth
from core.context import Actor
from customers import service as customers
from customers.models import UsagePoint
from customers.schemas import ServiceLocationCreate, UsagePointCreate
from field import service
from field.models import Technician
from field.schemas import TechnicianCreate
from meters import service as meters
from meters.enums import ReadingSource
from meters.models import Meter
from meters.schemas import MeterCreate, ReadingCreate

OFFICE = Actor(
    user_id=None,
    username="test-office",
    scopes=frozenset(
        {"field:read", "field:write", "field:execute", "customers:write", "meters:write"}
    ),
)
INSTALLED = datetime(2025, 1, 1, 11, tzinfo=UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@dataclass
class Stop:
    usage_point: UsagePoint
    meter: Meter


@pytest.fixture()
def office() -> Actor:
    return OFFICE


@pytest.fixture()
def make_stop(db: Session) -> Callable[..., Stop]:
    """A usage point at (lon, lat) with a fitted meter (start index 1000 on 2025-01-01)
    and optional reads [(datetime, value)]."""

    def factory(
        lon: float,
        lat: float,
        *,
        reads: list[tuple[datetime, int]] = (),  # type: ignore[assignment]
        service_point_id: int | None = None,
        landmark: str | None = None,
        code: str | None = None,
    ) -> Stop:
        location = customers.create_location(
            db,
            actor=OFFICE,
            data=ServiceLocationCreate(
                address_line="Rue 1",
                city="Cotonou",
                landmark=landmark,
                service_point_id=service_point_id,
                location={"type": "Point", "coordinates": [lon, lat]},
            ),
        )
        point = customers.create_usage_point(
            db,
            actor=OFFICE,
            data=UsagePointCreate(
                service_location_id=location.id,
                category="residential",
                subscribed_power_kva=Decimal("3"),
            ),
        )
        if code is not None:
            point.code = code
        meter = meters.create_meter(
            db,
            data=MeterCreate(
                serial=f"FM{uuid.uuid4().hex[:10].upper()}", meter_type="postpaid", dial_digits=5
            ),
        )
        meters.install_meter(
            db, meter_id=meter.id, usage_point_id=point.id, installed_at=INSTALLED, start_index=1000
        )
        for at, value in reads:
            meters.record_reading(
                db,
                actor=OFFICE,
                reading=ReadingCreate(
                    meter_serial=meter.serial,
                    read_at=at,
                    value=Decimal(value),
                    source=ReadingSource.HANDHELD,
                ),
            )
        db.flush()
        return Stop(point, meter)

    return factory


@pytest.fixture()
def make_technician(db: Session) -> Callable[..., tuple[Technician, Actor]]:
    """A user made a technician, and the principal they act as on the handheld."""

    def factory(skills: list[str] | None = None, **extra: Any) -> tuple[Technician, Actor]:
        name = f"t_{uuid.uuid4().hex[:8]}"
        user = auth.create_user(db, username=name, password="x" * 12, roles=["technician"])
        technician = service.create_technician(
            db,
            actor=OFFICE,
            data=TechnicianCreate(
                user_id=user.id,
                code=name.upper(),
                skills=skills or ["reading", "installation", "disconnection", "sealing"],
                **extra,
            ),
        )
        actor = Actor(
            user_id=user.id,
            username=name,
            scopes=frozenset({"field:read", "field:execute", "meters:read"}),
        )
        return technician, actor

    return factory
