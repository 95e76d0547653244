"""Queries of the customer domain, with the territory rule built in.

Staff attached to an agency whose territory is set see only premises inside it, the
parties holding a role on a contract there (or registered by their agency), the cases of
their agency or premises, and those parties' interactions. Staff without an agency, or of
an agency without a territory, see everything. Premises without coordinates cannot be
placed in a territory, so only unrestricted staff see them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, false, func, or_, select, true
from sqlalchemy.orm import Session

from core.auth.models import Agency
from core.context import Actor
from customers.errors import (
    AccountNotFoundError,
    CaseNotFoundError,
    ContractNotFoundError,
    PartyNotFoundError,
    ServiceLocationNotFoundError,
    UsagePointNotFoundError,
)
from customers.models import (
    Account,
    Case,
    Contract,
    ContractRoleAssignment,
    IdentityDocument,
    Interaction,
    Party,
    PartyEmail,
    PartyPhone,
    ServiceLocation,
    UsagePoint,
)
from gis.models import Feeder, PowerTransformer, ServicePoint


def restricting_agency(session: Session, actor: Actor) -> int | None:
    """The agency whose territory bounds what ``actor`` sees, or None when unbounded."""
    if actor.sees_all_territories:
        return None
    bounded = session.scalar(
        select(Agency.territory.is_not(None)).where(Agency.id == actor.agency_id)
    )
    return actor.agency_id if bounded else None


def _territory(agency_id: int) -> Any:
    return select(Agency.territory).where(Agency.id == agency_id).scalar_subquery()


def location_visible(agency_id: int | None) -> ColumnElement[bool]:
    if agency_id is None:
        return true()
    return func.ST_Intersects(ServiceLocation.geom, _territory(agency_id))


def party_visible(agency_id: int | None) -> ColumnElement[bool]:
    if agency_id is None:
        return true()
    on_premises = (
        select(1)
        .select_from(ContractRoleAssignment)
        .join(Contract, Contract.id == ContractRoleAssignment.contract_id)
        .join(UsagePoint, UsagePoint.id == Contract.usage_point_id)
        .join(ServiceLocation, ServiceLocation.id == UsagePoint.service_location_id)
        .where(ContractRoleAssignment.party_id == Party.id, location_visible(agency_id))
    )
    return or_(Party.agency_id == agency_id, exists(on_premises))


def case_visible(agency_id: int | None) -> ColumnElement[bool]:
    if agency_id is None:
        return true()
    at_premises = select(1).where(
        ServiceLocation.id == Case.service_location_id, location_visible(agency_id)
    )
    return or_(Case.agency_id == agency_id, exists(at_premises))


def _visible_party_ids(agency_id: int | None) -> Select[Any]:
    return select(Party.id).where(party_visible(agency_id))


# --- single records (404 when missing or outside the territory) -------------------------


def get_party(session: Session, actor: Actor, party_id: int, *, lock: bool = False) -> Party:
    query = select(Party).where(
        Party.id == party_id, party_visible(restricting_agency(session, actor))
    )
    party = session.scalar(query.with_for_update() if lock else query)
    if party is None:
        raise PartyNotFoundError(f"no customer {party_id}")
    return party


def get_location(session: Session, actor: Actor, location_id: int) -> ServiceLocation:
    location = session.scalar(
        select(ServiceLocation).where(
            ServiceLocation.id == location_id,
            location_visible(restricting_agency(session, actor)),
        )
    )
    if location is None:
        raise ServiceLocationNotFoundError(f"no premises {location_id}")
    return location


def get_usage_point(
    session: Session, actor: Actor, usage_point_id: int, *, lock: bool = False
) -> UsagePoint:
    query = (
        select(UsagePoint)
        .join(ServiceLocation, ServiceLocation.id == UsagePoint.service_location_id)
        .where(
            UsagePoint.id == usage_point_id,
            location_visible(restricting_agency(session, actor)),
        )
    )
    usage_point = session.scalar(query.with_for_update(of=UsagePoint) if lock else query)
    if usage_point is None:
        raise UsagePointNotFoundError(f"no usage point {usage_point_id}")
    return usage_point


def get_account(session: Session, actor: Actor, account_id: int) -> Account:
    agency_id = restricting_agency(session, actor)
    account = session.scalar(
        select(Account).where(
            Account.id == account_id,
            Account.payer_party_id.in_(_visible_party_ids(agency_id))
            if agency_id is not None
            else true(),
        )
    )
    if account is None:
        raise AccountNotFoundError(f"no account {account_id}")
    return account


def get_contract(
    session: Session, actor: Actor, contract_id: int, *, lock: bool = False
) -> Contract:
    query = (
        select(Contract)
        .join(UsagePoint, UsagePoint.id == Contract.usage_point_id)
        .join(ServiceLocation, ServiceLocation.id == UsagePoint.service_location_id)
        .where(Contract.id == contract_id, location_visible(restricting_agency(session, actor)))
    )
    contract = session.scalar(query.with_for_update(of=Contract) if lock else query)
    if contract is None:
        raise ContractNotFoundError(f"no contract {contract_id}")
    return contract


def get_case(session: Session, actor: Actor, case_id: int, *, lock: bool = False) -> Case:
    query = select(Case).where(Case.id == case_id, case_visible(restricting_agency(session, actor)))
    case = session.scalar(query.with_for_update() if lock else query)
    if case is None:
        raise CaseNotFoundError(f"no case {case_id}")
    return case


# --- lists ----------------------------------------------------------------------------


def page(session: Session, query: Select[Any], *, offset: int, limit: int) -> tuple[list[Any], int]:
    """One page of ``query`` and the total count (offset pagination for screens)."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = session.scalars(query.offset(offset).limit(limit)).all()
    return list(rows), int(total or 0)


