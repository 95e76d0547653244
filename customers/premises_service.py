"""Premises (service locations) and their usage points. Functions flush, never commit."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from geoalchemy2 import WKTElement
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.context import Actor
from core.errors import FieldError
from customers import repository
from customers.enums import ConnectionState
from customers.errors import (
    ReferenceUnknownError,
    ServiceLocationCodeExistsError,
    UsagePointExistsError,
)
from customers.flushing import flush_guarded
from customers.models import ServiceLocation, UsagePoint
from customers.numbering import next_service_location_code, next_usage_point_code
from customers.party_service import set_audit_reason
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


def _require_service_point(session: Session, service_point_id: int) -> None:
    if session.get(ServicePoint, service_point_id) is None:
        raise ReferenceUnknownError(
            f"no network service point {service_point_id}",
            errors=[FieldError("service_point_id", "unknown service point", "reference_unknown")],
        )


def _flush_unique(session: Session, row: object, error: type[Exception], message: str) -> None:
    """A unique-key clash becomes a clean 409."""

    def translate(exc: IntegrityError, _constraint: str | None) -> Exception | None:
        return error(message) if getattr(exc.orig, "sqlstate", None) == "23505" else None

    flush_guarded(session, translate, lambda: session.add(row))


def create_location(
    session: Session, *, actor: Actor, data: ServiceLocationCreate
) -> ServiceLocation:
    if data.service_point_id is not None:
        _require_service_point(session, data.service_point_id)
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
    location = repository.get_location(session, actor, location_id)
    set_audit_reason(session, actor, data.reason)
    changes = data.model_dump(exclude_unset=True, exclude={"reason", "location"})
    if changes.get("service_point_id") is not None:
        _require_service_point(session, changes["service_point_id"])
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
    except Exception as exc:
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
    set_audit_reason(session, actor, data.reason)
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
        from customers.errors import UsagePointNotFoundError

        raise UsagePointNotFoundError(f"no usage point {usage_point_id}")
    if usage_point.connection_state != state.value:
        usage_point.connection_state = state.value
        usage_point.connection_state_at = at or datetime.now(UTC)
        session.flush()
    return usage_point
