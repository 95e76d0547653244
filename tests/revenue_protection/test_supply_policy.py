"""Reduce instead of cut: the policy (versioned data) decides per customer, a cut campaign
reduces the protected ones (a remote limit at a smart meter, else a reduce-power order),
and collections' cut list says, per account, what a visit would do."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select, text

from billing.collections.models import CollectionFile, CollectionHold
from core.context import SYSTEM
from field.models import WorkOrder
from revenue_protection import campaigns, supply_policy
from revenue_protection.head_end import SimulatedHeadEnd, use_head_end
from revenue_protection.models import CampaignItem
from revenue_protection.supply_policy import Facts, PolicyRule, SupplyPolicy
from tests.billing.world import customer
from tests.conftest import TEST_PASSWORD, bearer

DAY = date(2026, 2, 11)
POLICY = SupplyPolicy(
    rules=[
        # A vulnerable or medical household is limited to 1 kVA, never cut.
        PolicyRule(vulnerable=True, action="reduce", limit_kva=Decimal(1), reason="vulnerable"),
        # A small residential supply (2 kVA or less) keeps 0.5 kVA.
        PolicyRule(
            categories=["residential"],
            max_subscribed_kva=Decimal(2),
            action="reduce",
            limit_kva=Decimal("0.5"),
        ),
        # A commercial customer with a smart meter is cut even if small.
        PolicyRule(categories=["commercial"], meter_types=["smart"], action="cut"),
    ]
)


def test_the_first_matching_rule_decides_and_none_means_a_cut() -> None:
    def facts(category: str, kva: str, vulnerable: bool, meter: str) -> Facts:
        return Facts(1, category, Decimal(kva), vulnerable, meter)

    decide = supply_policy.decide
    assert decide(POLICY, facts("commercial", "1", True, "smart")).action == "reduce"  # rule 0
    small = decide(POLICY, facts("residential", "2", False, "postpaid"))
    assert (small.action, small.limit_kva, small.rule) == ("reduce", Decimal("0.5"), 1)
    assert decide(POLICY, facts("residential", "2.01", False, "postpaid")).rule is None
    cut = decide(POLICY, facts("commercial", "1", False, "smart"))
    assert (cut.action, cut.limit_kva, cut.rule) == ("cut", None, 2)
    assert decide(POLICY, facts("commercial", "1", False, "postpaid")).rule is None
    assert decide(supply_policy.EVERYONE_CUT, facts("residential", "1", True, "smart")) == (
        supply_policy.Decision("cut", None, None)
    )


def _vulnerable(db, account_id: int, blocks: list[str]) -> None:
    db.add(
        CollectionHold(
            customer_account_id=account_id, kind="vulnerable", blocks=blocks,
            start_date=date(2026, 1, 1), reason="elderly, alone",
        )
    )  # fmt: skip
    db.flush()


def _world(db):
    """vulnerable (postpaid), vulnerable_smart, small (1.5 kVA), commercial (smart)."""
    vulnerable = customer(db)
    _vulnerable(db, vulnerable.account_id, ["notice"])
    vulnerable_smart = customer(db)
    _vulnerable(db, vulnerable_smart.account_id, ["notice"])
    small = customer(db)
    commercial = customer(db, category="commercial")
    db.execute(
        text("UPDATE customer_usage_point SET subscribed_power_kva = 1.5 WHERE id = :up"),
        {"up": small.usage_point_id},
    )
    db.execute(
        text("UPDATE meter_asset SET meter_type = 'smart' WHERE serial = ANY(:s)"),
        {"s": [vulnerable_smart.meter_serial, commercial.meter_serial]},
    )
    return vulnerable, vulnerable_smart, small, commercial


def test_a_cut_campaign_reduces_whom_the_policy_protects(db, make_technician) -> None:
    supply_policy.publish(db, policy=SupplyPolicy(rules=[]), note="first: cut everyone")
    row = supply_policy.publish(db, policy=POLICY, note="winter 2026")
    assert supply_policy.policy_in_force(db) == (POLICY, row.version)
    vulnerable, vulnerable_smart, small, commercial = _world(db)
    ids = [w.usage_point_id for w in (vulnerable, vulnerable_smart, small, commercial)]
    simulated = SimulatedHeadEnd()
    previous = use_head_end(simulated)
    try:
        campaign = campaigns.create_campaign(
            db,
            actor=SYSTEM,
            data=campaigns.CampaignCreate(
                name="Feb cuts", kind="cut", planned_date=DAY, criteria={"usage_point_ids": ids}
            ),
        )
        items = {
            i.usage_point_id: i
            for i in db.scalars(select(CampaignItem).where(CampaignItem.campaign_id == campaign.id))
        }
        assert {up: (i.action, i.limit_kva) for up, i in items.items()} == {
            vulnerable.usage_point_id: ("reduce", Decimal(1)),
            vulnerable_smart.usage_point_id: ("reduce", Decimal(1)),
            small.usage_point_id: ("reduce", Decimal("0.5")),
            commercial.usage_point_id: ("cut", None),
        }
        technician, _actor = make_technician()
        campaigns.dispatch(
            db,
            actor=SYSTEM,
            campaign_id=campaign.id,
            data=campaigns.CampaignDispatch(technician_ids=[technician.id], planned_date=DAY),
        )
    finally:
        use_head_end(previous)
    db.expire_all()
    # The smart meter of the vulnerable customer is limited remotely; the commercial
    # customer's smart meter is cut in the field (a cut is not a remote command here).
    assert simulated.sent == [(vulnerable_smart.meter_serial, "limit:1.00")]
    state = db.scalar(
        text("SELECT connection_state FROM customer_usage_point WHERE id = :up"),
        {"up": vulnerable_smart.usage_point_id},
    )
    assert state == "reduced"
    orders = {
        o.usage_point_id: (o.kind, o.instructions.get("limit_kva"))
        for o in db.scalars(
            select(WorkOrder).where(WorkOrder.usage_point_id.in_(ids))
        )
    }  # fmt: skip
    assert orders == {
        vulnerable.usage_point_id: ("reduce_power", "1.00"),
        small.usage_point_id: ("reduce_power", "0.50"),
        commercial.usage_point_id: ("cut", None),
    }


def test_the_cut_list_says_cut_or_reduce_per_account(db, client, make_user) -> None:
    supply_policy.publish(db, policy=POLICY)
    vulnerable, _vulnerable_smart, small, commercial = _world(db)
    for who, owed in ((vulnerable, 3000), (small, 2000), (commercial, 1000)):
        db.add(
            CollectionFile(
                customer_account_id=who.account_id, status="overdue", overdue_amount=owed,
                unpaid_bills=1, oldest_due_date=date(2026, 1, 1), cut_eligible_since=DAY,
            )
        )  # fmt: skip
    db.flush()
    agent = bearer(make_user("recovery_agent"))
    answer = client.get(
        "/api/v1/collections/cut-eligible", headers=agent, params={"on": DAY.isoformat()}
    )
    assert answer.status_code == 200, answer.text
    mine = {vulnerable.account_id, small.account_id, commercial.account_id}
    seen = {
        r["customer_account_id"]: (r["supply_action"], r["limit_kva"])
        for r in answer.json()["items"]
        if r["customer_account_id"] in mine
    }
    assert seen == {
        vulnerable.account_id: ("reduce", "1.00"),
        small.account_id: ("reduce", "0.50"),
        commercial.account_id: ("cut", None),
    }
    exported = client.get(
        "/api/v1/collections/cut-eligible.csv", headers=agent, params={"on": DAY.isoformat()}
    ).text
    header, *lines = exported.splitlines()
    assert header.endswith(",supply_action,limit_kva")
    by_account = {line.split(",")[0]: line.split(",")[-2:] for line in lines}
    assert by_account[str(small.account_id)] == ["reduce", "0.50"]
    assert by_account[str(commercial.account_id)] == ["cut", ""]
    # The page says it too.
    make_user("recovery_agent", username="page-rp-cut-list")
    client.post("/login", data={"username": "page-rp-cut-list", "password": TEST_PASSWORD})
    page = client.get("/collections/cut-eligible", params={"on": DAY.isoformat()})
    assert page.status_code == 200 and "reduce to 0.50 kVA" in page.text
    # A cut campaign built from that list (the criterion) takes the same accounts.
    points = campaigns.select_points(db, SYSTEM, {"cut_eligible_on": DAY.isoformat()})
    assert {p[1] for p in points} >= mine


def test_the_policy_is_published_over_http_and_checked(db, client, make_user) -> None:
    analyst = bearer(make_user("fraud_analyst"))
    manager = bearer(make_user("manager"))
    url = "/api/v1/revenue-protection/supply-policy"
    body = {"policy": POLICY.model_dump(mode="json"), "note": "winter"}
    assert client.post(url, json=body, headers=manager).status_code == 403
    made = client.post(url, json=body, headers=analyst)
    assert made.status_code == 201, made.text
    bad = client.post(url, json={"policy": {"rules": [{"action": "unplug"}]}}, headers=analyst)
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    listed = client.get(url, headers=manager).json()
    assert listed[0]["version"] == made.json()["version"]
    assert listed[0]["definition"]["rules"][1]["limit_kva"] == "0.5"
