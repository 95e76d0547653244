"""The customers domain's reads for the customer file (``customers.customer_file``): one
set-based query per part, child rows (phones, roles, history) aggregated as JSON in the
same query, so a file costs a fixed handful of round trips whatever its size."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, func, literal_column, or_, select, union
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session

from core.context import Actor
from core.territory import visible
from customers.models import (
    Account,
    Case,
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

INTERACTIONS_SHOWN = 100
ELECTRICAL_ADDRESS = (
    "service_point_id",
    "service_point_code",
    "feeder_id",
    "feeder_code",
    "transformer_id",
    "transformer_code",
)


def _json_list(*columns: Any, where: ColumnElement[bool], order: Any) -> Any:
    """A correlated subquery aggregating rows into a JSON array ([] when none)."""
    obj = func.json_build_object(*[x for c in columns for x in (literal_column(f"'{c.key}'"), c)])
    return (
        select(
            func.coalesce(
                func.json_agg(aggregate_order_by(obj, order)), literal_column("'[]'::json")
            )
        )
        .where(where)
        .scalar_subquery()
    )


def _history(model: Any, of_subject: ColumnElement[bool]) -> Any:
    """A lifecycle's history rows (``core.lifecycle``) of the outer subject, oldest first."""
    return _json_list(
        model.event,
        model.from_status,
        model.to_status,
        model.reason,
        model.actor,
        model.at,
        where=of_subject,
        order=model.at,
    )


def _rows(session: Session, query: Any) -> list[dict[str, Any]]:
    return [dict(r._mapping) for r in session.execute(query).all()]


# --- the party -------------------------------------------------------------------------


def party(session: Session, actor: Actor, party_id: int) -> dict[str, Any] | None:
    """The party with its phones, e-mails and identity papers (None when out of sight)."""
    rows = _rows(
        session,
        select(
            Party.id,
            Party.kind,
            Party.display_name,
            Party.first_name,
            Party.last_name,
            Party.organisation_name,
            Party.status,
            Party.language,
            Party.birth_date,
            Party.agency_id,
            Party.parent_party_id,
            Party.created_at,
            _json_list(
                PartyPhone.e164,
                PartyPhone.raw,
                PartyPhone.kind,
                PartyPhone.is_primary,
                where=PartyPhone.party_id == Party.id,
                order=PartyPhone.id,
            ).label("phones"),
            _json_list(
                PartyEmail.email,
                PartyEmail.is_primary,
                where=PartyEmail.party_id == Party.id,
                order=PartyEmail.id,
            ).label("emails"),
            _json_list(
                IdentityDocument.document_type,
                IdentityDocument.number,
                IdentityDocument.issuing_country,
                IdentityDocument.valid_until,
                where=IdentityDocument.party_id == Party.id,
                order=IdentityDocument.id,
            ).label("identity_documents"),
        ).where(Party.id == party_id, visible(actor, Party)),
    )
    return rows[0] if rows else None


def accounts(session: Session, party_id: int, account_ids: Sequence[int]) -> list[dict[str, Any]]:
    """The accounts the party pays, and those of its contracts."""
    return _rows(
        session,
        select(
            Account.id,
            Account.number,
            Account.payer_party_id,
            Party.display_name.label("payer_name"),
            Account.delivery_channel,
            Account.status,
        )
        .join(Party, Party.id == Account.payer_party_id)
        .where(or_(Account.payer_party_id == party_id, Account.id.in_(list(account_ids))))
        .order_by(Account.id),
    )


# --- contracts -------------------------------------------------------------------------


