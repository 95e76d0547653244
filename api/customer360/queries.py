"""The 360° views, assembled from one round of set-based queries (never one per row):
party, contracts (roles and history aggregated in the same query), usage points with
premises and electrical address, meters with installations, readings of the window,
cases (with history) and interactions. Consumption is derived in memory from the rows.

Territory: staff bounded to an agency see only premises inside it (customers.repository);
anything else answers 404, as if it did not exist.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, literal_column, or_, select, union
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session

from api.customer360.consumption import month_starts, monthly_consumption
from api.customer360.schemas import Customer360, Premises360, Window
from core.context import Actor
from customers.errors import PartyNotFoundError, ServiceLocationNotFoundError
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
from customers.repository import (
    case_visible,
    location_visible,
    party_visible,
    restricting_agency,
)
from gis.models import Feeder, PowerTransformer, ServicePoint
from meters.models import Meter, MeterInstallation, Reading, Register

WINDOW_MONTHS = 24
# Reads fetched before the window so the window's first interval has its opening index.
LEAD_MONTHS = 3
INTERACTIONS_SHOWN = 100


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


def _window(now: datetime) -> tuple[list[datetime], datetime]:
    first = month_starts(now.replace(day=1), 0)[0]
    index = first.year * 12 + first.month - 1 - WINDOW_MONTHS
    start = datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)
    months = month_starts(start, WINDOW_MONTHS + 1)  # the 24 full months and the current one
    lead = index - LEAD_MONTHS
    return months, datetime(lead // 12, lead % 12 + 1, 1, tzinfo=UTC)


# --- queries -------------------------------------------------------------------------


def _party(session: Session, party_id: int, agency_id: int | None) -> dict[str, Any] | None:
    row = session.execute(
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
        ).where(Party.id == party_id, party_visible(agency_id))
    ).one_or_none()
    return dict(row._mapping) if row else None


def _contracts(
    session: Session, where: ColumnElement[bool], agency_id: int | None
) -> list[dict[str, Any]]:
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
    history = _json_list(
        ContractTransition.event,
        ContractTransition.from_status,
        ContractTransition.to_status,
        ContractTransition.reason,
        ContractTransition.actor,
        ContractTransition.at,
        where=ContractTransition.contract_id == Contract.id,
        order=ContractTransition.at,
    )
    rows = session.execute(
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
        .join(ServiceLocation, ServiceLocation.id == UsagePoint.service_location_id)
        .join(holder, holder.c.id == Contract.holder_party_id)
        .join(Account, Account.id == Contract.account_id)
        .where(where, location_visible(agency_id))
        .order_by(Contract.start_date.desc(), Contract.id.desc())
    ).all()
    return [dict(r._mapping) for r in rows]


def _usage_points(session: Session, where: ColumnElement[bool]) -> list[dict[str, Any]]:
    rows = session.execute(
        select(
            UsagePoint.id,
            UsagePoint.code,
            UsagePoint.category,
            UsagePoint.commodity,
            UsagePoint.subscribed_power_kva,
            UsagePoint.phases,
            UsagePoint.connection_state,
            UsagePoint.connection_state_at,
            *_premises_columns(),
        )
        .join(ServiceLocation, ServiceLocation.id == UsagePoint.service_location_id)
        .outerjoin(ServicePoint, ServicePoint.id == ServiceLocation.service_point_id)
        .outerjoin(Feeder, Feeder.id == ServicePoint.feeder_id)
        .outerjoin(PowerTransformer, PowerTransformer.id == ServicePoint.transformer_id)
        .where(where)
        .order_by(UsagePoint.id)
    ).all()
    return [dict(r._mapping) for r in rows]


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


def _installations(session: Session, usage_point_ids: list[int]) -> list[dict[str, Any]]:
    rows = session.execute(
        select(
            MeterInstallation.usage_point_id,
            Meter.id.label("meter_id"),
            Meter.serial,
            Meter.meter_type,
            Meter.make,
            Meter.model,
            Meter.dial_digits,
            Meter.multiplier,
            Meter.status,
            MeterInstallation.id.label("installation_id"),
            MeterInstallation.register_set,
            MeterInstallation.installed_at,
            MeterInstallation.removed_at,
            MeterInstallation.removal_reason,
            MeterInstallation.start_indexes["total"].astext.label("start_index"),
            MeterInstallation.end_indexes["total"].astext.label("end_index"),
            Register.id.label("register_id"),
        )
        .join(Meter, Meter.id == MeterInstallation.meter_id)
        .outerjoin(Register, and_(Register.meter_id == Meter.id, Register.code == "total"))
        .where(MeterInstallation.usage_point_id.in_(usage_point_ids))
        .order_by(MeterInstallation.installed_at, MeterInstallation.id)
    ).all()
    return [dict(r._mapping) for r in rows]


def _readings(
    session: Session, installs: list[dict[str, Any]], since: datetime
) -> list[dict[str, Any]]:
    """Reads of the installations' 'total' registers since ``since`` (time-of-use registers
    belong to the meter file). Found by register, the readings table's only index, and kept
    to the usage points concerned (a meter may have served elsewhere before)."""
    registers = sorted({i["register_id"] for i in installs if i["register_id"] is not None})
    if not registers:
        return []
    usage_points = sorted({i["usage_point_id"] for i in installs})
    rows = session.execute(
        select(
            Reading.id,
            Reading.read_at,
            Reading.usage_point_id,
            Reading.installation_id,
            Reading.meter_id,
            Reading.value,
            Reading.source,
            Reading.quality,
            Reading.status,
            Reading.reason_codes,
            Reading.estimation_method,
        )
        .where(
            Reading.register_id.in_(registers),
            Reading.read_at >= since,
            Reading.usage_point_id.in_(usage_points),
        )
        .order_by(Reading.read_at, Reading.id)
    ).all()
    return [dict(r._mapping) for r in rows]


def _cases(
    session: Session, where: ColumnElement[bool], agency_id: int | None
) -> list[dict[str, Any]]:
    history = _json_list(
        CaseStatusChange.event,
        CaseStatusChange.from_status,
        CaseStatusChange.to_status,
        CaseStatusChange.reason,
        CaseStatusChange.actor,
        CaseStatusChange.at,
        where=CaseStatusChange.case_id == Case.id,
        order=CaseStatusChange.at,
    )
    rows = session.execute(
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
        .where(where, case_visible(agency_id))
        .order_by(Case.opened_at.desc(), Case.id.desc())
    ).all()
    return [dict(r._mapping) for r in rows]


def _interactions(session: Session, where: ColumnElement[bool]) -> list[dict[str, Any]]:
    rows = session.execute(
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
        .limit(INTERACTIONS_SHOWN)
    ).all()
    return [dict(r._mapping) for r in rows]


def _accounts(session: Session, where: ColumnElement[bool]) -> list[dict[str, Any]]:
    rows = session.execute(
        select(
            Account.id,
            Account.number,
            Account.payer_party_id,
            Party.display_name.label("payer_name"),
            Account.delivery_channel,
            Account.status,
        )
        .join(Party, Party.id == Account.payer_party_id)
        .where(where)
        .order_by(Account.id)
    ).all()
    return [dict(r._mapping) for r in rows]


# --- assembly -------------------------------------------------------------------------


def _premises(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["premises_id"],
        "code": row["premises_code"],
        "address_line": row["address_line"],
        "unit": row["unit"],
        "district": row["district"],
        "city": row["city"],
        "region": row["region"],
        "landmark": row["landmark"],
        "location": json.loads(row["geojson"]) if row["geojson"] else None,
        "electrical_address": {
            k: row[k]
            for k in (
                "service_point_id",
                "service_point_code",
                "feeder_id",
                "feeder_code",
                "transformer_id",
                "transformer_code",
            )
        },
    }


def _in_periods(moment: datetime, periods: list[tuple[Any, Any]] | None) -> bool:
    if periods is None:
        return True
    day = moment.astimezone(UTC).date()
    return any(start <= day and (end is None or day < end) for start, end in periods)


def _month_in_periods(month: str, periods: list[tuple[Any, Any]] | None) -> bool:
    if periods is None:
        return True
    year, number = (int(p) for p in month.split("-"))
    first = datetime(year, number, 1, tzinfo=UTC).date()
    last = month_starts(datetime(year, number, 1, tzinfo=UTC), 1)[1].date()
    return any(start < last and (end is None or end > first) for start, end in periods)


def _usage_point_views(
    ups: list[dict[str, Any]],
    installs: list[dict[str, Any]],
    reads: list[dict[str, Any]],
    months: list[datetime],
    fetched_from: datetime,
    periods: dict[int, list[tuple[Any, Any]]] | None = None,
) -> list[dict[str, Any]]:
    """Usage points with their meters, window readings and monthly consumption. With
    ``periods`` (a customer's view), only what falls in the customer's contract periods."""
    installs_by_up: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for inst in installs:
        installs_by_up[inst["usage_point_id"]].append(inst)
    reads_by_up: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for read in reads:
        reads_by_up[read["usage_point_id"]].append(read)
    serial = {i["meter_id"]: i["serial"] for i in installs}
    window_from = months[0]
    views = []
    for up in ups:
        own = periods.get(up["id"]) if periods is not None else None
        up_reads = reads_by_up[up["id"]]
        consumption = monthly_consumption(installs_by_up[up["id"]], up_reads, months, fetched_from)
        views.append(
            {
                **{
                    k: up[k]
                    for k in (
                        "id",
                        "code",
                        "category",
                        "commodity",
                        "subscribed_power_kva",
                        "phases",
                        "connection_state",
                        "connection_state_at",
                    )
                },
                "premises": _premises(up),
                "meters": installs_by_up[up["id"]],
                "readings": [
                    {**r, "meter_serial": serial.get(r["meter_id"], "")}
                    for r in up_reads
                    if r["read_at"] >= window_from and _in_periods(r["read_at"], own)
                ],
                "consumption": [
                    c
                    for c in consumption
                    if (c["intervals"] or c["month"] != months[-2].strftime("%Y-%m"))
                    and _month_in_periods(c["month"], own)
                ],
            }
        )
    return views


def _window_model(months: list[datetime]) -> Window:
    return Window(readings_from=months[0], months=[m.strftime("%Y-%m") for m in months[:-1]])


def customer_360(
    session: Session, actor: Actor, party_id: int, *, now: datetime | None = None
) -> Customer360:
    """Everything known about customer ``party_id`` (404 when unknown or out of territory)."""
    agency_id = restricting_agency(session, actor)
    party = _party(session, party_id, agency_id)
    if party is None:
        raise PartyNotFoundError(f"no customer {party_id}")
    months, fetched_from = _window(now or datetime.now(UTC))
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
    contracts = _contracts(session, Contract.id.in_(theirs), agency_id)
    up_ids = list(dict.fromkeys(c["usage_point_id"] for c in contracts))
    periods: dict[int, list[tuple[Any, Any]]] = defaultdict(list)
    for c in contracts:
        if c["status"] != "cancelled":
            periods[c["usage_point_id"]].append((c["start_date"], c["end_date"]))
    ups = _usage_points(session, UsagePoint.id.in_(up_ids)) if up_ids else []
    installs = _installations(session, up_ids) if up_ids else []
    reads = _readings(session, installs, fetched_from)
    account_ids = {c["account_id"] for c in contracts}
    accounts = _accounts(
        session, or_(Account.payer_party_id == party_id, Account.id.in_(account_ids))
    )
    cases = _cases(session, Case.party_id == party_id, agency_id)
    interactions = _interactions(session, Interaction.party_id == party_id)
    order = {up_id: i for i, up_id in enumerate(up_ids)}
    views = sorted(
        _usage_point_views(ups, installs, reads, months, fetched_from, periods),
        key=lambda v: order[v["id"]],
    )
    return Customer360.model_validate(
        {
            "party": party,
            "accounts": accounts,
            "contracts": contracts,
            "usage_points": views,
            "cases": cases,
            "interactions": interactions,
            "window": _window_model(months),
        }
    )


def premises_360(
    session: Session, actor: Actor, location_id: int, *, now: datetime | None = None
) -> Premises360:
    """Everything known about premises ``location_id``, its occupants over time included."""
    agency_id = restricting_agency(session, actor)
    location = session.execute(
        select(*_premises_columns())
        .select_from(ServiceLocation)
        .outerjoin(ServicePoint, ServicePoint.id == ServiceLocation.service_point_id)
        .outerjoin(Feeder, Feeder.id == ServicePoint.feeder_id)
        .outerjoin(PowerTransformer, PowerTransformer.id == ServicePoint.transformer_id)
        .where(ServiceLocation.id == location_id, location_visible(agency_id))
    ).one_or_none()
    if location is None:
        raise ServiceLocationNotFoundError(f"no premises {location_id}")
    months, fetched_from = _window(now or datetime.now(UTC))
    ups = _usage_points(session, UsagePoint.service_location_id == location_id)
    up_ids = [u["id"] for u in ups]
    contracts = _contracts(session, UsagePoint.service_location_id == location_id, None)
    installs = _installations(session, up_ids) if up_ids else []
    reads = _readings(session, installs, fetched_from)
    at_premises = Case.service_location_id == location_id
    cases = _cases(
        session, or_(at_premises, Case.usage_point_id.in_(up_ids)) if up_ids else at_premises, None
    )
    case_ids = [c["id"] for c in cases]
    interactions = _interactions(session, Interaction.case_id.in_(case_ids)) if case_ids else []
    occupants = [
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
    return Premises360.model_validate(
        {
            "premises": _premises(dict(location._mapping)),
            "usage_points": _usage_point_views(ups, installs, reads, months, fetched_from),
            "contracts": contracts,
            "occupants": occupants,
            "cases": cases,
            "interactions": interactions,
            "window": _window_model(months),
        }
    )
