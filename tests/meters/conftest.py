"""Meter test helpers: usage points (created directly, the customer services are not
under test here), meters and installations."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session

from customers.models import ServiceLocation, UsagePoint
from meters import service
from meters.models import Meter
from meters.schemas import MeterCreate


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture()
def make_usage_point(db: Session) -> Callable[..., UsagePoint]:
    def factory(category: str = "residential") -> UsagePoint:
        code = uuid.uuid4().hex[:10]
        location = ServiceLocation(code=f"SL-{code}", address_line="Rue 1")
        db.add(location)
        db.flush()
        point = UsagePoint(
            code=f"UP-{code}",
            service_location_id=location.id,
            category=category,
            subscribed_power_kva=3,
        )
        db.add(point)
        db.flush()
        return point

    return factory


@pytest.fixture()
def make_meter(db: Session) -> Callable[..., Meter]:
    def factory(
        digits: int = 5,
        multiplier: int = 1,
        registers: list[str] | None = None,
        serial: str | None = None,
    ) -> Meter:
        return service.create_meter(
            db,
            data=MeterCreate(
                serial=serial or f"M{uuid.uuid4().hex[:10].upper()}",
                meter_type="postpaid",
                dial_digits=digits,
                multiplier=multiplier,
                registers=registers or ["total"],
            ),
        )

    return factory