def _contracts(session: Session, where: ColumnElement[bool]) -> list[dict[str, Any]]:
    holder = Party.__table__.alias("holder")
    role_party = Party.__table__.alias("role_party")
    roles = (
        select(
            func.coalesce(
                func.json_agg(
                    aggregate_order_by(
                        func.json_build_object(
                            "party_id",
                            ContractRoleAssignment.party_id,
                            "display_name",
                            role_party.c.display_name,
                            "role",
                            ContractRoleAssignment.role,
                        ),
                        ContractRoleAssignment.id,
                    )
                ),
                literal_column("'[]'::json"),
            )
        )
        .select_from(ContractRoleAssignment)
        .join(role_party, role_party.c.id == ContractRoleAssignment.party_id)
        .where(ContractRoleAssignment.contract_id == Contract.id)
        .scalar_subquery()
    )
    history = _history(ContractTransition, ContractTransition.contract_id == Contract.id)
    return _rows(
        session,
        select(
            Contract.id,
            Contract.number,
            Contract.status,
            Contract.start_date,
            Contract.end_date,
            Contract.tariff_code,
            Contract.subscribed_power_kva,
            Contract.usage_point_id,
            UsagePoint.code.label("usage_point_code"),
            Contract.holder_party_id,
            holder.c.display_name.label("holder_name"),
            Contract.account_id,
            Account.number.label("account_number"),
            UsagePoint.service_location_id,
            roles.label("roles"),
            history.label("history"),
        )
        .join(UsagePoint, UsagePoint.id == Contract.usage_point_id)
        .join(holder, holder.c.id == Contract.holder_party_id)
        .join(Account, Account.id == Contract.account_id)
        .where(where)
        .order_by(Contract.start_date.desc(), Contract.id.desc()),
    )


def contracts_of_party(session: Session, actor: Actor, party_id: int) -> list[dict[str, Any]]:
    """The contracts the party holds, pays or has a role on, inside the caller's sight."""
    # Three index lookups united, rather than one OR the planner would answer with a scan.
    theirs = union(
        select(Contract.id).where(Contract.holder_party_id == party_id),
        select(ContractRoleAssignment.contract_id).where(
            ContractRoleAssignment.party_id == party_id
        ),
        select(Contract.id)
        .join(Account, Account.id == Contract.account_id)
        .where(Account.payer_party_id == party_id),
    )
    return _contracts(session, Contract.id.in_(theirs) & visible(actor, Contract))


def contracts_at(session: Session, location_id: int) -> list[dict[str, Any]]:
    """Every contract at the premises (the caller sees the premises, hence them)."""
    return _contracts(session, UsagePoint.service_location_id == location_id)


def occupants_of(contracts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Everyone who held a role at the premises, from its contracts, newest first."""
    return [
        {
            "party_id": r["party_id"],
            "display_name": r["display_name"],
            "role": r["role"],
            "contract_id": c["id"],
            "contract_number": c["number"],
            "contract_status": c["status"],
            "usage_point_id": c["usage_point_id"],
            "start_date": c["start_date"],
            "end_date": c["end_date"],
        }
        for c in contracts
        if c["status"] != "cancelled"
        for r in c["roles"]
    ]


# --- premises and usage points ---------------------------------------------------------


def _premises_columns() -> list[Any]:
    return [
        ServiceLocation.id.label("premises_id"),
        ServiceLocation.code.label("premises_code"),
        ServiceLocation.address_line,
        ServiceLocation.unit,
        ServiceLocation.district,
        ServiceLocation.city,
        ServiceLocation.region,
        ServiceLocation.landmark,
        func.ST_AsGeoJSON(ServiceLocation.geom).label("geojson"),
        ServiceLocation.service_point_id,
        ServicePoint.code.label("service_point_code"),
        ServicePoint.feeder_id,
        Feeder.code.label("feeder_code"),
        ServicePoint.transformer_id,
        PowerTransformer.code.label("transformer_code"),
    ]


def _with_network(query: Any) -> Any:
    """The premises' electrical address, read live from its traced service point."""
    return (
        query.outerjoin(ServicePoint, ServicePoint.id == ServiceLocation.service_point_id)
        .outerjoin(Feeder, Feeder.id == ServicePoint.feeder_id)
        .outerjoin(PowerTransformer, PowerTransformer.id == ServicePoint.transformer_id)
    )


def _premises_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["premises_id"],
        "code": row["premises_code"],
        **{k: row[k] for k in ("address_line", "unit", "district", "city", "region", "landmark")},
        "location": json.loads(row["geojson"]) if row["geojson"] else None,
        "electrical_address": {k: row[k] for k in ELECTRICAL_ADDRESS},
    }


