"""The 360° views: everything known about a customer or a premises in one answer. Also
teaches customer search to find a customer from a meter serial."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from sqlalchemy import Select, case, literal, select

from api.customer360.queries import customer_360, premises_360
from api.customer360.schemas import Customer360, Premises360
from api.deps import CurrentActor, DbSession
from api.schemas import PROBLEM_RESPONSES, Problem
from customers.models import Contract, ContractRoleAssignment
from customers.schemas import MAX_ID
from customers.search import register_search_source
from meters.models import Meter, MeterInstallation

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "content": {"application/problem+json": {}}}
}
router = APIRouter(
    prefix="/api/v1", tags=["customer 360"], responses={**PROBLEM_RESPONSES, **NOT_FOUND}
)


def parties_by_meter_serial(query: str) -> Select[Any] | None:
    """Search source: the parties with a role on a contract at a usage point where the meter
    with this serial is (or was) installed; the current occupants rank first."""
    serial = query.strip()
    if len(serial) < 4 or " " in serial:
        return None
    points = (
        select(MeterInstallation.usage_point_id)
        .join(Meter, Meter.id == MeterInstallation.meter_id)
        .where(Meter.serial.in_({serial, serial.upper()}))
    )
    score = case((Contract.status == "active", 1.0), else_=0.8)
    return (
        select(
            ContractRoleAssignment.party_id.label("party_id"),
            score.label("score"),
            literal("meter_serial").label("matched_on"),
        )
        .join(Contract, Contract.id == ContractRoleAssignment.contract_id)
        .where(Contract.usage_point_id.in_(points))
    )


# GET /api/v1/customers/search?q=<serial> now finds the customer behind a meter.
register_search_source("meter_serial", parties_by_meter_serial)


@router.get("/customers/{party_id}/360", response_model=Customer360)
def customer_file(
    party_id: Annotated[int, Path(ge=1, le=MAX_ID, description="The customer's id")],
    session: DbSession,
    actor: CurrentActor("customers:read"),  # type: ignore[valid-type]
) -> Customer360:
    """The customer's file: party with phones and papers, accounts, contracts with roles and
    history, usage points with connection state and electrical address, meters and
    installations, the last 24 months of readings (status and reason codes), monthly
    consumption derived from the indexes, cases and interactions. 404 outside the caller's
    territory."""
    return customer_360(session, actor, party_id)


@router.get("/premises/{location_id}/360", response_model=Premises360)
def premises_file(
    location_id: Annotated[int, Path(ge=1, le=MAX_ID, description="The premises' id")],
    session: DbSession,
    actor: CurrentActor("customers:read"),  # type: ignore[valid-type]
) -> Premises360:
    """The premises' file: address and electrical address, usage points with meters,
    readings and consumption, every contract with its parties (occupants over time), cases
    and their interactions. 404 outside the caller's territory."""
    return premises_360(session, actor, location_id)
