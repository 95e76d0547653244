"""Premises (service locations) and their usage points. Functions flush, never commit."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from geoalchemy2 import WKTElement
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.context import Actor
from core.db import state_reason
from core.errors import DomainError, FieldError
from core.flush import UNIQUE_VIOLATION, flush_guarded, sqlstate_of
from core.territory import require_covered
from customers import repository
from customers.enums import ConnectionState
from customers.errors import (
    ReferenceUnknownError,
    ServiceLocationCodeExistsError,
    ServiceLocationNotFoundError,
    UsagePointExistsError,
    UsagePointNotFoundError,
)
from customers.models import ServiceLocation, UsagePoint
from customers.numbering import next_service_location_code, next_usage_point_code
from customers.schemas import (
    PointGeometry,
    ServiceLocationCreate,
    ServiceLocationRead,
    ServiceLocationUpdate,
    UsagePointCreate,
    UsagePointUpdate,
)
from gis.models import ServicePoint

SRID = 4326


def _point(geometry: PointGeometry) -> WKTElement:
    lon, lat = geometry.coordinates
    return WKTElement(f"POINT({lon!r} {lat!r})", srid=SRID)


def _require_service_point(session: Session, actor: Actor, service_point_id: int) -> None:
    """The network service point premises hang on: 422 when unknown, refused when it
    stands outside the caller's territory (premises there are not theirs to attach)."""
    geom = session.scalar(select(ServicePoint.geom).where(ServicePoint.id == service_point_id))
    if geom is None:
        raise ReferenceUnknownError(
            f"no network service point {service_point_id}",
            errors=[FieldError("service_point_id", "unknown service point", "reference_unknown")],
        )
    require_covered(session, actor, geom, f"service point {service_point_id}")


def _flush_unique(session: Session, row: object, error: type[DomainError], message: str) -> None:
    """A unique-key clash becomes a clean 409 with the domain's code."""
    flush_guarded(
        session,
        lambda exc, _constraint: error(message) if sqlstate_of(exc) == UNIQUE_VIOLATION else None,
        lambda: session.add(row),
    )


def create_location(
    session: Session, *, actor: Actor, data: ServiceLocationCreate
) -> ServiceLocation:
    """New premises at a point inside the caller's territory."""
    require_covered(session, actor, _point(data.location), "the premises")
    if data.service_point_id is not None:
        _require_service_point(session, actor, data.service_point_id)
    fields = data.model_dump(exclude={"location", "code"})
    location = ServiceLocation(
        code=data.code or next_service_location_code(session), geom=_point(data.location), **fields
    )
    _flush_unique(
        session, location, ServiceLocationCodeExistsError, f"premises code {location.code} is taken"
    )
    session.refresh(location)
    return location


def update_location(
    session: Session, *, actor: Actor, location_id: int, data: ServiceLocationUpdate
) -> ServiceLocation:
    """Change the premises; moving it (or re-attaching it) outside the caller's territory
    is refused."""
    location = repository.get_location(session, actor, location_id)
    state_reason(session, data.reason)
    changes = data.model_dump(exclude_unset=True, exclude={"reason", "location"})
    if changes.get("service_point_id") is not None:
        _require_service_point(session, actor, changes["service_point_id"])
    if data.location is not None:
        require_covered(session, actor, _point(data.location), "the premises")
    for field, value in changes.items():
        setattr(location, field, value)
    if data.location is not None:
        location.geom = _point(data.location)
    session.flush()
    session.refresh(location)
    return location


def location_read(session: Session, location: ServiceLocation) -> ServiceLocationRead:
    """The premises with its electrical address, joined live from the network."""
    return locations_read(session, [location])[0]


def locations_read(session: Session, locations: list[ServiceLocation]) -> list[ServiceLocationRead]:
    addresses = repository.electrical_addresses(session, [loc.id for loc in locations])
    reads = []
    for location in locations:
        address: dict[str, Any] = addresses.get(location.id, {})
        geojson = address.get("geojson")
        reads.append(
            ServiceLocationRead(
                id=location.id,
                code=location.code,
                address_line=location.address_line,
                unit=location.unit,
                district=location.district,
                city=location.city,
                region=location.region,
                postal_code=location.postal_code,
                country=location.country,
                landmark=location.landmark,
                location=json.loads(geojson) if geojson else None,
                service_point_id=location.service_point_id,
                service_point_code=address.get("service_point_code"),
                feeder_id=address.get("feeder_id"),
                feeder_code=address.get("feeder_code"),
                transformer_id=address.get("transformer_id"),
                transformer_code=address.get("transformer_code"),
                created_at=location.created_at,
                updated_at=location.updated_at,
            )
        )
    return reads


def create_usage_point(session: Session, *, actor: Actor, data: UsagePointCreate) -> UsagePoint:
    try:
        repository.get_location(session, actor, data.service_location_id)
    except ServiceLocationNotFoundError as exc:
        raise ReferenceUnknownError(
            f"no premises {data.service_location_id}",
            errors=[FieldError("service_location_id", "unknown premises", "reference_unknown")],
        ) from exc
    usage_point = UsagePoint(
        code=data.code or next_usage_point_code(session),
        service_location_id=data.service_location_id,
        commodity=data.commodity.value,
        category=data.category.value,
        subscribed_power_kva=data.subscribed_power_kva,
        phases=data.phases,
        connection_state=data.connection_state.value,
    )
    _flush_unique(
        session,
        usage_point,
        UsagePointExistsError,
        "the premises already has a usage point for this commodity, or the code is taken",
    )
    session.refresh(usage_point)
    return usage_point


def update_usage_point(
    session: Session, *, actor: Actor, usage_point_id: int, data: UsagePointUpdate
) -> UsagePoint:
    usage_point = repository.get_usage_point(session, actor, usage_point_id, lock=True)
    state_reason(session, data.reason)
    if data.category is not None:
        usage_point.category = data.category.value
    if data.phases is not None:
        usage_point.phases = data.phases
    if data.connection_state is not None and data.connection_state != usage_point.connection_state:
        usage_point.connection_state = data.connection_state.value
        usage_point.connection_state_at = datetime.now(UTC)
    session.flush()
    session.refresh(usage_point)
    return usage_point


def set_connection_state(
    session: Session, *, usage_point_id: int, state: ConnectionState, at: datetime | None = None
) -> UsagePoint:
    """For field work (cut, reduce, restore): record the usage point's new connection state."""
    usage_point = session.scalar(
        select(UsagePoint).where(UsagePoint.id == usage_point_id).with_for_update()
    )
    if usage_point is None:
        raise UsagePointNotFoundError(f"no usage point {usage_point_id}")
    if usage_point.connection_state != state.value:
        usage_point.connection_state = state.value
        usage_point.connection_state_at = at or datetime.now(UTC)
        session.flush()
    return usage_point
