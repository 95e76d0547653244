"""Campaigns: cut, reduce power, restore or inspect the usage points chosen by criteria,
split among agents and ordered as routes (field's OR-Tools routing), worked from the
handheld (each visit is a field work order, carried by the existing sync), followed on a
map; power reduced or supply restored by a remote command where the meter is smart.

Criteria come from ``CRITERIA``, a registry of named SQL conditions over the usage point
(``up``), its active contract (``c``), premises (``sl``) and service point (``sp``): a
domain above, or collections when it lands (its cut-eligibility list), registers more
with ``register_criterion``. Outcomes come back with the work order's completion
(``finding``: ``paid_on_spot`` or nothing for done) or failure (its code).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from billing.payments import service as payments
from billing.payments.enums import ItemKind
from billing.payments.schemas import ReceivableItemCreate
from core.context import Actor
from core.errors import FieldError, InputInvalidError
from core.settings import get_settings
from core.territory import agency_allowed, rule_sql, visible
from customers.models import UsagePoint
from field import service as field
from field.enums import WorkOrderKind
from field.schemas import WorkOrderCreate
from revenue_protection import on_spot, supply_policy
from revenue_protection.errors import CampaignNotFoundError, ReferenceUnknownError
from revenue_protection.head_end import CommandOutcome, head_end
from revenue_protection.models import Campaign, CampaignItem


class CampaignInvalidError(InputInvalidError):
    code = "campaign_invalid"


@dataclass(frozen=True)
class Criterion:
    """A named condition: its SQL (bound parameter ``:<name>``) and the value's parser."""

    sql: str
    parse: Callable[[Any], Any]


CRITERIA: dict[str, Criterion] = {
    # What the account owes (receivable postings), at least this (minor units).
    "min_amount_due": Criterion(
        "(SELECT coalesce(sum(p.amount), 0) FROM billing_ledger_posting p "
        "JOIN billing_ledger_account a ON a.id = p.account_id AND a.per_customer_account "
        "WHERE p.customer_account_id = c.account_id) >= :min_amount_due",
        int,
    ),
    # Bills not fully paid (principal items with something left after allocations).
    "min_unpaid_bills": Criterion(
        "(SELECT count(*) FROM billing_receivable_item i WHERE i.customer_account_id = "
        "c.account_id AND i.kind = 'principal' AND i.amount > (SELECT coalesce(sum(x.amount), 0)"
        " FROM billing_payment_allocation x WHERE x.item_id = i.id AND x.released_at IS NULL))"
        " >= :min_unpaid_bills",
        int,
    ),
    "category": Criterion("up.category = :category", str),
    "connection_state": Criterion("up.connection_state = :connection_state", str),
    "feeder_id": Criterion("sp.feeder_id = :feeder_id", int),
    "transformer_id": Criterion("sp.transformer_id = :transformer_id", int),
    # A polygon drawn on the map (GeoJSON, EPSG:4326).
    "polygon": Criterion(
        "ST_Within(coalesce(sl.geom, sp.geom), ST_SetSRID(ST_GeomFromGeoJSON(:polygon), 4326))",
        lambda v: json.dumps(v),
    ),
    # The newest fraud score's probability of NTL, at least this.
    "min_fraud_score": Criterion(
        "(SELECT s.probability FROM fraud_score s WHERE s.usage_point_id = up.id "
        "ORDER BY s.id DESC LIMIT 1) >= :min_fraud_score",
        float,
    ),
    "usage_point_ids": Criterion("up.id = ANY(:usage_point_ids)", lambda v: [int(x) for x in v]),
    # Collections' cut-eligibility list on that date (ISO): overdue, a cut step done, and
    # no hold of collections (over its dates) blocking cuts that day.
    "cut_eligible_on": Criterion(
        "EXISTS (SELECT 1 FROM collection_file f WHERE f.customer_account_id = c.account_id"
        " AND f.status = 'overdue' AND f.overdue_amount > 0"
        " AND f.cut_eligible_since <= :cut_eligible_on"
        " AND NOT EXISTS (SELECT 1 FROM collection_hold h WHERE (h.customer_account_id ="
        " f.customer_account_id OR h.customer_account_id IS NULL) AND h.rule = 'dates'"
        " AND h.start_date <= :cut_eligible_on AND (h.end_date IS NULL OR"
        " h.end_date >= :cut_eligible_on) AND ('*' = ANY(h.blocks) OR"
        " 'cut_eligible' = ANY(h.blocks))))",
        lambda v: date.fromisoformat(str(v)),
    ),
}


def register_criterion(name: str, criterion: Criterion) -> None:
    """Add a criterion (e.g. collections' ``cut_eligible``)."""
    CRITERIA[name] = criterion


class CampaignCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    kind: str = Field(pattern="^(cut|reduce_power|restore|inspect)$")
    agency_id: int | None = None
    criteria: dict[str, Any] = Field(min_length=1)
    planned_date: date | None = None
    reconnection_fee: int = Field(0, ge=0)  # minor units, charged when a restore is done
    reduce_to_kva: Decimal | None = Field(None, gt=0, le=1000)


class CampaignDispatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    technician_ids: list[int] = Field(min_length=1, max_length=200)
    planned_date: date


_BASE = """
SELECT up.id, c.account_id,
       ST_X(ST_Transform(coalesce(sl.geom, sp.geom), :srid)),
       ST_Y(ST_Transform(coalesce(sl.geom, sp.geom), :srid))
FROM customer_usage_point up
JOIN customer_contract c ON c.usage_point_id = up.id AND c.status = 'active'
JOIN customer_service_location sl ON sl.id = up.service_location_id
LEFT JOIN gis_service_point sp ON sp.id = sl.service_point_id
"""


def select_points(session: Session, actor: Actor, criteria: dict[str, Any]) -> list[tuple]:
    """(usage point, account, x, y) of the points matching every criterion, in the
    actor's territory (x, y in the projected CRS, metres)."""
    unknown = sorted(set(criteria) - set(CRITERIA))
    if unknown:
        raise CampaignInvalidError(
            f"unknown criteria: {', '.join(unknown)}",
            errors=[FieldError("criteria", f"known: {', '.join(sorted(CRITERIA))}")],
        )
    clauses, params = [], {"srid": int(get_settings().projected_crs.split(":")[1])}
    for name, value in criteria.items():
        clauses.append(CRITERIA[name].sql)
        params[name] = CRITERIA[name].parse(value)
    territory = rule_sql(actor, UsagePoint, "up")
    if territory:
        clauses.append(territory)
    sql = _BASE + " WHERE " + " AND ".join(f"({c})" for c in clauses) + " ORDER BY up.id"
    return list(session.execute(text(sql), params).all())


def create_campaign(session: Session, *, actor: Actor, data: CampaignCreate) -> Campaign:
    """The campaign and its items (the points matching the criteria now). An agency or
    a usage point named outside the actor's territory is a 422 (reference_unknown)."""
    if data.agency_id is not None and not agency_allowed(session, actor, data.agency_id):
        raise ReferenceUnknownError(
            f"no agency {data.agency_id}",
            errors=[FieldError("agency_id", "unknown agency", "reference_unknown")],
        )
    named = data.criteria.get("usage_point_ids")
    if named:
        seen = set(
            session.scalars(
                select(UsagePoint.id).where(
                    UsagePoint.id.in_([int(x) for x in named]), visible(actor, UsagePoint)
                )
            )
        )
        missing = sorted({int(x) for x in named} - seen)
        if missing:
            raise ReferenceUnknownError(
                f"no usage point {missing[0]}",
                errors=[FieldError("criteria", "unknown usage point", "reference_unknown")],
            )
    try:
        points = select_points(session, actor, data.criteria)
    except ValueError as exc:  # a criterion's value its parser refused
        raise CampaignInvalidError(
            f"a criterion's value is invalid: {exc}", errors=[FieldError("criteria", str(exc))]
        ) from exc
    campaign = Campaign(
        name=data.name,
        kind=data.kind,
        agency_id=data.agency_id if data.agency_id is not None else actor.agency_id,
        criteria=data.criteria,
        status="built",
        planned_date=data.planned_date,
        reconnection_fee=data.reconnection_fee,
        reduce_to_kva=data.reduce_to_kva,
    )
    session.add(campaign)
    session.flush()
    actions = _actions(session, campaign, [p[0] for p in points])
    for up_id, account_id, _x, _y in points:
        action, limit = actions[up_id]
        session.add(
            CampaignItem(
                campaign_id=campaign.id, usage_point_id=up_id, account_id=account_id,
                action=action, limit_kva=limit,
            )
        )  # fmt: skip
    session.flush()
    return campaign


def _actions(
    session: Session, campaign: Campaign, usage_point_ids: list[int]
) -> dict[int, tuple[str, Decimal | None]]:
    """What each visit does: a cut campaign asks the reduce-instead-of-cut policy in force
    per customer; the other kinds do what they say."""
    if campaign.kind == "cut":
        on = campaign.planned_date or datetime.now(UTC).date()
        decided = supply_policy.decide_many(session, usage_point_ids, on)
        return {up: (d.action, d.limit_kva) for up, d in decided.items()}
    action = {"reduce_power": "reduce", "restore": "restore", "inspect": "inspect"}[campaign.kind]
    limit = supply_policy.kva(campaign.reduce_to_kva or 1) if action == "reduce" else None
    return {up: (action, limit) for up in usage_point_ids}