def parties_query(
    session: Session,
    actor: Actor,
    *,
    include_merged: bool = False,
    parent_party_id: int | None = None,
) -> Select[Any]:
    query = select(Party).where(party_visible(restricting_agency(session, actor)))
    if parent_party_id is not None:
        query = query.where(Party.parent_party_id == parent_party_id)
    if not include_merged:
        query = query.where(Party.status == "active")
    return query.order_by(Party.normalized_name, Party.id)


def locations_query(session: Session, actor: Actor) -> Select[Any]:
    return (
        select(ServiceLocation)
        .where(location_visible(restricting_agency(session, actor)))
        .order_by(ServiceLocation.id)
    )


def usage_points_query(
    session: Session, actor: Actor, *, service_location_id: int | None = None
) -> Select[Any]:
    query = (
        select(UsagePoint)
        .join(ServiceLocation, ServiceLocation.id == UsagePoint.service_location_id)
        .where(location_visible(restricting_agency(session, actor)))
    )
    if service_location_id is not None:
        query = query.where(UsagePoint.service_location_id == service_location_id)
    return query.order_by(UsagePoint.id)


def accounts_query(
    session: Session, actor: Actor, *, payer_party_id: int | None = None
) -> Select[Any]:
    agency_id = restricting_agency(session, actor)
    query = select(Account)
    if agency_id is not None:
        query = query.where(Account.payer_party_id.in_(_visible_party_ids(agency_id)))
    if payer_party_id is not None:
        query = query.where(Account.payer_party_id == payer_party_id)
    return query.order_by(Account.id)


def contracts_query(
    session: Session,
    actor: Actor,
    *,
    party_id: int | None = None,
    usage_point_id: int | None = None,
    account_id: int | None = None,
    status: str | None = None,
) -> Select[Any]:
    query = (
        select(Contract)
        .join(UsagePoint, UsagePoint.id == Contract.usage_point_id)
        .join(ServiceLocation, ServiceLocation.id == UsagePoint.service_location_id)
        .where(location_visible(restricting_agency(session, actor)))
    )
    if party_id is not None:
        roles = select(ContractRoleAssignment.contract_id).where(
            ContractRoleAssignment.party_id == party_id
        )
        query = query.where(or_(Contract.holder_party_id == party_id, Contract.id.in_(roles)))
    if usage_point_id is not None:
        query = query.where(Contract.usage_point_id == usage_point_id)
    if account_id is not None:
        query = query.where(Contract.account_id == account_id)
    if status is not None:
        query = query.where(Contract.status == status)
    return query.order_by(Contract.start_date.desc(), Contract.id.desc())


