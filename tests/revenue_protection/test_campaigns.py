"""Campaigns: built from criteria (amount due, a drawn polygon ...), split among two
agents as routes, worked through field work orders, outcomes back through field's events,
followed on a map; a restore campaign at a smart meter goes remote and charges the fee."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select, text

from billing.invoices import service as invoices
from billing.invoices.enums import InvoiceReason
from core.context import SYSTEM
from core.outbox import InTransactionDispatcher, use_dispatcher
from core.periods import Period
from customers import service as customers
from customers.enums import ConnectionState
from customers.models import UsagePoint
from field import service as field
from field.enums import FailureCode
from field.models import WorkOrder
from field.schemas import WorkOrderFailure, WorkOrderOutcome
from revenue_protection import campaigns
from revenue_protection.head_end import SimulatedHeadEnd, use_head_end
from revenue_protection.models import CampaignItem
from tests.billing.world import at, customer
from tests.conftest import TEST_PASSWORD

DAY = date(2026, 2, 11)  # a Wednesday
INSIDE = {
    "type": "Polygon",
    "coordinates": [[[2.39, 6.39], [2.435, 6.39], [2.435, 6.41], [2.39, 6.41], [2.39, 6.39]]],
}


def _placed(db, lon: float, *, owes: bool):
    who = customer(db)
    db.execute(
        text(
            "UPDATE customer_service_location SET geom = ST_SetSRID(ST_MakePoint(:x, 6.40), 4326)"
            " WHERE id = (SELECT service_location_id FROM customer_usage_point WHERE id = :up)"
        ),
        {"x": lon, "up": who.usage_point_id},
    )
    if owes:
        invoices.issue_bill(
            db,
            SYSTEM,
            contract_id=who.contract_id,
            period=Period(date(2026, 1, 1), date(2026, 2, 1)),
            kwh={"total": Decimal(120)},
            reason=InvoiceReason.CYCLE,
        )
    return who


def test_a_cut_campaign_from_criteria_split_worked_and_mapped(
    db, make_technician, client, make_user
) -> None:
    a, b, c = (_placed(db, x, owes=True) for x in (2.40, 2.41, 2.42))
    _placed(db, 2.425, owes=False)  # inside, owes nothing
    _placed(db, 2.45, owes=True)  # owes, outside the polygon
    with pytest.raises(campaigns.CampaignInvalidError):
        campaigns.select_points(db, SYSTEM, {"shoe_size": 42})
    campaign = campaigns.create_campaign(
        db,
        actor=SYSTEM,
        data=campaigns.CampaignCreate(
            name="Feb cuts",
            kind="cut",
            criteria={"min_amount_due": 1, "polygon": INSIDE, "category": "residential"},
        ),
    )
    items = db.scalars(select(CampaignItem).where(CampaignItem.campaign_id == campaign.id)).all()
    assert {i.usage_point_id for i in items} == {
        a.usage_point_id,
        b.usage_point_id,
        c.usage_point_id,
    }

    (t1, tech1), (t2, tech2) = make_technician(), make_technician()
    campaigns.dispatch(
        db,
        actor=SYSTEM,
        campaign_id=campaign.id,
        data=campaigns.CampaignDispatch(technician_ids=[t1.id, t2.id], planned_date=DAY),
    )
    db.flush()
    items = db.scalars(
        select(CampaignItem)
        .where(CampaignItem.campaign_id == campaign.id)
        .order_by(CampaignItem.technician_id, CampaignItem.sequence)
    ).all()
    # Three stops for two agents: the first two of the route to the first, one to the other.
    assert [(i.technician_id, i.sequence) for i in items] == [(t1.id, 1), (t1.id, 2), (t2.id, 1)]
    # The route walks west to east (the south-westernmost first, straight line).
    assert [i.usage_point_id for i in items] == [
        a.usage_point_id,
        b.usage_point_id,
        c.usage_point_id,
    ]
    orders = [db.get(WorkOrder, i.work_order_id) for i in items]
    assert {(o.kind, o.status) for o in orders} == {("cut", "assigned")}

    field.complete_work_order(
        db, actor=tech1, work_order_id=orders[0].id, outcome=WorkOrderOutcome(completed_at=at(DAY))
    )
    field.fail_work_order(
        db,
        actor=tech1,
        work_order_id=orders[1].id,
        failure=WorkOrderFailure(code=FailureCode.CUSTOMER_REFUSED, at=at(DAY)),
    )
    field.fail_work_order(
        db,
        actor=tech2,
        work_order_id=orders[2].id,
        failure=WorkOrderFailure(code=FailureCode.NO_ACCESS, at=at(DAY)),
    )
    with use_dispatcher(InTransactionDispatcher()):
        db.commit()
    db.expire_all()
    seen = campaigns.progress(db, actor=SYSTEM, campaign_id=campaign.id)
    assert seen.status == "closed"
    assert seen.outcomes == {"done": 1, "refused": 1, "no_access": 1}
    assert seen.per_agent[str(t1.id)] == {"done": 1, "refused": 1}
    assert db.get(UsagePoint, a.usage_point_id).connection_state == "disconnected"
    shown = campaigns.campaign_map(db, actor=SYSTEM, campaign_id=campaign.id)
    assert {f["properties"]["outcome"] for f in shown["features"]} == {
        "done",
        "refused",
        "no_access",
    }
    assert shown["features"][0]["geometry"]["coordinates"] == [2.40, 6.40]
    # Followed on a map: the campaign's page with its stops coloured by outcome.
    make_user("manager", username="page-rp-manager")
    client.post("/login", data={"username": "page-rp-manager", "password": TEST_PASSWORD})
    page = client.get(f"/revenue-protection/campaigns/{campaign.id}")
    assert page.status_code == 200 and '"outcome": "refused"' in page.text


def test_a_restore_campaign_goes_remote_at_smart_meters_and_charges_the_fee(db) -> None:
    simulated = SimulatedHeadEnd()
    previous = use_head_end(simulated)
    try:
        who = _placed(db, 2.40, owes=False)
        db.execute(
            text("UPDATE meter_asset SET meter_type = 'smart' WHERE serial = :s"),
            {"s": who.meter_serial},
        )
        customers.set_connection_state(
            db, usage_point_id=who.usage_point_id, state=ConnectionState.DISCONNECTED
        )
        campaign = campaigns.create_campaign(
            db,
            actor=SYSTEM,
            data=campaigns.CampaignCreate(
                name="Restore", kind="restore", reconnection_fee=2000,
                criteria={"usage_point_ids": [who.usage_point_id],
                          "connection_state": "disconnected"},
            ),
        )  # fmt: skip
        campaigns.dispatch(
            db,
            actor=SYSTEM,
            campaign_id=campaign.id,
            data=campaigns.CampaignDispatch(technician_ids=[1], planned_date=DAY),
        )
    finally:
        use_head_end(previous)
    assert simulated.sent == [(who.meter_serial, "connect")]
    [item] = db.scalars(select(CampaignItem).where(CampaignItem.campaign_id == campaign.id))
    assert (item.outcome, item.work_order_id) == ("done", None)
    assert db.get(UsagePoint, who.usage_point_id).connection_state == "connected"
    fee = db.execute(
        text("SELECT kind, amount FROM billing_receivable_item WHERE customer_account_id = :a"),
        {"a": who.account_id},
    ).all()
    assert [tuple(f) for f in fee] == [("fee", 2000)]
