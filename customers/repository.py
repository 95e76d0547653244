"""Queries of the customer domain. Every one filters with the one territory rule
(``core.territory.visible``; each model states how it is placed in ``customers.models``):
staff bound to an agency see what lies in its territory, and a record outside it answers
404 as if it did not exist."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy import Select, and_, false, func, or_, select
from sqlalchemy.orm import Session

from core.auth.models import Agency, User
from core.context import Actor
from core.errors import EntityNotFoundError
from core.territory import visible
from customers.errors import (
    AccountNotFoundError,
    CaseAssignmentRuleNotFoundError,
    CaseNotFoundError,
    ContractNotFoundError,
    InteractionNotFoundError,
    PartyNotFoundError,
    ServiceLocationNotFoundError,
    UsagePointNotFoundError,
)
from customers.models import (
    Account,
    Case,
    CaseAssignmentRule,
    CaseStatusChange,
    Contract,
    ContractRoleAssignment,
    ContractTransition,
    IdentityDocument,
    Interaction,
    Party,
    PartyEmail,
    PartyPhone,
    ServiceLocation,
    UsagePoint,
)
from gis.models import Feeder, PowerTransformer, ServicePoint

# --- single records (404 when missing or outside the territory) -------------------------


M = TypeVar("M")


def _one(
    session: Session,
    actor: Actor,
    model: type[M],
    key: int,
    error: type[EntityNotFoundError],
    what: str,
    *,
    lock: bool = False,
) -> M:
    query = select(model).where(model.id == key, visible(actor, model))  # type: ignore[attr-defined]
    row = session.scalar(query.with_for_update(of=model) if lock else query)
    if row is None:
        raise error(f"no {what} {key}")
    return row


def get_party(session: Session, actor: Actor, party_id: int, *, lock: bool = False) -> Party:
    return _one(session, actor, Party, party_id, PartyNotFoundError, "customer", lock=lock)


def get_location(session: Session, actor: Actor, location_id: int) -> ServiceLocation:
    return _one(
        session, actor, ServiceLocation, location_id, ServiceLocationNotFoundError, "premises"
    )


def get_usage_point(
    session: Session, actor: Actor, usage_point_id: int, *, lock: bool = False
) -> UsagePoint:
    return _one(
        session,
        actor,
        UsagePoint,
        usage_point_id,
        UsagePointNotFoundError,
        "usage point",
        lock=lock,
    )


def get_account(session: Session, actor: Actor, account_id: int) -> Account:
    return _one(session, actor, Account, account_id, AccountNotFoundError, "account")


def get_contract(
    session: Session, actor: Actor, contract_id: int, *, lock: bool = False
) -> Contract:
    return _one(session, actor, Contract, contract_id, ContractNotFoundError, "contract", lock=lock)


def get_case(session: Session, actor: Actor, case_id: int, *, lock: bool = False) -> Case:
    return _one(session, actor, Case, case_id, CaseNotFoundError, "case", lock=lock)


def get_interaction(session: Session, actor: Actor, interaction_id: int) -> Interaction:
    return _one(
        session, actor, Interaction, interaction_id, InteractionNotFoundError, "interaction"
    )


def get_rule(session: Session, actor: Actor, rule_id: int) -> CaseAssignmentRule:
    return _one(
        session,
        actor,
        CaseAssignmentRule,
        rule_id,
        CaseAssignmentRuleNotFoundError,
        "assignment rule",
    )


# --- lists (queries: the caller pages them with core.pages.paginate) ----------------------


def parties_query(
    actor: Actor, *, include_merged: bool = False, parent_party_id: int | None = None
) -> Select[Any]:
    query = select(Party).where(visible(actor, Party))
    if parent_party_id is not None:
        query = query.where(Party.parent_party_id == parent_party_id)
    if not include_merged:
        query = query.where(Party.status == "active")
    return query.order_by(Party.normalized_name, Party.id)


def visible_party_ids(actor: Actor) -> Select[Any]:
    return select(Party.id).where(visible(actor, Party))


def locations_query(actor: Actor) -> Select[Any]:
    return (
        select(ServiceLocation).where(visible(actor, ServiceLocation)).order_by(ServiceLocation.id)
    )


def usage_points_query(actor: Actor, *, service_location_id: int | None = None) -> Select[Any]:
    query = select(UsagePoint).where(visible(actor, UsagePoint))
    if service_location_id is not None:
        query = query.where(UsagePoint.service_location_id == service_location_id)
    return query.order_by(UsagePoint.id)


def accounts_query(actor: Actor, *, payer_party_id: int | None = None) -> Select[Any]:
    query = select(Account).where(visible(actor, Account))
    if payer_party_id is not None:
        query = query.where(Account.payer_party_id == payer_party_id)
    return query.order_by(Account.id)


def contracts_query(
    actor: Actor,
    *,
    party_id: int | None = None,
    usage_point_id: int | None = None,
    account_id: int | None = None,
    status: str | None = None,
) -> Select[Any]:
    query = select(Contract).where(visible(actor, Contract))
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
    actor: Actor,
    *,
    case_type: str | None = None,
    status: Sequence[str] | None = None,
    agency_id: int | None = None,
    party_id: int | None = None,
    assignee_user_id: int | None = None,
    assignee_groups: Sequence[str] | None = None,
    unassigned: bool = False,
) -> Select[Any]:
    query = select(Case).where(visible(actor, Case))
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
    if unassigned:
        query = query.where(Case.assignee_user_id.is_(None), Case.assignee_group.is_(None))
    return query.order_by(Case.due_date, Case.id)


def _history(session: Session, model: Any, subject_key: Any, subject_id: int) -> list[Any]:
    return list(session.scalars(select(model).where(subject_key == subject_id).order_by(model.id)))


def case_history(session: Session, actor: Actor, case_id: int) -> list[CaseStatusChange]:
    """The case's status changes, oldest first (404 when the case is out of sight)."""
    get_case(session, actor, case_id)
    return _history(session, CaseStatusChange, CaseStatusChange.case_id, case_id)


