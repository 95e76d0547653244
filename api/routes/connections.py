"""Connection requests and power changes on the staff side: the price list (versions kept
as data), requests taken at the desk, the survey, quotes (re-priced with a surveyed
distance), acceptance, and the pipeline with each step's SLA clock."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import CurrentActor, DbSession
from api.params import Id
from api.schemas import PROBLEM_RESPONSES
from field.connections import service
from field.connections.models import ConnectionPriceList
from field.connections.schemas import (
    ConnectionRequestRead,
    DeskConnectionRequestIn,
    PriceListIn,
    PriceListRead,
    QuoteIn,
)

router = APIRouter(prefix="/api/v1", tags=["connections"], responses=PROBLEM_RESPONSES)


@router.get("/connection-price-lists", response_model=list[PriceListRead])
def price_lists(
    session: DbSession,
    actor: CurrentActor("tariffs:read"),  # type: ignore[valid-type]
) -> list[PriceListRead]:
    rows = session.query(ConnectionPriceList).order_by(ConnectionPriceList.version.desc())
    return [PriceListRead.model_validate(r) for r in rows]


@router.post("/connection-price-lists", response_model=PriceListRead, status_code=201)
def new_price_list(
    body: PriceListIn,
    session: DbSession,
    actor: CurrentActor("tariffs:write"),  # type: ignore[valid-type]
) -> PriceListRead:
    """A new version of the price list (a version is never edited: quotes name theirs)."""
    row = service.define_price_list(
        session,
        actor=actor,
        version=body.version,
        valid_from=body.valid_from,
        definition=body.definition,
        note=body.note,
    )
    return PriceListRead.model_validate(row)


@router.get("/connection-requests", response_model=list[ConnectionRequestRead])
def requests(
    session: DbSession,
    actor: CurrentActor("customers:read"),  # type: ignore[valid-type]
    status: str | None = None,
) -> list[ConnectionRequestRead]:
    return [service.read(session, r) for r in service.staff_requests(session, actor, status=status)]


@router.post("/connection-requests", response_model=ConnectionRequestRead, status_code=201)
def desk_request(
    body: DeskConnectionRequestIn,
    session: DbSession,
    actor: CurrentActor("customers:write"),  # type: ignore[valid-type]
) -> ConnectionRequestRead:
    return service.read(session, service.desk_request(session, actor=actor, data=body))


@router.get("/connection-requests/{request_id}", response_model=ConnectionRequestRead)
def one_request(
    request_id: Id,
    session: DbSession,
    actor: CurrentActor("customers:read"),  # type: ignore[valid-type]
) -> ConnectionRequestRead:
    return service.read(session, service.staff_request(session, actor, request_id))


@router.post("/connection-requests/{request_id}/survey", response_model=ConnectionRequestRead)
def order_survey(
    request_id: Id,
    session: DbSession,
    actor: CurrentActor("customers:write"),  # type: ignore[valid-type]
) -> ConnectionRequestRead:
    request = service.staff_request(session, actor, request_id)
    return service.read(session, service.order_survey(session, actor=actor, request_id=request.id))


@router.post("/connection-requests/{request_id}/quote", response_model=ConnectionRequestRead)
def quote(
    request_id: Id,
    body: QuoteIn,
    session: DbSession,
    actor: CurrentActor("customers:write"),  # type: ignore[valid-type]
) -> ConnectionRequestRead:
    """A new quote version: the surveyed distance when given, else measured on the map;
    the quote editor's changes (type, power, meter supplied, extra lines) re-priced from
    the price list in force."""
    request = service.staff_request(session, actor, request_id)
    service.issue_quote(
        session, actor=actor, request_id=request.id, options=service.options_from(body)
    )
    return service.read(session, request)


@router.post("/connection-requests/{request_id}/accept", response_model=ConnectionRequestRead)
def accept(
    request_id: Id,
    session: DbSession,
    actor: CurrentActor("customers:write"),  # type: ignore[valid-type]
) -> ConnectionRequestRead:
    """The customer accepted at the desk (signed quote)."""
    request = service.staff_request(session, actor, request_id)
    service.accept_quote(session, actor=actor, request_id=request.id)
    return service.read(session, request)
