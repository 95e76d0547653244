"""Customers (parties): registration with duplicate hints, search, contacts, merge."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import CurrentActor, DbSession
from api.params import Id, Limit, Offset, OptionalId
from api.schemas import PROBLEM_RESPONSES
from core.pages import Page, paginate
from customers import repository, service
from customers.schemas import (
    DuplicateCandidate,
    MergeRequest,
    MergeResult,
    PartyContactsAdd,
    PartyCreate,
    PartyCreated,
    PartyRead,
    PartyUpdate,
    SearchHit,
)
from customers.search import search_parties

router = APIRouter(prefix="/api/v1/customers", tags=["customers"], responses=PROBLEM_RESPONSES)


@router.post("", response_model=PartyCreated, status_code=201)
def create_customer(
    body: PartyCreate,
    session: DbSession,
    actor: CurrentActor("customers:write"),  # type: ignore[valid-type]
) -> PartyCreated:
    """Register a customer. ``likely_duplicates`` lists existing customers that may be the
    same one (creation still succeeds); an identity document that already belongs to a
    customer is a 409 ``party_identity_document_exists``."""
    party, pairs = service.create_party(session, actor=actor, data=body)
    read = service.party_reads(session, [party])[0]
    return PartyCreated(**read.model_dump(), likely_duplicates=service.candidates(pairs))


@router.get("", response_model=Page[PartyRead])
def list_customers(
    session: DbSession,
    actor: CurrentActor("customers:read"),  # type: ignore[valid-type]
    offset: Offset = 0,
    limit: Limit = 50,
    include_merged: bool = False,
    parent_party_id: OptionalId = None,
) -> Page[PartyRead]:
    """Customers by name; ``parent_party_id`` lists an organisation's sites."""
    query = repository.parties_query(
        actor, include_merged=include_merged, parent_party_id=parent_party_id
    )
    parties, total = paginate(session, query, offset=offset, limit=limit)
    return Page(
        items=service.party_reads(session, parties), total=total, offset=offset, limit=limit
    )


@router.get("/search", response_model=Page[SearchHit])
def search_customers(
    session: DbSession,
    actor: CurrentActor("customers:read"),  # type: ignore[valid-type]
    q: Annotated[str, Query(min_length=2, max_length=200, pattern=r"^[^\x00]*$")],
    offset: Offset = 0,
    limit: Limit = 20,
) -> Page[SearchHit]:
    """Find customers by name (typos tolerated), phone (any format), account number,
    identity document, usage point code or address; best matches first."""
    hits, total = search_parties(session, actor, q.strip(), offset=offset, limit=limit)
    return Page(items=[SearchHit(**h) for h in hits], total=total, offset=offset, limit=limit)


@router.get("/{party_id}", response_model=PartyRead)
def read_customer(
    party_id: Id,
    session: DbSession,
    actor: CurrentActor("customers:read"),  # type: ignore[valid-type]
) -> PartyRead:
    party = repository.get_party(session, actor, party_id)
    return service.party_reads(session, [party])[0]


@router.patch("/{party_id}", response_model=PartyRead)
def update_customer(
    party_id: Id,
    body: PartyUpdate,
    session: DbSession,
    actor: CurrentActor("customers:write"),  # type: ignore[valid-type]
) -> PartyRead:
    party = service.update_party(session, actor=actor, party_id=party_id, data=body)
    return service.party_reads(session, [party])[0]


@router.post("/{party_id}/contacts", response_model=PartyRead)
def add_contacts(
    party_id: Id,
    body: PartyContactsAdd,
    session: DbSession,
    actor: CurrentActor("customers:write"),  # type: ignore[valid-type]
) -> PartyRead:
    """Add phone numbers, e-mails or identity documents to a customer."""
    party = service.add_contacts(
        session,
        actor=actor,
        party_id=party_id,
        phones=body.phones,
        emails=list(body.emails),
        documents=body.identity_documents,
    )
    return service.party_reads(session, [party])[0]


@router.get("/{party_id}/duplicates", response_model=list[DuplicateCandidate])
def customer_duplicates(
    party_id: Id,
    session: DbSession,
    actor: CurrentActor("customers:read"),  # type: ignore[valid-type]
) -> list[DuplicateCandidate]:
    """Customers that are probably this one (score >= 0.5), best first."""
    party = repository.get_party(session, actor, party_id)
    return service.candidates(service.find_duplicates(session, actor=actor, party=party))


@router.post("/{party_id}/merge", response_model=MergeResult)
def merge_customer(
    party_id: Id,
    body: MergeRequest,
    session: DbSession,
    actor: CurrentActor("customers:write"),  # type: ignore[valid-type]
) -> MergeResult:
    """Fold ``duplicate_id`` into this customer: its contracts, roles, accounts, cases,
    interactions, documents and phones move here; it is kept, marked merged (audited)."""
    survivor, moved = service.merge_parties(
        session,
        actor=actor,
        survivor_id=party_id,
        duplicate_id=body.duplicate_id,
        reason=body.reason,
    )
    return MergeResult(
        survivor=service.party_reads(session, [survivor])[0],
        merged_id=body.duplicate_id,
        moved=moved,
    )
