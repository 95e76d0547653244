"""Write the customer side of a plan with COPY: parties and their contacts and papers,
premises, usage points, accounts, contracts with roles and history, cases, interactions."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

import numpy as np
import shapely
from sqlalchemy.orm import Session

from core.bulk import copy_columns, next_values, reserve_ids, text_values
from customers.numbering import account_number_from
from customers.sla import SLA_WORKING_DAYS, add_working_days
from kilowatch.demo_utility.copying import Progress, ints
from kilowatch.demo_utility.network_input import NetworkInput
from kilowatch.demo_utility.plan_customers import CustomerPlan
from kilowatch.demo_utility.profiles import CATEGORIES

CASE_GROUP = {
    "complaint": "customer_desk",
    "meter_check": "technician",
    "data_correction": "customer_desk",
    "dispute": "billing_officer",
    "connection_request": "technician",
}


@dataclass
class CustomerIds:
    party: np.ndarray
    location: np.ndarray
    usage_point: np.ndarray
    account: np.ndarray
    contract: np.ndarray


def _stamp(day: object, hour: int = 9) -> str:
    return datetime.combine(day, time(hour), tzinfo=UTC).isoformat()  # type: ignore[arg-type]


def _documents(plan: CustomerPlan, party_ids: np.ndarray) -> dict[str, list[str]]:
    """A national id (NPI, 10 digits) for most people, the IFU (13 digits) of every
    organisation. Numbers are a bijection of the party id, so never collide."""
    rows = {"party_id": [], "document_type": [], "number": [], "number_normalized": []}
    for i, pid in enumerate(party_ids.tolist()):
        if plan.doc_type[i] == "national_id" and pid % 5 == 0:
            continue  # not everybody showed a paper
        scrambled = (pid * 7919 + 104_729) % 10**9
        number = f"3{scrambled:012d}" if plan.doc_type[i] == "tax_id" else f"1{scrambled:09d}"
        rows["party_id"].append(str(pid))
        rows["document_type"].append(plan.doc_type[i])
        rows["number"].append(number)
        rows["number_normalized"].append(number)
    rows["issuing_country"] = ["BJ"] * len(rows["party_id"])
    return rows


def _parties(
    session: Session, plan: CustomerPlan, agency_id: int | None, progress: Progress
) -> np.ndarray:
    n = plan.n
    ids = reserve_ids(session, "customer_party", n)
    copy_columns(
        session,
        "customer_party",
        {
            "id": ints(ids),
            "kind": ["organisation" if o else "person" for o in plan.is_org.tolist()],
            "display_name": text_values(plan.display_name),
            "first_name": text_values(plan.first_name),
            "last_name": text_values(plan.last_name),
            "organisation_name": text_values(plan.org_name),
            "language": ["fr"] * n,
            "status": ["active"] * n,
            "agency_id": text_values([agency_id] * n),
        },
        progress,
        "parties",
    )
    phone_party = np.concatenate([ids, ids[[p is not None for p in plan.phone2]]])
    phones = plan.phone + [p for p in plan.phone2 if p is not None]
    copy_columns(
        session,
        "customer_party_phone",
        {
            "party_id": ints(phone_party),
            "e164": phones,
            "raw": [f"+229 {p[4:6]} {p[6:8]} {p[8:10]} {p[10:12]} {p[12:14]}" for p in phones],
            "kind": ["mobile"] * len(phones),
            "is_primary": ["t"] * n + ["f"] * (len(phones) - n),
        },
        progress,
        "phones",
    )
    has_email = [e is not None for e in plan.email]
    copy_columns(
        session,
        "customer_party_email",
        {
            "party_id": ints(ids[has_email]),
            "email": [e for e in plan.email if e],
            "is_primary": ["t"] * sum(has_email),
        },
        progress,
        "e-mails",
    )
    copy_columns(
        session, "customer_identity_document", _documents(plan, ids), progress, "identity documents"
    )
    return ids


def _premises(
    session: Session, plan: CustomerPlan, net: NetworkInput, progress: Progress
) -> tuple[np.ndarray, np.ndarray]:
    n = plan.n
    location = reserve_ids(session, "customer_service_location", n)
    codes = next_values(session, "customer_service_location_code_seq", n)
    geoms = shapely.to_wkb(
        shapely.set_srid(shapely.points(plan.lon, plan.lat), 4326), hex=True, include_srid=True
    ).tolist()
    copy_columns(
        session,
        "customer_service_location",
        {
            "id": ints(location),
            "code": [f"PRM-{c:08d}" for c in codes],
            "address_line": text_values(plan.address_line),
            "unit": text_values(plan.unit),
            "district": text_values(plan.district),
            "city": text_values(plan.city),
            "region": text_values(plan.region),
            "country": ["BJ"] * n,
            "landmark": text_values(plan.landmark),
            "geom": geoms,
            "service_point_id": ints(net.sp_id[plan.sp_index]),
        },
        progress,
        "premises",
    )
    usage_point = reserve_ids(session, "customer_usage_point", n)
    codes = next_values(session, "customer_usage_point_code_seq", n)
    state = np.where(plan.disconnect_month >= 0, "disconnected", "connected").tolist()
    copy_columns(
        session,
        "customer_usage_point",
        {
            "id": ints(usage_point),
            "code": [f"UP-{c:08d}" for c in codes],
            "service_location_id": ints(location),
            "commodity": ["electricity"] * n,
            "category": [CATEGORIES[c] for c in plan.category.tolist()],
            "subscribed_power_kva": [f"{k:.2f}" for k in plan.kva.tolist()],
            "phases": ints(plan.phases),
            "connection_state": state,
        },
        progress,
        "usage points",
    )
    return location, usage_point


def _accounts(
    session: Session, plan: CustomerPlan, party: np.ndarray, progress: Progress
) -> np.ndarray:
    n = plan.n
    ids = reserve_ids(session, "customer_account", n)
    numbers = [
        account_number_from(v) for v in next_values(session, "customer_account_number_seq", n)
    ]
    copy_columns(
        session,
        "customer_account",
        {
            "id": ints(ids),
            "number": numbers,
            "payer_party_id": ints(party),
            "delivery_channel": plan.delivery_channel,
            "delivery_email": text_values(
                [
                    e if c == "email" else None
                    for e, c in zip(plan.email, plan.delivery_channel, strict=True)
                ]
            ),
            "delivery_phone": text_values(
                [
                    p if c == "sms" else None
                    for p, c in zip(plan.phone, plan.delivery_channel, strict=True)
                ]
            ),
            "language": ["fr"] * n,
            "status": ["open"] * n,
        },
        progress,
        "accounts",
    )
    return ids


def _contracts(
    session: Session,
    plan: CustomerPlan,
    party: np.ndarray,
    usage_point: np.ndarray,
    account: np.ndarray,
    progress: Progress,
) -> np.ndarray:
    k = len(plan.ct_party)
    ids = reserve_ids(session, "customer_contract", k)
    numbers = next_values(session, "customer_contract_number_seq", k)
    changed = [_stamp(end or start) for start, end in zip(plan.ct_start, plan.ct_end, strict=True)]
    copy_columns(
        session,
        "customer_contract",
        {
            "id": ints(ids),
            "number": [f"CT-{v:08d}" for v in numbers],
            "holder_party_id": ints(party[plan.ct_party]),
            "usage_point_id": ints(usage_point[plan.ct_usage_point]),
            "account_id": ints(account[plan.ct_party]),
            "tariff_code": plan.ct_tariff,
            "subscribed_power_kva": [f"{v:.2f}" for v in plan.kva[plan.ct_usage_point].tolist()],
            "start_date": [d.isoformat() for d in plan.ct_start],
            "end_date": text_values([d.isoformat() if d else None for d in plan.ct_end]),
            "status": plan.ct_status,
            "status_changed_at": changed,
        },
        progress,
        "contracts",
    )
    copy_columns(
        session,
        "customer_contract_role",
        {
            "contract_id": ints(ids[plan.role_contract]),
            "party_id": ints(party[plan.role_party]),
            "role": plan.role_name,
        },
        progress,
        "contract roles",
    )
    # The history: every contract moved in; ended ones moved out.
    ended = [i for i, e in enumerate(plan.ct_end) if e is not None]
    rows = [(i, "move_in", "pending", "active", plan.ct_start[i]) for i in range(k)]
    rows += [(i, "move_out", "active", "ended", plan.ct_end[i]) for i in ended]
    copy_columns(
        session,
        "customer_contract_transition",
        {
            "contract_id": [str(ids[r[0]]) for r in rows],
            "event": [r[1] for r in rows],
            "from_status": [r[2] for r in rows],
            "to_status": [r[3] for r in rows],
            "reason": ["demo utility"] * len(rows),
            "details": ["{}"] * len(rows),
            "actor": ["system"] * len(rows),
            "at": [_stamp(r[4]) for r in rows],
        },
        progress,
        "contract history",
    )
    return ids


def _cases(
    session: Session,
    plan: CustomerPlan,
    ids: CustomerIds,
    agency_id: int | None,
    today: object,
    progress: Progress,
) -> None:
    count = len(plan.case_party)
    case_ids = reserve_ids(session, "customer_case", count)
    numbers = next_values(session, "customer_case_number_seq", count)
    status, resolved, closed, due, breached = [], [], [], [], []
    for i in range(count):
        steps = plan.case_steps[i]
        opened = plan.case_opened[i]
        due_date = add_working_days(opened, SLA_WORKING_DAYS[plan.case_type[i]], "BJ")
        status.append(steps[-1][2] if steps else "open")
        done = {event: opened + timedelta(days=d) for event, _f, _t, d in steps}
        resolved.append(_stamp(done["resolve"], 15) if "resolve" in done else None)
        closed.append(_stamp(done["close"], 15) if "close" in done else None)
        finished = done.get("resolve", today)
        due.append(due_date.isoformat())
        breached.append("t" if finished > due_date else "f")  # type: ignore[operator]
    party = ids.party[plan.case_party]
    copy_columns(
        session,
        "customer_case",
        {
            "id": ints(case_ids),
            "number": [f"CS-{v:08d}" for v in numbers],
            "case_type": plan.case_type,
            "status": status,
            "priority": ["high" if t == "dispute" else "normal" for t in plan.case_type],
            "subject": plan.case_subject,
            "description": [""] * count,
            "party_id": ints(party),
            "service_location_id": ints(ids.location[plan.case_party]),
            "usage_point_id": ints(ids.usage_point[plan.case_party]),
            "agency_id": text_values([agency_id] * count),
            "assignee_group": [CASE_GROUP[t] for t in plan.case_type],
            "opened_at": [_stamp(d, 10) for d in plan.case_opened],
            "sla_working_days": [str(SLA_WORKING_DAYS[t]) for t in plan.case_type],
            "due_date": due,
            "sla_breached": breached,
            "resolved_at": text_values(resolved),
            "closed_at": text_values(closed),
            "resolution": text_values(["Traité" if r else None for r in resolved]),
        },
        progress,
        "cases",
    )
    changes = [(i, "open", None, "open", plan.case_opened[i]) for i in range(count)]
    for i in range(count):
        for event, before, after, days in plan.case_steps[i]:
            changes.append((i, event, before, after, plan.case_opened[i] + timedelta(days=days)))
    copy_columns(
        session,
        "customer_case_status_change",
        {
            "case_id": [str(case_ids[c[0]]) for c in changes],
            "event": [c[1] for c in changes],
            "from_status": text_values([c[2] for c in changes]),
            "to_status": [c[3] for c in changes],
            "actor": ["system"] * len(changes),
            "at": [_stamp(c[4], 11) for c in changes],
        },
        progress,
        "case history",
    )
    n_it = len(plan.it_party)
    case_of = np.where(plan.it_case >= 0, case_ids[np.maximum(plan.it_case, 0)] if count else 0, -1)
    copy_columns(
        session,
        "customer_interaction",
        {
            "party_id": ints(ids.party[plan.it_party]),
            "case_id": text_values([c if c >= 0 else None for c in case_of.tolist()]),
            "channel": plan.it_channel,
            "direction": plan.it_direction,
            "occurred_at": [_stamp(d, 10) for d in plan.it_day],
            "subject": plan.it_subject,
            "notes": [""] * n_it,
            "attachments": [json.dumps([])] * n_it,
        },
        progress,
        "interactions",
    )


def write_customers(
    session: Session,
    plan: CustomerPlan,
    net: NetworkInput,
    *,
    agency_id: int | None,
    today: object,
    progress: Progress,
) -> CustomerIds:
    party = _parties(session, plan, agency_id, progress)
    location, usage_point = _premises(session, plan, net, progress)
    account = _accounts(session, plan, party, progress)
    contract = _contracts(session, plan, party, usage_point, account, progress)
    ids = CustomerIds(party, location, usage_point, account, contract)
    _cases(session, plan, ids, agency_id, today, progress)
    return ids
