"""A billing officer in a real browser: the aged debt with its chart drawn, the dunning
policy editor refusing a bad step then saving, and the worklist."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import delete

from billing.collections.models import CollectionPolicy, CollectionStep
from billing.payments import service as payments
from billing.payments.enums import ItemKind
from billing.payments.schemas import ReceivableItemCreate
from core.auth.models import User
from core.auth.service import create_user
from core.context import SYSTEM, acting_as
from core.db import session_scope
from customers import service as customers
from customers.schemas import AccountCreate, PartyCreate

pytestmark = pytest.mark.e2e
PASSWORD = "browser-pass-collections"


@pytest.fixture()
def officer(live_url: str) -> object:
    """An account owing a 7 500 fee due 1 March 2025 (over 180 days late today), and a
    billing officer (removed afterwards, with the policy the test saves)."""
    tag = uuid.uuid4().hex[:6]
    with acting_as(SYSTEM, request_id="e2e"), session_scope() as session:
        party, _ = customers.create_party(
            session,
            actor=SYSTEM,
            data=PartyCreate(kind="person", first_name="Ola", last_name="Aged"),
        )
        account = customers.create_account(
            session, actor=SYSTEM, data=AccountCreate(payer_party_id=party.id)
        )
        payments.charge(
            session,
            SYSTEM,
            data=ReceivableItemCreate(
                customer_account_id=account.id, kind=ItemKind.FEE,
                document_ref=f"E2E-AGED-{tag}", due_date=date(2025, 3, 1), amount=7500,
            ),
        )  # fmt: skip
        username = f"e2e.collector.{tag}"
        user_id = create_user(
            session, username=username, password=PASSWORD, roles=["billing_officer"]
        ).id
    code = f"e2e-{tag}"
    yield {"username": username, "code": code}
    with acting_as(SYSTEM, request_id="e2e"), session_scope() as session:
        session.delete(session.get(User, user_id))
        ids = [p.id for p in session.query(CollectionPolicy).filter_by(code=code)]
        session.execute(delete(CollectionStep).where(CollectionStep.policy_id.in_(ids)))
        session.execute(delete(CollectionPolicy).where(CollectionPolicy.id.in_(ids)))


def test_aged_debt_chart_and_policy_editor(
    browser, live_url: str, officer: dict, output_dir: Path
) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    offsite: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(live_url) else offsite.append(r.url))
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    page.goto(f"{live_url}/collections/aged-debt")
    page.fill("input[name=username]", officer["username"])
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_url}/collections/aged-debt")
    chart = page.locator("[data-testid=aged-chart]")
    # Chart.js sized the canvas: it drew.
    page.wait_for_function("() => window.Chart && Chart.getChart('kw-aged-chart')")
    assert chart.bounding_box()["width"] > 300
    assert page.locator("[data-testid=aged-totals]").count() == 1
    page.screenshot(path=str(output_dir / "e2e-aged-debt.png"), full_page=True)

    page.goto(f"{live_url}/collections/policies/new")
    page.fill("input[name=code]", officer["code"])
    page.fill("input[name=name]", "Browser policy")
    codes = page.locator("input[name=step_code]")
    delays = page.locator("input[name=step_delay]")
    codes.nth(0).fill("reminder")
    delays.nth(0).fill("soon")
    page.click("[data-testid=policy-form] button[type=submit]")
    assert "step 1 delay" in page.locator("[data-testid=form-errors]").inner_text()
    page.screenshot(path=str(output_dir / "e2e-policy-errors.png"), full_page=True)
    page.locator("input[name=step_delay]").nth(0).fill("5")
    page.click("[data-testid=policy-form] button[type=submit]")
    page.wait_for_url(f"{live_url}/collections/policies")
    assert officer["code"] in page.content()

    page.goto(f"{live_url}/collections/worklist?sort=age")
    assert page.locator("[data-testid=worklist]").count() == 1
    context.close()
    assert errors == []
    assert offsite == []
