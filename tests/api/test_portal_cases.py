"""The portal's complaints and requests (status, SLA, steps; never another customer's) and
notification preferences (a channel per kind and a language), honoured where notices go:
invoice delivery reads the accounts' channel and language, and a closed case's notice
leaves by the customer's channel in their language, once."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

import kilowatch.handlers  # noqa: F401 - registers the event handlers the outbox runs
from core.context import SYSTEM
from core.notify import service as notify
from core.notify.gateways import RecordingGateway
from core.notify.message import Channel
from core.outbox import InTransactionDispatcher, use_dispatcher
from customers import case_service
from customers.models import Account, Case, Contract
from customers.schemas import CaseStepRequest
from tests.api.test_portal_self_care import _portal_headers
from tests.billing import world

PASSWORD = "a long portal password"


def _sign_up(client: TestClient, login: str) -> dict[str, str]:
    with notify.use_gateway(Channel.EMAIL, RecordingGateway()) as outbox:
        made = client.post(
            "/api/v1/portal/register",
            json={"first_name": "Adjo", "last_name": "Case", "login": login, "password": PASSWORD},
        )
        assert made.status_code == 201, made.text
        code = re.search(r"\b(\d{6})\b", outbox.sent[-1].body)
        assert code
    assert client.post("/api/v1/portal/verify", json={"login": login, "code": code.group(1)})
    token = client.post("/api/v1/portal/token", data={"username": login, "password": PASSWORD})
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def test_a_customer_follows_their_complaint_and_never_sees_anothers(
    client: TestClient, db: Session
) -> None:
    mine = _sign_up(client, "follow@example.org")
    theirs = _sign_up(client, "other@example.org")
    filed = client.post(
        "/api/v1/portal/cases",
        headers=mine,
        json={"case_type": "complaint", "subject": "Bill too high", "description": "March"},
    )
    assert filed.status_code == 201, filed.text
    case = filed.json()
    assert (case["status"], case["late"]) == ("open", False)
    assert "assignee_user_id" not in case  # who handles it inside stays inside
    for step in ("start", "resolve"):
        case_service.step_case(
            db,
            actor=SYSTEM,
            case_id=case["id"],
            data=CaseStepRequest(event=step, resolution="meter re-read: bill corrected"),
        )
    db.commit()
    seen = client.get(f"/api/v1/portal/cases/{case['id']}", headers=mine).json()
    assert seen["status"] == "resolved"
    assert seen["resolution"] == "meter re-read: bill corrected"
    assert [(h["from_status"], h["to_status"]) for h in seen["history"]] == [
        (None, "open"),
        ("open", "in_progress"),
        ("in_progress", "resolved"),
    ]
    # Another customer: not in their list, 404 by id (as an unknown id is).
    assert client.get("/api/v1/portal/cases", headers=theirs).json() == []
    other = client.get(f"/api/v1/portal/cases/{case['id']}", headers=theirs)
    assert other.status_code == 404 and other.json()["code"] == "case_not_found"
    assert client.get("/api/v1/portal/cases/999999999", headers=mine).status_code == 404


def test_a_case_past_its_due_date_shows_late(client: TestClient, db: Session) -> None:
    mine = _sign_up(client, "late@example.org")
    filed = client.post(
        "/api/v1/portal/cases",
        headers=mine,
        json={"case_type": "complaint", "subject": "Street light out"},
    ).json()
    db.get(Case, filed["id"]).due_date = datetime.now(UTC).date() - timedelta(days=2)
    db.commit()
    [listed] = client.get("/api/v1/portal/cases", headers=mine).json()
    assert (listed["status"], listed["late"]) == ("open", True)


def test_preferences_are_kept_and_applied_to_invoice_delivery(
    client: TestClient, db: Session
) -> None:
    who = world.customer(db)
    party_id = db.get(Contract, who.contract_id).holder_party_id
    headers = _portal_headers(db, party_id, "prefs@example.org")
    me = client.get("/api/v1/portal/me", headers=headers).json()
    # Signed up by e-mail: every notice by e-mail, in French.
    assert me["preferences"] == {
        "language": "fr",
        "channels": {k: "email" for k in ("invoice", "payment", "connection", "case", "outage")},
    }
    # No phone with us: SMS cannot be honoured; invoices cannot be switched off.
    refused = client.put(
        "/api/v1/portal/me/preferences",
        headers=headers,
        json={"channels": {"case": "sms", "invoice": "none"}},
    )
    assert refused.status_code == 422 and refused.json()["code"] == "preferences_invalid"
    assert {e["field"] for e in refused.json()["errors"]} == {"channels/case", "channels/invoice"}
    kept = client.put(
        "/api/v1/portal/me/preferences",
        headers=headers,
        json={"language": "en", "channels": {"invoice": "letter", "outage": "none"}},
    )
    assert kept.status_code == 200, kept.text
    assert kept.json()["channels"] == {
        "invoice": "letter",
        "payment": "email",
        "connection": "email",
        "case": "email",
        "outage": "none",
    }
    account = db.get(Account, who.account_id)  # the request's session closed: read it again
    assert (account.delivery_channel, account.language) == ("paper", "en")
    client.put(
        "/api/v1/portal/me/preferences", headers=headers, json={"channels": {"invoice": "email"}}
    )
    account = db.get(Account, who.account_id)
    assert (account.delivery_channel, account.delivery_email, account.language) == (
        "email",
        "prefs@example.org",
        "en",
    )
    assert (
        client.get("/api/v1/portal/me", headers=headers).json()["preferences"]["language"] == "en"
    )


def _close(db: Session, case_id: int) -> None:
    for step in ("start", "resolve", "close"):
        case_service.step_case(
            db,
            actor=SYSTEM,
            case_id=case_id,
            data=CaseStepRequest(event=step, resolution="fuse replaced"),
        )
    with use_dispatcher(InTransactionDispatcher()):
        db.commit()  # customers.case_closed -> the portal's notice


def test_a_closed_case_is_told_the_way_the_customer_chose(client: TestClient, db: Session) -> None:
    mine = _sign_up(client, "told@example.org")
    client.put(
        "/api/v1/portal/me/preferences",
        headers=mine,
        json={"language": "en", "channels": {"invoice": "letter"}},
    )
    first = client.post(
        "/api/v1/portal/cases", headers=mine, json={"case_type": "complaint", "subject": "No power"}
    ).json()
    with notify.use_gateway(Channel.EMAIL, RecordingGateway()) as outbox:
        _close(db, first["id"])
    [message] = outbox.sent
    assert message.to == ("told@example.org",) and message.language == "en"
    assert message.subject == f"Your request {first['number']} is closed"
    assert message.body == f"Your request {first['number']} (No power) is closed. fuse replaced"
    # Case notices off: the next closed case tells nothing.
    client.put("/api/v1/portal/me/preferences", headers=mine, json={"channels": {"case": "none"}})
    second = client.post(
        "/api/v1/portal/cases", headers=mine, json={"case_type": "complaint", "subject": "Again"}
    ).json()
    with notify.use_gateway(Channel.EMAIL, RecordingGateway()) as outbox:
        _close(db, second["id"])
    assert outbox.sent == []


def test_migration_0024_rewrites_the_first_preferences(db: Session) -> None:
    """An identity saved by the first portal ({"outage": false ...}) reads as a channel per
    kind after the upgrade (off -> none; invoices always sent), and back after downgrade."""
    import importlib.util
    from pathlib import Path

    from sqlalchemy import text

    from customers.portal import service as portal
    from customers.portal.models import PortalIdentity

    spec = importlib.util.spec_from_file_location(
        "m0024",
        Path(__file__).parents[2] / "migrations/versions/0024_portal_notice_preferences.py",
    )
    assert spec and spec.loader
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    with notify.use_gateway(Channel.SMS, RecordingGateway()):
        identity = portal.register(
            db, first_name="Old", last_name="Prefs", login="+22997000024", password=PASSWORD
        )
    first = {"invoice": False, "payment": True, "connection": True, "outage": False}
    identity.preferences = first
    db.flush()
    db.execute(text(migration.UPGRADE_SQL))
    db.expire_all()
    assert db.get(PortalIdentity, identity.id).preferences == {
        "language": "fr",
        "channels": {
            "invoice": "sms",
            "payment": "sms",
            "connection": "sms",
            "case": "sms",
            "outage": "none",
        },
    }
    db.execute(text(migration.DOWNGRADE_SQL))
    db.expire_all()
    assert db.get(PortalIdentity, identity.id).preferences == {
        **first,
        "invoice": True,
        "case": True,
    }
