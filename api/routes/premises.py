"""Premises (service locations) with their inherited electrical address, occupants over
time, and the usage points billed there."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import CurrentActor, DbSession
from api.params import Id, Limit, Offset, OptionalId
from api.schemas import PROBLEM_RESPONSES
from core.pages import Page, paginate
from customers import repository, service
from customers.schemas import (
    Occupant,
    ServiceLocationCreate,
    ServiceLocationRead,
    ServiceLocationUpdate,
    UsagePointCreate,
    UsagePointRead,
    UsagePointUpdate,
)

router = APIRouter(prefix="/api/v1", tags=["premises"], responses=PROBLEM_RESPONSES)


@router.post("/premises", response_model=ServiceLocationRead, status_code=201)
def create_premises(
    body: ServiceLocationCreate,
    session: DbSession,
    actor: CurrentActor("customers:write"),  # type: ignore[valid-type]
) -> ServiceLocationRead:
    location = service.create_location(session, actor=actor, data=body)
    return service.location_read(session, location)


@router.get("/premises", response_model=Page[ServiceLocationRead])
def list_premises(
    session: DbSession,
    actor: CurrentActor("customers:read"),  # type: ignore[valid-type]
    offset: Offset = 0,
    limit: Limit = 50,
) -> Page[ServiceLocationRead]:
    rows, total = paginate(session, repository.locations_query(actor), offset=offset, limit=limit)
    return Page(
        items=service.locations_read(session, rows), total=total, offset=offset, limit=limit
    )


@router.get("/premises/{location_id}", response_model=ServiceLocationRead)
def read_premises(
    location_id: Id,
    session: DbSession,
    actor: CurrentActor("customers:read"),  # type: ignore[valid-type]
) -> ServiceLocationRead:
    """The premises with its feeder and transformer, read live from its service point."""
    return service.location_read(session, repository.get_location(session, actor, location_id))


@router.patch("/premises/{location_id}", response_model=ServiceLocationRead)
def update_premises(
    location_id: Id,
    body: ServiceLocationUpdate,
    session: DbSession,
    actor: CurrentActor("customers:write"),  # type: ignore[valid-type]
) -> ServiceLocationRead:
    location = service.update_location(session, actor=actor, location_id=location_id, data=body)
    return service.location_read(session, location)


@router.get("/premises/{location_id}/occupants", response_model=list[Occupant])
def premises_occupants(
    location_id: Id,
    session: DbSession,
    actor: CurrentActor("customers:read"),  # type: ignore[valid-type]
) -> list[Occupant]:
    """Everyone who held a role (holder, payer, owner, tenant) there, newest first."""
    return [Occupant(**row) for row in repository.occupants(session, actor, location_id)]


@router.post("/usage-points", response_model=UsagePointRead, status_code=201)
def create_usage_point(
    body: UsagePointCreate,
    session: DbSession,
    actor: CurrentActor("customers:write"),  # type: ignore[valid-type]
) -> UsagePointRead:
    return UsagePointRead.model_validate(
        service.create_usage_point(session, actor=actor, data=body)
    )


@router.get("/usage-points", response_model=Page[UsagePointRead])
def list_usage_points(
    session: DbSession,
    actor: CurrentActor("customers:read"),  # type: ignore[valid-type]
    service_location_id: OptionalId = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> Page[UsagePointRead]:
    query = repository.usage_points_query(actor, service_location_id=service_location_id)
    rows, total = paginate(session, query, offset=offset, limit=limit)
    return Page(
        items=[UsagePointRead.model_validate(r) for r in rows],
        total=total,
        offset=offset,
        limit=limit,
    )


@router.get("/usage-points/{usage_point_id}", response_model=UsagePointRead)
def read_usage_point(
    usage_point_id: Id,
    session: DbSession,
    actor: CurrentActor("customers:read"),  # type: ignore[valid-type]
) -> UsagePointRead:
    return UsagePointRead.model_validate(repository.get_usage_point(session, actor, usage_point_id))


@router.patch("/usage-points/{usage_point_id}", response_model=UsagePointRead)
def update_usage_point(
    usage_point_id: Id,
    body: UsagePointUpdate,
    session: DbSession,
    actor: CurrentActor("customers:write"),  # type: ignore[valid-type]
) -> UsagePointRead:
    """Category, phases or connection state. Subscribed power changes go through the
    contract (POST /contracts/{id}/change-power) so they are in its history."""
    return UsagePointRead.model_validate(
        service.update_usage_point(session, actor=actor, usage_point_id=usage_point_id, data=body)
    )