def cases_query(
    session: Session,
    actor: Actor,
    *,
    case_type: str | None = None,
    status: Sequence[str] | None = None,
    agency_id: int | None = None,
    party_id: int | None = None,
    assignee_user_id: int | None = None,
    assignee_groups: Sequence[str] | None = None,
) -> Select[Any]:
    query = select(Case).where(case_visible(restricting_agency(session, actor)))
    if case_type is not None:
        query = query.where(Case.case_type == case_type)
    if status:
        query = query.where(Case.status.in_(list(status)))
    if agency_id is not None:
        query = query.where(Case.agency_id == agency_id)
    if party_id is not None:
        query = query.where(Case.party_id == party_id)
    if assignee_user_id is not None or assignee_groups is not None:
        mine = Case.assignee_user_id == assignee_user_id if assignee_user_id else false()
        groups = (
            and_(Case.assignee_group.in_(list(assignee_groups)), Case.assignee_user_id.is_(None))
            if assignee_groups
            else false()
        )
        query = query.where(or_(mine, groups))
    return query.order_by(Case.due_date, Case.id)


def interactions_query(
    session: Session,
    actor: Actor,
    *,
    party_id: int | None = None,
    case_id: int | None = None,
) -> Select[Any]:
    agency_id = restricting_agency(session, actor)
    query = select(Interaction)
    if agency_id is not None:
        query = query.where(Interaction.party_id.in_(_visible_party_ids(agency_id)))
    if party_id is not None:
        query = query.where(Interaction.party_id == party_id)
    if case_id is not None:
        query = query.where(Interaction.case_id == case_id)
    return query.order_by(Interaction.occurred_at.desc(), Interaction.id.desc())


# --- details --------------------------------------------------------------------------


def party_details(session: Session, party_ids: Sequence[int]) -> dict[int, dict[str, list[Any]]]:
    """Phones, e-mails and identity documents of each party, in three queries."""
    details: dict[int, dict[str, list[Any]]] = {
        pid: {"phones": [], "emails": [], "identity_documents": []} for pid in party_ids
    }
    if not party_ids:
        return details
    for model, key in (
        (PartyPhone, "phones"),
        (PartyEmail, "emails"),
        (IdentityDocument, "identity_documents"),
    ):
        rows = session.scalars(
            select(model).where(model.party_id.in_(list(party_ids))).order_by(model.id)
        )
        for row in rows:
            details[row.party_id][key].append(row)
    return details


def roles_of(
    session: Session, contract_ids: Sequence[int]
) -> dict[int, list[ContractRoleAssignment]]:
    roles: dict[int, list[ContractRoleAssignment]] = {cid: [] for cid in contract_ids}
    if contract_ids:
        rows = session.scalars(
            select(ContractRoleAssignment)
            .where(ContractRoleAssignment.contract_id.in_(list(contract_ids)))
            .order_by(ContractRoleAssignment.id)
        )
        for row in rows:
            roles[row.contract_id].append(row)
    return roles


def electrical_addresses(
    session: Session, location_ids: Sequence[int]
) -> dict[int, dict[str, Any]]:
    """Each premises' service point, feeder and transformer, read live from the network."""
    if not location_ids:
        return {}
    rows = session.execute(
        select(
            ServiceLocation.id,
            func.ST_AsGeoJSON(ServiceLocation.geom).label("geojson"),
            ServicePoint.code.label("service_point_code"),
            ServicePoint.feeder_id,
            Feeder.code.label("feeder_code"),
            ServicePoint.transformer_id,
            PowerTransformer.code.label("transformer_code"),
        )
        .outerjoin(ServicePoint, ServicePoint.id == ServiceLocation.service_point_id)
        .outerjoin(Feeder, Feeder.id == ServicePoint.feeder_id)
        .outerjoin(PowerTransformer, PowerTransformer.id == ServicePoint.transformer_id)
        .where(ServiceLocation.id.in_(list(location_ids)))
    )
    return {row.id: row._asdict() for row in rows}


def occupants(session: Session, location_id: int) -> list[dict[str, Any]]:
    """Every party that held a role at the premises, newest first (from contracts)."""
    rows = session.execute(
        select(
            Party.id.label("party_id"),
            Party.display_name,
            ContractRoleAssignment.role,
            Contract.id.label("contract_id"),
            Contract.number.label("contract_number"),
            Contract.status.label("contract_status"),
            Contract.usage_point_id,
            Contract.start_date,
            Contract.end_date,
        )
        .join(ContractRoleAssignment, ContractRoleAssignment.contract_id == Contract.id)
        .join(Party, Party.id == ContractRoleAssignment.party_id)
        .join(UsagePoint, UsagePoint.id == Contract.usage_point_id)
        .where(UsagePoint.service_location_id == location_id, Contract.status != "cancelled")
        .order_by(Contract.start_date.desc(), Contract.id.desc(), ContractRoleAssignment.id)
    )
    return [row._asdict() for row in rows]
