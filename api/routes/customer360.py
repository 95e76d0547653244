"""The 360° views: everything known about a customer or a premises in one answer,
gathered from each domain's sections (``customers.customer_file``)."""

from __future__ import annotations

from fastapi import APIRouter

from api.customer360.queries import customer_360, premises_360
from api.customer360.schemas import Customer360, Premises360
from api.deps import CurrentActor, DbSession
from api.params import NOT_FOUND, Id
from api.schemas import PROBLEM_RESPONSES

router = APIRouter(
    prefix="/api/v1", tags=["customer 360"], responses={**PROBLEM_RESPONSES, **NOT_FOUND}
)


@router.get("/customers/{party_id}/360", response_model=Customer360)
def customer_file(
    party_id: Id,
    session: DbSession,
    actor: CurrentActor("customers:read"),  # type: ignore[valid-type]
) -> Customer360:
    """The customer's file: party with phones and papers, accounts, contracts with roles and
    history, usage points with connection state and electrical address, meters and
    installations, the last 24 months of readings (status and reason codes), monthly
    consumption (local calendar months) derived from the indexes, cases and interactions. 404 outside the caller's
    territory."""
    return customer_360(session, actor, party_id)


@router.get("/premises/{location_id}/360", response_model=Premises360)
def premises_file(
    location_id: Id,
    session: DbSession,
    actor: CurrentActor("customers:read"),  # type: ignore[valid-type]
) -> Premises360:
    """The premises' file: address and electrical address, usage points with meters,
    readings and consumption, every contract with its parties (occupants over time), cases
    and their interactions. 404 outside the caller's territory."""
    return premises_360(session, actor, location_id)