def get_campaign(session: Session, actor: Actor, campaign_id: int) -> Campaign:
    found = session.scalars(
        select(Campaign).where(Campaign.id == campaign_id, visible(actor, Campaign))
    ).first()
    if found is None:
        raise CampaignNotFoundError(f"no campaign {campaign_id}")
    return found


_SMART = """
SELECT m.serial FROM meter_installation i JOIN meter_asset m ON m.id = i.meter_id
WHERE i.usage_point_id = :up AND i.removed_at IS NULL AND m.meter_type = 'smart'
"""

KIND = {  # an item's action -> its work order's kind
    "cut": WorkOrderKind.CUT,
    "reduce": WorkOrderKind.REDUCE_POWER,
    "restore": WorkOrderKind.RESTORE,
    "inspect": WorkOrderKind.INSPECT,
}


def _action(campaign: Campaign, item: CampaignItem) -> str:
    """The item's action (items built before actions were recorded: the campaign's)."""
    if item.action is not None:
        return item.action
    return {"reduce_power": "reduce"}.get(campaign.kind, campaign.kind)


def dispatch(
    session: Session, *, actor: Actor, campaign_id: int, data: CampaignDispatch
) -> Campaign:
    """Split the pending items among the agents (contiguous slices of one route, so each
    agent walks a compact area), order each agent's stops with field's routing, and
    create and assign their work orders. A power reduction or a restoration at a smart
    meter is a remote command instead (a work order if the head-end fails)."""
    campaign = get_campaign(session, actor, campaign_id)
    if campaign.status not in ("built", "running"):
        raise CampaignInvalidError(f"campaign {campaign.id} is {campaign.status}")
    items = list(
        session.scalars(
            select(CampaignItem)
            .where(CampaignItem.campaign_id == campaign.id, CampaignItem.outcome == "pending",
                   CampaignItem.work_order_id.is_(None), CampaignItem.remote_ref.is_(None))
            .order_by(CampaignItem.id)
        )
    )  # fmt: skip
    items = [i for i in items if not _remote(session, campaign, i)]
    if not items:
        campaign.status = "running"
        session.flush()
        return campaign
    coords = dict(
        (r[0], (r[2] or 0.0, r[3] or 0.0))
        for r in select_points(
            session, actor, {"usage_point_ids": [i.usage_point_id for i in items]}
        )
    )
    route = field.order_stops([coords.get(i.usage_point_id, (0.0, 0.0)) for i in items])
    ordered = [items[k] for k in route]
    agents = data.technician_ids
    share = -(-len(ordered) // len(agents))  # ceiling
    for n, item in enumerate(ordered):
        technician_id = agents[n // share]
        action = _action(campaign, item)
        limit = supply_policy.kva(item.limit_kva or campaign.reduce_to_kva or 1)
        order = field.create_work_order(
            session,
            actor=actor,
            data=WorkOrderCreate(
                kind=KIND[action],
                usage_point_id=item.usage_point_id,
                agency_id=campaign.agency_id,
                priority=2,
                planned_date=data.planned_date,
                reason=f"campaign {campaign.name}",
                instructions={"campaign_id": campaign.id, "sequence": n % share + 1}
                | ({"limit_kva": str(limit)} if action == "reduce" else {}),
                source_key=f"campaign:{campaign.id}:{item.usage_point_id}",
            ),
        )
        field.assign_work_order(
            session, actor=actor, work_order_id=order.id, technician_id=technician_id
        )
        item.work_order_id, item.technician_id, item.sequence = (
            order.id,
            technician_id,
            n % share + 1,
        )
    campaign.status = "running"
    session.flush()
    return campaign


def _remote(session: Session, campaign: Campaign, item: CampaignItem) -> bool:
    """A remote command for a smart meter (reduce power, restore); True when done. A
    failed or timed-out command leaves the item to a work order."""
    action = _action(campaign, item)
    if action not in ("reduce", "restore"):
        return False
    serial = session.scalar(text(_SMART), {"up": item.usage_point_id})
    if serial is None:
        return False
    limit = supply_policy.kva(item.limit_kva or campaign.reduce_to_kva or 1)
    command = "connect" if action == "restore" else f"limit:{limit}"
    result = head_end().send(meter_serial=serial, command=command, timeout_s=5)
    if result.outcome is not CommandOutcome.ACKNOWLEDGED:
        return False
    from customers import service as customers
    from customers.enums import ConnectionState

    state = ConnectionState.CONNECTED if action == "restore" else ConnectionState.REDUCED
    customers.set_connection_state(session, usage_point_id=item.usage_point_id, state=state)
    item.remote_ref, item.outcome, item.outcome_at = result.reference, "done", datetime.now(UTC)
    _fee(session, campaign, item)
    return True


FAILURES = {
    "customer_refused": "refused",
    "no_access": "no_access",
    "meter_not_found": "meter_not_found",
}


def outcome_of_work_order(
    session: Session, *, work_order_id: int, finding: str | None, failure_code: str | None,
    at: datetime, paid: dict[str, Any] | None = None,
) -> None:  # fmt: skip
    """A campaign visit came back (completed or failed): its item's outcome. A customer
    who paid on the spot is not a cut done: the payment (``paid``) is recorded
    (``on_spot``) and no fee is charged."""
    item = session.scalars(
        select(CampaignItem).where(CampaignItem.work_order_id == work_order_id).with_for_update()
    ).first()
    if item is None or item.outcome != "pending":
        return
    campaign = session.get(Campaign, item.campaign_id)
    assert campaign is not None
    if failure_code is not None:
        item.outcome = FAILURES.get(failure_code, "failed")
    elif finding == "paid_on_spot":
        item.outcome = "paid_on_spot"
        if paid:
            on_spot.record(session, campaign, item, paid)
    else:
        item.outcome = "done"
    item.outcome_at = at
    if item.outcome == "done":
        _fee(session, campaign, item)
    pending = session.scalar(
        select(func.count()).where(
            CampaignItem.campaign_id == campaign.id, CampaignItem.outcome == "pending"
        )
    )
    if not pending:
        campaign.status = "closed"
    session.flush()


def _fee(session: Session, campaign: Campaign, item: CampaignItem) -> None:
    """The reconnection fee the campaign's policy sets, charged when a restore is done."""
    if campaign.kind != "restore" or not campaign.reconnection_fee or item.account_id is None:
        return
    from core.context import SYSTEM

    payments.charge(
        session,
        SYSTEM,
        data=ReceivableItemCreate(
            customer_account_id=item.account_id,
            kind=ItemKind.FEE,
            document_ref=f"RECON-{campaign.id}-{item.usage_point_id}",
            due_date=datetime.now(UTC).date(),
            amount=campaign.reconnection_fee,
            memo=f"reconnection fee, campaign {campaign.name}",
        ),
    )


class CampaignProgress(BaseModel):
    campaign_id: int
    status: str
    outcomes: dict[str, int]
    per_agent: dict[str, dict[str, int]]


def progress(session: Session, *, actor: Actor, campaign_id: int) -> CampaignProgress:
    campaign = get_campaign(session, actor, campaign_id)
    outcomes: dict[str, int] = {}
    per_agent: dict[str, dict[str, int]] = {}
    for tech, outcome, n in session.execute(
        select(CampaignItem.technician_id, CampaignItem.outcome, func.count())
        .where(CampaignItem.campaign_id == campaign.id)
        .group_by(CampaignItem.technician_id, CampaignItem.outcome)
    ):
        outcomes[outcome] = outcomes.get(outcome, 0) + n
        per_agent.setdefault(str(tech or "remote"), {})[outcome] = n
    return CampaignProgress(
        campaign_id=campaign.id, status=campaign.status, outcomes=outcomes, per_agent=per_agent
    )


_MAP = """
SELECT i.usage_point_id, i.outcome, i.technician_id, i.sequence,
       ST_AsGeoJSON(coalesce(sl.geom, sp.geom))::json, i.action, i.limit_kva::float8,
       i.paid_amount, i.paid_reference, i.paid_status
FROM rp_campaign_item i
JOIN customer_usage_point up ON up.id = i.usage_point_id
JOIN customer_service_location sl ON sl.id = up.service_location_id
LEFT JOIN gis_service_point sp ON sp.id = sl.service_point_id
WHERE i.campaign_id = :c ORDER BY i.technician_id, i.sequence
"""


def campaign_map(session: Session, *, actor: Actor, campaign_id: int) -> dict[str, Any]:
    """The campaign's stops as GeoJSON (RFC 7946): each with its outcome, agent, order,
    what the visit does (cut or reduce, to how many kVA) and, paid on the spot, what was
    paid and whether it is posted or a claim to verify."""
    campaign = get_campaign(session, actor, campaign_id)
    features = [
        {
            "type": "Feature",
            "geometry": geom,
            "properties": {
                "usage_point_id": up,
                "outcome": outcome,
                "technician_id": tech,
                "sequence": seq,
                "action": action,
                "limit_kva": limit,
                "paid_amount": paid_amount,
                "paid_reference": paid_ref,
                "paid_status": paid_status,
            },
        }
        for up, outcome, tech, seq, geom, action, limit, paid_amount, paid_ref, paid_status in (
            session.execute(text(_MAP), {"c": campaign.id})
        )
    ]
    return {"type": "FeatureCollection", "features": features}