def premises(session: Session, actor: Actor, location_id: int) -> dict[str, Any] | None:
    """The premises with its electrical address (None when out of sight)."""
    rows = _rows(
        session,
        _with_network(select(*_premises_columns()).select_from(ServiceLocation)).where(
            ServiceLocation.id == location_id, visible(actor, ServiceLocation)
        ),
    )
    return _premises_view(rows[0]) if rows else None


USAGE_POINT_FIELDS = (
    "id",
    "code",
    "category",
    "commodity",
    "subscribed_power_kva",
    "phases",
    "connection_state",
    "connection_state_at",
)


def _usage_points(session: Session, where: ColumnElement[bool]) -> list[dict[str, Any]]:
    rows = _rows(
        session,
        _with_network(
            select(
                *(getattr(UsagePoint, name) for name in USAGE_POINT_FIELDS), *_premises_columns()
            ).join(ServiceLocation, ServiceLocation.id == UsagePoint.service_location_id)
        )
        .where(where)
        .order_by(UsagePoint.id),
    )
    return [
        {**{k: row[k] for k in USAGE_POINT_FIELDS}, "premises": _premises_view(row)} for row in rows
    ]


def usage_points(session: Session, usage_point_ids: Sequence[int]) -> list[dict[str, Any]]:
    """The usage points with their premises and electrical address."""
    if not usage_point_ids:
        return []
    return _usage_points(session, UsagePoint.id.in_(list(usage_point_ids)))


def usage_points_at(session: Session, location_id: int) -> list[dict[str, Any]]:
    return _usage_points(session, UsagePoint.service_location_id == location_id)


# --- cases and interactions ------------------------------------------------------------


def _cases(session: Session, where: ColumnElement[bool]) -> list[dict[str, Any]]:
    history = _history(CaseStatusChange, CaseStatusChange.case_id == Case.id)
    return _rows(
        session,
        select(
            Case.id,
            Case.number,
            Case.case_type,
            Case.status,
            Case.priority,
            Case.subject,
            Case.party_id,
            Case.service_location_id,
            Case.usage_point_id,
            Case.opened_at,
            Case.due_date,
            Case.sla_breached,
            Case.resolved_at,
            Case.closed_at,
            history.label("history"),
        )
        .where(where)
        .order_by(Case.opened_at.desc(), Case.id.desc()),
    )


def cases_of_party(session: Session, actor: Actor, party_id: int) -> list[dict[str, Any]]:
    return _cases(session, (Case.party_id == party_id) & visible(actor, Case))


def cases_at(
    session: Session, location_id: int, usage_point_ids: Sequence[int]
) -> list[dict[str, Any]]:
    """The cases raised at the premises or about one of its usage points."""
    where = Case.service_location_id == location_id
    if usage_point_ids:
        where = or_(where, Case.usage_point_id.in_(list(usage_point_ids)))
    return _cases(session, where)


def _interactions(session: Session, where: ColumnElement[bool]) -> list[dict[str, Any]]:
    return _rows(
        session,
        select(
            Interaction.id,
            Interaction.party_id,
            Interaction.case_id,
            Interaction.channel,
            Interaction.direction,
            Interaction.occurred_at,
            Interaction.subject,
        )
        .where(where)
        .order_by(Interaction.occurred_at.desc(), Interaction.id.desc())
        .limit(INTERACTIONS_SHOWN),
    )


def interactions_of_party(session: Session, party_id: int) -> list[dict[str, Any]]:
    """The party's last contacts (the party is in sight, so are they)."""
    return _interactions(session, Interaction.party_id == party_id)


def interactions_of_cases(session: Session, case_ids: Sequence[int]) -> list[dict[str, Any]]:
    if not case_ids:
        return []
    return _interactions(session, Interaction.case_id.in_(list(case_ids)))
