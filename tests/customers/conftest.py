"""Shared builders for customer-domain tests (each test runs in a rolled-back transaction)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.orm import Session

from core.context import Actor
from customers import service
from customers.models import Party, ServiceLocation, UsagePoint
from customers.schemas import (
    MoveInRequest,
    PartyCreate,
    ServiceLocationCreate,
    UsagePointCreate,
)

HEAD_OFFICE = Actor(
    user_id=None, username="test-desk", scopes=frozenset({"customers:read", "customers:write"})
)


@pytest.fixture()
def actor() -> Actor:
    return HEAD_OFFICE


def make_party(db: Session, actor: Actor = HEAD_OFFICE, **fields: Any) -> Party:
    data = {"kind": "person", **fields}
    party, _ = service.create_party(db, actor=actor, data=PartyCreate(**data))
    return party


def make_premises(
    db: Session,
    actor: Actor = HEAD_OFFICE,
    *,
    lon: float = 2.42,
    lat: float = 6.37,
    address: str = "Rue 12.345, Akpakpa",
    category: str = "residential",
    kva: str = "3.3",
) -> tuple[ServiceLocation, UsagePoint]:
    location = service.create_location(
        db,
        actor=actor,
        data=ServiceLocationCreate(
            address_line=address,
            city="Cotonou",
            location={"type": "Point", "coordinates": [lon, lat]},
        ),
    )
    usage_point = service.create_usage_point(
        db,
        actor=actor,
        data=UsagePointCreate(
            service_location_id=location.id, category=category, subscribed_power_kva=Decimal(kva)
        ),
    )
    return location, usage_point


def move_in(
    db: Session,
    party: Party,
    usage_point: UsagePoint,
    start: date,
    actor: Actor = HEAD_OFFICE,
    **extra: Any,
) -> Any:
    return service.move_in(
        db,
        actor=actor,
        data=MoveInRequest(
            usage_point_id=usage_point.id,
            holder_party_id=party.id,
            tariff_code="BT-DOM",
            start_date=start,
            **extra,
        ),
    )
