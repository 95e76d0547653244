"""The collections pages, signed in as staff: the aged debt (buckets x agency x category,
totals against the ledger, chart), the collector's worklist, the dunning policy editor,
the payment plan form and view, and an account's timeline. Each page needs its scope and
shows only the caller's territory (an officer of agency NORD never sees SUD's accounts).

Business day 30 June 2026; days late = 30 June less the due date."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest
from geoalchemy2 import WKTElement
from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.collections.models import CollectionPolicy, CollectionStep, PaymentPlan
from billing.ledger import repository as ledger_repository
from core.auth.models import Agency
from customers.models import Account, Contract, Party, ServiceLocation, UsagePoint
from tests.billing.collections.helpers import DUE, nights, policy
from tests.billing.payments.helpers import invoice, make_account, pay
from tests.conftest import bearer

ON = date(2026, 6, 30)
NORD_AREA = "MULTIPOLYGON(((2.0 6.0, 2.5 6.0, 2.5 6.5, 2.0 6.5, 2.0 6.0)))"
SUD_AREA = "MULTIPOLYGON(((3.0 6.0, 3.5 6.0, 3.5 6.5, 3.0 6.5, 3.0 6.0)))"


def _agency(db: Session, code: str, area: str) -> Agency:
    agency = Agency(code=code, name=code, territory=WKTElement(area, srid=4326))
    db.add(agency)
    db.flush()
    return agency


def _customer(db: Session, agency: Agency, category: str, lon: float) -> Account:
    """An account whose payer the agency registered, supplied at premises inside it."""
    account = make_account(db)
    db.get(Party, account.payer_party_id).agency_id = agency.id
    tag = uuid.uuid4().hex[:8]
    premises = ServiceLocation(
        code=f"PRM-{tag}", address_line="rue", city="Cotonou",
        geom=WKTElement(f"POINT({lon} 6.2)", srid=4326),
    )  # fmt: skip
    db.add(premises)
    db.flush()
    point = UsagePoint(
        code=f"UP-{tag}", service_location_id=premises.id, category=category,
        subscribed_power_kva=Decimal("3.3"),
    )  # fmt: skip
    db.add(point)
    db.flush()
    db.add(
        Contract(
            number=f"CT-{tag}",
            holder_party_id=account.payer_party_id,
            usage_point_id=point.id,
            account_id=account.id,
            tariff_code="BT1-DOM",
            subscribed_power_kva=Decimal("3.3"),
            start_date=date(2025, 1, 1),
            status="active",
        )
    )
    db.flush()
    return account


@pytest.fixture()
def world(db: Session) -> dict:
    """NORD: a1 (residential) owes 10 000 due 20 June (10 days late: 0-30) and 20 000 due
    30 April (61 days: 61-90) of which 4 000 paid (oldest first: 16 000 left); a2
    (commercial) owes 30 000 due 1 May (60 days: 31-60) and 40 000 due 1 December 2025
    (211 days: >180). SUD: a3 (residential) owes 50 000 due 28 February (122 days: 91-180)
    and 5 000 due 15 July (not yet due: not in the aged debt)."""
    tag = uuid.uuid4().hex[:6].upper()
    nord = _agency(db, f"NORD-{tag}", NORD_AREA)
    sud = _agency(db, f"SUD-{tag}", SUD_AREA)
    a1 = _customer(db, nord, "residential", 2.2)
    a2 = _customer(db, nord, "commercial", 2.3)
    a3 = _customer(db, sud, "residential", 3.2)
    invoice(db, a1, 10_000, date(2026, 6, 20), f"F-{tag}-1")
    invoice(db, a1, 20_000, date(2026, 4, 30), f"F-{tag}-2")
    pay(db, a1, 4_000, date(2026, 6, 25))
    invoice(db, a2, 30_000, date(2026, 5, 1), f"F-{tag}-3")
    invoice(db, a2, 40_000, date(2025, 12, 1), f"F-{tag}-4")
    invoice(db, a3, 50_000, date(2026, 2, 28), f"F-{tag}-5")
    invoice(db, a3, 5_000, date(2026, 7, 15), f"F-{tag}-6")
    db.commit()
    # Plain values: a request closes the session the test shares with the app.
    return {"nord": nord.id, "nord_code": nord.code, "sud": sud.id, "sud_code": sud.code,
            "a1": a1.id, "a2": a2.id, "a3": a3.id}  # fmt: skip


def _sign_in(client, token: str) -> None:
    client.cookies.clear()
    client.cookies.set("kw_token", token)  # pages read the session cookie


def test_aged_debt_by_bucket_agency_and_category_adds_up_to_the_ledger(
    client, db, make_user, world
) -> None:
    headers = bearer(make_user("manager"))
    got = {}
    for agency in ("nord", "sud"):
        got[agency] = client.get(
            "/api/v1/collections/aged-debt",
            params={"on": ON.isoformat(), "agency_id": world[agency]},
            headers=headers,
        ).json()
    nord, sud = got["nord"], got["sud"]
    rows = {(r["agency_code"], r["category"]): r for r in nord["rows"] + sud["rows"]}
    buckets = ("d0_30", "d31_60", "d61_90", "d91_180", "d181")
    assert {k: [r[b] for b in buckets] + [r["total"]] for k, r in rows.items()} == {
        (world["nord_code"], "commercial"): [0, 30_000, 0, 0, 40_000, 70_000],
        (world["nord_code"], "residential"): [10_000, 0, 16_000, 0, 0, 26_000],
        (world["sud_code"], "residential"): [0, 0, 0, 50_000, 0, 50_000],
    }
    assert [nord["totals"][b] for b in buckets] == [10_000, 30_000, 16_000, 0, 40_000]
    assert nord["totals"]["total"] == 96_000 and nord["totals"]["accounts"] == 2
    # The ledger: a1 26 000 (30 000 - 4 000) + a2 70 000 + a3 55 000 = 151 000, of which
    # 5 000 (a3's bill due 15 July) is not yet due.
    books = ledger_repository.balances(db, [world["a1"], world["a2"], world["a3"]])
    ledger = sum(b.get("XOF", 0) for b in books.values())
    assert ledger == 151_000
    assert nord["totals"]["total"] + sud["totals"]["total"] == ledger - 5_000
    # The category filter keeps the residential lines only.
    residential = client.get(
        "/api/v1/collections/aged-debt",
        params={"on": ON.isoformat(), "agency_id": world["nord"], "category": "residential"},
        headers=headers,
    ).json()
    assert residential["totals"]["total"] == 26_000
    # The page: the table, its totals and the chart's data.
    _sign_in(client, make_user("manager"))
    page = client.get("/collections/aged-debt", params={"on": ON.isoformat(),
                                                        "agency_id": world["nord"]})  # fmt: skip
    assert page.status_code == 200
    assert 'data-testid="aged-chart"' in page.text and "chart.umd.min.js" in page.text
    totals = page.text.split('data-testid="aged-totals"')[1].split("</tr>")[0]
    assert "96" in totals and "000" in totals
    assert world["sud_code"] not in page.text.split("<tbody>")[1]


def test_pages_need_their_scope_and_keep_to_the_territory(client, db, make_user, world) -> None:
    _sign_in(client, make_user("cashier"))  # no collections:read
    for path in ("/collections/aged-debt", "/collections/worklist"):
        assert client.get(path).status_code == 403
    _sign_in(client, make_user("recovery_agent"))  # reads, may not edit
    assert client.get("/collections/worklist").status_code == 200
    assert client.get("/collections/policies/new").status_code == 403
    assert client.get(f"/collections/accounts/{world['a1']}/plans/new").status_code == 403
    # An officer of NORD: SUD's accounts are not found, SUD's debt not shown.
    _sign_in(client, make_user("billing_officer", agency=world["nord_code"]))
    a3 = world["a3"]
    assert client.get(f"/collections/accounts/{a3}").status_code == 404
    assert client.get(f"/collections/accounts/{a3}/plans/new").status_code == 404
    assert client.get(f"/collections/accounts/{world['a1']}").status_code == 200
    page = client.get("/collections/aged-debt", params={"on": ON.isoformat()})
    assert world["nord_code"] in page.text and world["sud_code"] not in page.text
    plan = PaymentPlan(customer_account_id=a3, item_ids=[], principal=1, agreed_on=ON)
    db.add(plan)
    db.commit()
    plan_id = plan.id
    assert client.get(f"/collections/plans/{plan_id}").status_code == 404
    officer = bearer(make_user("billing_officer", agency=world["nord_code"]))
    assert client.get(f"/api/v1/collections/plans/{plan_id}", headers=officer).status_code == 404
    timeline = client.get(f"/api/v1/collections/accounts/{a3}/timeline", headers=officer)
    assert timeline.status_code == 404


def test_worklist_lists_accounts_at_a_step_with_the_next_action(client, db, make_user) -> None:
    """Three accounts with a bill due Thursday 30 April 2026 (the dunning helpers' policy:
    reminder by SMS 5 working days after, formal notice by letter 10, cut 15). On 11 May:
    the reminders were sent on 8 May (no phone: notice not delivered); on 19 May the
    letters went out on 18 May (to print)."""
    policy(db, rate="0")
    accounts = [make_account(db) for _ in range(3)]
    ids, numbers = {a.id for a in accounts}, [a.number for a in accounts]
    for n, (account, amount) in enumerate(zip(accounts, (30_000, 50_000, 40_000), strict=True)):
        invoice(db, account, amount, DUE, f"F-WL-{uuid.uuid4().hex[:6]}-{n}")
    nights(db, date(2026, 5, 1), date(2026, 5, 11))
    from billing.collections import notices
    from core.context import SYSTEM

    notices.send_pending(db, SYSTEM)
    db.commit()
    headers = bearer(make_user("recovery_agent"))
    listed = client.get(
        "/api/v1/collections/worklist", params={"on": "2026-05-11"}, headers=headers
    ).json()
    ours = [r for r in listed["items"] if r["customer_account_id"] in ids]
    assert [r["overdue_amount"] for r in ours] == [50_000, 40_000, 30_000]  # largest first
    first = ours[0]
    assert (first["step_code"], first["step_done_on"], first["days_overdue"]) == (
        "reminder", "2026-05-08", 11,  # 11 May - 30 April
    )  # fmt: skip
    assert first["next_action"] == "find_contact"  # no phone on file: the SMS was not sent
    assert (first["next_step_code"], first["next_step_date"]) == ("formal_notice", "2026-05-18")
    nights(db, date(2026, 5, 12), date(2026, 5, 19))
    notices.send_pending(db, SYSTEM)
    db.commit()
    _sign_in(client, make_user("recovery_agent"))
    page = client.get("/collections/worklist", params={"on": "2026-05-19", "sort": "age"})
    assert page.status_code == 200
    assert "print and post the letter" in page.text
    assert all(number in page.text for number in numbers)


def _policy_form(code: str, steps: list[tuple[str, str, str, str, str, str, str]]) -> dict:
    form: dict[str, list[str] | str] = {"code": code, "name": "Business", "category": "commercial",
                                        "interest_percent": "12", "interest_day_count": "ACT/365"}  # fmt: skip
    for i, key in enumerate(("step_code", "step_delay", "step_unit", "step_min",
                             "step_channel", "step_fee", "step_action")):  # fmt: skip
        form[key] = [s[i] for s in steps]
    return form


def test_policy_editor_creates_edits_and_shows_validation_errors(client, db, make_user) -> None:
    _sign_in(client, make_user("billing_officer"))
    assert client.get("/collections/policies/new").status_code == 200
    code = f"biz-{uuid.uuid4().hex[:6]}"
    bad = client.post(
        "/collections/policies/new",
        data=_policy_form(code, [
            ("reminder", "five", "working_days", "", "sms", "", "notice"),
            ("reminder", "10", "days", "", "carrier_pigeon", "", "notice"),
        ]),
    )  # fmt: skip
    assert bad.status_code == 422
    assert 'data-testid="form-errors"' in bad.text
    assert "step 1 delay" in bad.text and "step 2 channel" in bad.text
    assert db.scalar(select(CollectionPolicy).where(CollectionPolicy.code == code)) is None
    created = client.post(
        "/collections/policies/new",
        data=_policy_form(code, [
            ("reminder", "5", "working_days", "1000", "sms", "", "notice"),
            ("cut", "20", "days", "", "field_visit", "2500", "cut_eligible"),
            ("", "", "days", "", "sms", "", "notice"),  # an empty row is left out
        ]),
        follow_redirects=False,
    )  # fmt: skip
    assert created.status_code == 303, created.text
    saved = db.scalar(select(CollectionPolicy).where(CollectionPolicy.code == code))
    assert saved.interest_rate == Decimal("0.12") and saved.category == "commercial"
    steps = db.scalars(
        select(CollectionStep).where(CollectionStep.policy_id == saved.id)
        .order_by(CollectionStep.position)
    ).all()  # fmt: skip
    assert [(s.code, s.delay, s.delay_unit, s.min_amount, s.channel, s.fee, s.action)
            for s in steps] == [
        ("reminder", 5, "working_days", 1000, "sms", 0, "notice"),
        ("cut", 20, "days", 0, "field_visit", 2500, "cut_eligible"),
    ]  # fmt: skip
    edit = client.get(f"/collections/policies/{saved.id}/edit")
    assert edit.status_code == 200 and 'value="reminder"' in edit.text
    # Edited: the reminder at 7 working days, the cut step removed (never done).
    edited = client.post(
        f"/collections/policies/{saved.id}/edit",
        data={**_policy_form(code, [("reminder", "7", "working_days", "1000", "sms", "500",
                                     "notice")]), "active": "1"},
        follow_redirects=False,
    )  # fmt: skip
    assert edited.status_code == 303, edited.text
    db.expire_all()
    steps = db.scalars(select(CollectionStep).where(CollectionStep.policy_id == saved.id)).all()
    assert [(s.position, s.delay, s.fee) for s in steps] == [(1, 7, 500)]
    empty = client.post(f"/collections/policies/{saved.id}/edit", data=_policy_form(code, []))
    assert empty.status_code == 422 and "steps" in empty.text


def test_editing_a_policy_moves_the_next_step_and_keeps_steps_done(client, db, make_user) -> None:
    """The helpers' policy; a bill due 30 April; reminder done 8 May. The formal notice moved
    from 10 to 12 working days: 20 May instead of 18 (working days after 30 April: ... 15,
    18 (10th), 19, 20 (12th)). Removing the reminder, already done, is refused."""
    rules = policy(db, rate="0")
    account = make_account(db)
    invoice(db, account, 20_000, DUE, f"F-ED-{uuid.uuid4().hex[:6]}")
    account_id, rules_id = account.id, rules.id
    nights(db, date(2026, 5, 1), date(2026, 5, 11))
    db.commit()
    headers = bearer(make_user("billing_officer"))
    body = {
        "name": "Residential",
        "steps": [
            {"code": "reminder", "delay": 5, "delay_unit": "working_days", "min_amount": 1000,
             "channel": "sms"},
            {"code": "formal_notice", "delay": 12, "delay_unit": "working_days",
             "channel": "letter", "fee": 1000},
        ],
    }  # fmt: skip
    updated = client.put(f"/api/v1/collections/policies/{rules_id}", json=body, headers=headers)
    assert updated.status_code == 200, updated.text
    assert [s["code"] for s in updated.json()["steps"]] == ["reminder", "formal_notice"]
    file = client.get(f"/api/v1/collections/accounts/{account_id}", headers=headers).json()
    assert (file["step_position"], file["next_step_date"]) == (1, "2026-05-20")
    # The notice done on 20 May; removing it (a policy of the reminder alone) is refused,
    # nothing changed.
    nights(db, date(2026, 5, 12), date(2026, 5, 20))
    db.commit()
    refused = client.put(
        f"/api/v1/collections/policies/{rules_id}",
        json={"name": "Residential", "steps": body["steps"][:1]},
        headers=headers,
    )
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["code"] == "collection_policy_invalid"
    kept = client.get("/api/v1/collections/policies", headers=headers).json()
    assert [len(p["steps"]) for p in kept if p["id"] == rules_id] == [2]
    empty = client.put(
        f"/api/v1/collections/policies/{rules_id}",
        json={"name": "Residential", "steps": []},
        headers=headers,
    )
    assert empty.status_code == 422
    unknown = client.put(
        f"/api/v1/collections/policies/{rules_id}",
        json={**body, "agency_id": 2**62},
        headers=headers,
    )
    assert unknown.status_code == 422 and unknown.json()["code"] == "reference_unknown"


def test_payment_plan_form_view_and_timeline(client, db, make_user) -> None:
    """A 60 000 bill due 30 April; on 11 May a plan: down payment 10 000, 2 instalments of
    25 000 (50 000 / 2) from 11 June; then 10 000 paid: the plan shows 10 000 paid and
    50 000 due. The timeline: bill due, reminder, plan agreed, payment."""
    policy(db, rate="0")
    account = make_account(db)
    invoice(db, account, 60_000, DUE, f"F-PL-{uuid.uuid4().hex[:6]}")
    account_id = account.id
    nights(db, date(2026, 5, 1), date(2026, 5, 11))
    db.commit()
    _sign_in(client, make_user("billing_officer"))
    form = client.get(f"/collections/accounts/{account_id}/plans/new")
    assert form.status_code == 200 and 'name="item_ids"' in form.text
    item_id = int(form.text.split('name="item_ids" value="')[1].split('"')[0])
    fields = {"item_ids": [str(item_id)], "down_payment": "10000", "instalments": "2",
              "agreed_on": "2026-05-11", "interest_percent": "0", "grace_days": "5"}  # fmt: skip
    bad = client.post(
        f"/collections/accounts/{account_id}/plans/new",
        data={**fields, "first_due_date": "2026-05-01"},  # before the agreement
    )
    assert bad.status_code == 422 and "first instalment" in bad.text
    assert (
        db.scalar(select(PaymentPlan).where(PaymentPlan.customer_account_id == account_id)) is None
    )
    made = client.post(
        f"/collections/accounts/{account_id}/plans/new",
        data={**fields, "first_due_date": "2026-06-11"},
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text
    plan_path = made.headers["location"]
    pay(db, db.get(Account, account_id), 10_000, date(2026, 5, 12))
    db.commit()
    view = client.get(plan_path)
    assert view.status_code == 200
    assert 'data-testid="plan-status">active<' in view.text
    assert view.text.count("<tr><td>") == 3  # the down payment and two instalments
    plan_id = int(plan_path.rsplit("/", 1)[1])
    api = client.get(
        f"/api/v1/collections/plans/{plan_id}", headers=bearer(make_user("billing_officer"))
    ).json()
    assert (api["paid"], api["due"]) == (10_000, 50_000)
    assert [(i["sequence"], i["due_date"], i["amount"]) for i in api["instalments"]] == [
        (0, "2026-05-11", 10_000), (1, "2026-06-11", 25_000), (2, "2026-07-11", 25_000),
    ]  # fmt: skip
    page = client.get(f"/collections/accounts/{account_id}")
    kinds = [part.split('"')[0] for part in page.text.split('data-kind="')[1:]]
    assert kinds == ["due", "step", "plan", "payment"]