def contract_transitions(
    session: Session, actor: Actor, contract_id: int
) -> list[ContractTransition]:
    """The contract's steps, oldest first (404 when the contract is out of sight)."""
    get_contract(session, actor, contract_id)
    return _history(session, ContractTransition, ContractTransition.contract_id, contract_id)


def rules_query(actor: Actor) -> Select[Any]:
    """Assignment rules the caller may see: its agency's and the general ones."""
    return (
        select(CaseAssignmentRule)
        .where(visible(actor, CaseAssignmentRule))
        .order_by(CaseAssignmentRule.case_type, CaseAssignmentRule.id)
    )


def rules(session: Session, actor: Actor) -> list[CaseAssignmentRule]:
    return list(session.scalars(rules_query(actor)))


def interactions_query(
    actor: Actor, *, party_id: int | None = None, case_id: int | None = None
) -> Select[Any]:
    query = select(Interaction).where(visible(actor, Interaction))
    if party_id is not None:
        query = query.where(Interaction.party_id == party_id)
    if case_id is not None:
        query = query.where(Interaction.case_id == case_id)
    return query.order_by(Interaction.occurred_at.desc(), Interaction.id.desc())


def user_roles(session: Session, user_id: int | None) -> list[str]:
    """The roles (= case groups) of a staff user."""
    if user_id is None:
        return []
    return list(session.scalar(select(User.roles).where(User.id == user_id)) or [])


def party_names(session: Session, party_ids: Sequence[int]) -> dict[int, str]:
    if not party_ids:
        return {}
    rows = session.execute(
        select(Party.id, Party.display_name).where(Party.id.in_(list(set(party_ids))))
    )
    return {row.id: row.display_name for row in rows}


def agency_choices(session: Session) -> list[Any]:
    """Every agency's ``id`` and ``code`` (rows), for filters."""
    return list(session.execute(select(Agency.id, Agency.code).order_by(Agency.code)).all())


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


def occupants(session: Session, actor: Actor, location_id: int) -> list[dict[str, Any]]:
    """Every party that held a role at the premises, newest first (from contracts); 404
    when the premises is out of sight."""
    get_location(session, actor, location_id)
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
