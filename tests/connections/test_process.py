"""A connection request from registration to paid quote: the measured distance, quote
versions, the ledger (receivable, revenue, VAT, deposit liability) and its check."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.ledger import repository as ledger_read
from billing.ledger.models import LedgerAccount, LedgerPosting
from core.errors import NotAuthenticatedError
from core.notify import service as notify
from core.notify.gateways import RecordingGateway
from core.notify.message import Channel
from customers.portal import service as portal
from customers.portal.errors import PortalCodeInvalidError, PortalNotVerifiedError
from field.connections import service
from field.connections.errors import ConnectionStepInvalidError, QuoteInvalidError
from field.connections.models import ConnectionRequestStep
from field.models import WorkOrder
from tests.connections.conftest import DESK, KVA6


def _code(outbox: RecordingGateway) -> str:
    found = re.search(r"\b(\d{6})\b", outbox.sent[-1].body)
    assert found
    return found.group(1)


def test_register_verify_sign_in_and_reset(db: Session) -> None:
    with notify.use_gateway(Channel.EMAIL, RecordingGateway()) as outbox:
        identity = portal.register(
            db,
            first_name="Awa",
            last_name="Dossou",
            login="Awa@Example.org",
            password="long enough pass",
        )
        with pytest.raises(PortalNotVerifiedError):
            portal.sign_in(db, login="awa@example.org", password="long enough pass")
        with pytest.raises(PortalCodeInvalidError):
            portal.verify(
                db,
                login="awa@example.org",
                code="000000" if _code(outbox) != "000000" else "111111",
            )
        portal.verify(db, login="awa@example.org", code=_code(outbox))
        _, token, _ = portal.sign_in(db, login="AWA@example.org", password="long enough pass")
        customer = portal.customer_from_token(db, token)
        assert customer.party_id == identity.party_id
        portal.request_reset(db, login="awa@example.org")
        portal.reset_password(
            db, login="awa@example.org", code=_code(outbox), password="another long one"
        )
        portal.sign_in(db, login="awa@example.org", password="another long one")
    assert outbox.sent[0].to == ("awa@example.org",)


def test_staff_token_is_not_a_portal_token() -> None:
    from core.auth.tokens import issue_token

    staff, _ = issue_token(user_id=1, username="x", scopes=frozenset({"*"}), agency_id=None)
    with pytest.raises(NotAuthenticatedError):
        portal.customer_from_token(None, staff)  # type: ignore[arg-type]


def test_request_survey_quote_accept_pay(db: Session, price_list, party, premises) -> None:
    request = service.submit_request(
        db,
        actor=DESK,
        party_id=party.id,
        service_location_id=premises.id,
        connection_type="mono",
        subscribed_kva=KVA6,
        source="portal",
    )
    assert request.number.startswith("CR-") and request.account_id is not None
    service.order_survey(db, actor=DESK, request_id=request.id)
    survey = db.get(WorkOrder, request.survey_work_order_id)
    assert survey is not None and survey.kind == "survey"
    assert survey.instructions["connection_request"] == request.number

    # Measured on the map: 150.0 m in UTM 31N (see conftest) -> the 945 000 quote of
    # test_pricing (750 000 works + 135 000 VAT + 60 000 deposit).
    first = service.issue_quote(db, actor=DESK, request_id=request.id)
    assert (first.distance_m, first.version, first.total) == (Decimal("150.0"), 1, 945000)
    # The survey found a shorter route: 25 m -> 195 000 + 35 100 + 60 000 = 290 100.
    second = service.issue_quote(db, actor=DESK, request_id=request.id, distance_m=Decimal(25))
    assert (second.version, second.total, first.status) == (2, 290100, "superseded")

    service.accept_quote(db, actor=DESK, request_id=request.id)
    with pytest.raises(QuoteInvalidError):  # accepted once: no issued quote left
        service.accept_quote(db, actor=DESK, request_id=request.id)
    with pytest.raises(ConnectionStepInvalidError):  # the machine refuses a step back
        service.order_survey(db, actor=DESK, request_id=request.id)
    payment = service.pay_quote(db, actor=DESK, request_id=request.id, external_id="PSP-1")
    assert payment.amount == 290100 and request.status == "works"

    by_code = dict(
        db.execute(
            select(LedgerAccount.code, LedgerPosting.amount)
            .join(LedgerPosting, LedgerPosting.account_id == LedgerAccount.id)
            .where(LedgerAccount.code.in_(("revenue:connections", "tax:vat", "liability:deposits")))
        ).all()
    )
    assert by_code == {
        "revenue:connections": -195000,
        "tax:vat": -35100,
        "liability:deposits": -60000,
    }
    assert ledger_read.balances(db, [request.account_id]) == {request.account_id: {"XOF": 0}}
    assert service.deposit_held(db, request) == 60000
    assert ledger_read.check(db).ok
    steps = db.scalars(
        select(ConnectionRequestStep.event)
        .where(ConnectionRequestStep.request_id == request.id)
        .order_by(ConnectionRequestStep.id)
    ).all()
    assert steps == ["submit", "order_survey", "quote", "quote", "accept", "pay", "start_works"]
