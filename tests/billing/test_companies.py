"""Two companies on one database: each sees its own customers, invoices and tariffs only,
through the one territory rule, and numbers and prices its invoices in its own series and
currency.

Company 1 (``MAIN``, created by migration 0027, XOF) has agency A; company 2 (``ZB``,
EUR) has agency B, with its own series ``ZBF`` / ``ZBAV`` (alphanumeric: a series enters the ISO 11649 payment reference). Each has one premises inside
its agency's outline, a customer there and a tariff; the head-office user of each company
has no agency, so only their company's outlines bound them.

The tariffs (both: fixed 500 minor units a month, energy 0-100 kWh at 50 then 80 per
kWh in XOF; 5.00 EUR, 0.05 then 0.08 EUR per kWh in EUR; VAT 18 %) bill 150 kWh of a whole
month:
  XOF: 500 + 100*50 + 50*80 = 9500 net, VAT 1710, total 11210 XOF;
  EUR: 5.00 + 100*0.05 + 50*0.08 = 14.00 net, VAT 2.52, total 16.52 EUR = 1652 cents.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from geoalchemy2 import WKTElement
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from billing.collections import repository as collection_repository
from billing.collections import service as collections
from billing.collections.models import CollectionFile
from billing.collections.schemas import PolicyCreate
from billing.invoices import service as invoices
from billing.invoices.enums import InvoiceReason
from billing.invoices.models import Invoice, InvoiceSeries
from billing.payments import service as payments
from billing.payments.enums import ItemKind
from billing.tariffs import repository as tariff_repository
from billing.tariffs import service as tariffs
from billing.tariffs.models import Tariff
from billing.tariffs.schemas import TariffCreate
from core.auth.models import Agency, Company, User
from core.auth.passwords import hash_password
from core.auth.service import actor_for
from core.context import SYSTEM, Actor
from core.periods import Period
from core.territory import visible
from customers import service as customers
from customers.models import (
    Account,
    Contract,
    ContractRoleAssignment,
    Party,
    ServiceLocation,
    UsagePoint,
)
from customers.numbering import next_contract_number
from customers.schemas import AccountCreate, PartyCreate
from tests.conftest import TEST_PASSWORD, bearer

JANUARY = Period(date(2026, 1, 1), date(2026, 2, 1))


def _square(lon: float, lat: float) -> WKTElement:
    """A 0.01-degree square outline whose south-west corner is (lon, lat), EPSG:4326."""
    d = 0.01
    ring = f"{lon} {lat}, {lon + d} {lat}, {lon + d} {lat + d}, {lon} {lat + d}, {lon} {lat}"
    return WKTElement(f"MULTIPOLYGON((({ring})))", srid=4326)


def _tariff(db: Session, actor: Actor, code: str, currency: str, prices: list[str]) -> None:
    fixed, low, high = prices
    tariffs.create_tariff(
        db,
        actor=actor,
        data=TariffCreate.model_validate(
            {
                "code": code,
                "name": f"tariff {code}",
                "currency": currency,
                "versions": [
                    {
                        "effective_from": "2020-01-01",
                        "definition": {
                            "fixed_charges": [{"code": "prime", "amount": fixed}],
                            "energy": [
                                {
                                    "code": "energie",
                                    "blocks": [{"up_to": "100", "price": low}, {"price": high}],
                                }
                            ],
                            "taxes": [{"code": "tva", "rate": "0.18", "base": ["energy", "fixed"]}],
                        },
                    }
                ],
            }
        ),
    )


def _customer(db: Session, lon: float, lat: float, tariff: str) -> dict[str, int]:
    """A party with premises at (lon, lat), a usage point, an account and an active
    contract under ``tariff`` (its holder and payer roles place the party there)."""
    code = uuid.uuid4().hex[:8]
    location = ServiceLocation(
        code=f"SL-{code}",
        address_line="Rue du Test",
        geom=WKTElement(f"POINT({lon} {lat})", srid=4326),
    )
    db.add(location)
    db.flush()
    point = UsagePoint(
        code=f"UP-{code}",
        service_location_id=location.id,
        category="residential",
        subscribed_power_kva=3,
    )
    db.add(point)
    party, _ = customers.create_party(
        db, actor=SYSTEM, data=PartyCreate(kind="person", first_name="Awa", last_name=code)
    )
    account = customers.create_account(
        db, actor=SYSTEM, data=AccountCreate(payer_party_id=party.id)
    )
    contract = Contract(
        number=next_contract_number(db),
        holder_party_id=party.id,
        usage_point_id=point.id,
        account_id=account.id,
        tariff_code=tariff,
        subscribed_power_kva=3,
        start_date=date(2025, 12, 31),
        status="active",
    )
    db.add(contract)
    db.flush()
    for role in ("holder", "payer"):
        db.add(ContractRoleAssignment(contract_id=contract.id, party_id=party.id, role=role))
    db.flush()
    return {
        "party": party.id,
        "location": location.id,
        "account": account.id,
        "contract": contract.id,
    }


def _user(db: Session, company_id: int, agency_id: int | None = None) -> User:
    user = User(
        username=f"u_{uuid.uuid4().hex[:8]}",
        password_hash=hash_password(TEST_PASSWORD),
        roles=["admin"],
        company_id=company_id,
        agency_id=agency_id,
    )
    db.add(user)
    db.flush()
    return user


@pytest.fixture()
def world(db: Session) -> dict[str, Any]:
    company = Company(code="ZB", name="Zone B Distribution", currency="EUR", locale="fr_FR")
    db.add(company)
    db.flush()
    db.add_all(
        [
            InvoiceSeries(series="ZBF", kind="invoice", company_id=company.id),
            InvoiceSeries(series="ZBAV", kind="credit_note", company_id=company.id),
            Agency(code=f"A-{company.id}", name="A", territory=_square(2.40, 6.40)),
            Agency(
                code=f"B-{company.id}",
                name="B",
                territory=_square(2.50, 6.40),
                company_id=company.id,
            ),
        ]
    )
    db.flush()
    one = actor_for(_user(db, 1))
    two = actor_for(_user(db, company.id))
    _tariff(db, one, "ONE-DOM", "XOF", ["500", "50", "80"])
    _tariff(db, two, "ZB-DOM", "EUR", ["5.00", "0.05", "0.08"])
    return {
        "company": company,
        "one": one,
        "two": two,
        "own": _customer(db, 2.405, 6.405, "ONE-DOM"),
        "other": _customer(db, 2.505, 6.405, "ZB-DOM"),
    }


def _bill(db: Session, contract_id: int) -> Invoice:
    return invoices.issue_bill(
        db,
        SYSTEM,
        contract_id=contract_id,
        period=JANUARY,
        kwh={"total": Decimal(150)},
        reason=InvoiceReason.CYCLE,
        issue_date=date(2026, 2, 3),
    )


def _seen(db: Session, actor: Actor, model: type[Any], ids: list[int]) -> set[int]:
    query = select(model.id).where(model.id.in_(ids), visible(actor, model))
    return set(db.scalars(query))


def test_each_company_sees_its_own_customers_invoices_and_tariffs(
    db: Session, world: dict[str, Any]
) -> None:
    one, two, own, other = world["one"], world["two"], world["own"], world["other"]
    # Two companies: each head office is bounded by its own company's agencies' outlines.
    assert (one.company_id, one.territory_company_id) == (1, 1)
    assert two.territory_company_id == two.company_id == world["company"].id
    bills = {"own": _bill(db, own["contract"]).id, "other": _bill(db, other["contract"]).id}
    for actor, mine, theirs in ((one, "own", "other"), (two, "other", "own")):
        sides = {"own": own, "other": other}
        for model, key in (
            (Party, "party"),
            (ServiceLocation, "location"),
            (Account, "account"),
            (Contract, "contract"),
        ):
            both = [sides[mine][key], sides[theirs][key]]
            assert _seen(db, actor, model, both) == {sides[mine][key]}, model.__name__
        assert _seen(db, actor, Invoice, list(bills.values())) == {bills[mine]}
    codes = {
        t.code for t in tariff_repository.tariffs_page(db, one, q=None, offset=0, limit=500)[0]
    }
    assert "ONE-DOM" in codes and "ZB-DOM" not in codes
    assert tariff_repository.tariff_by_code(db, "ZB-DOM", actor=one) is None
    assert tariff_repository.tariff_by_code(db, "ONE-DOM", actor=two) is None
    assert db.scalars(select(Tariff.code).where(visible(two, Tariff))).all() == ["ZB-DOM"]


def test_an_invoice_of_each_company_uses_its_series_and_currency(
    db: Session, world: dict[str, Any]
) -> None:
    before = db.scalar(select(InvoiceSeries.last_number).where(InvoiceSeries.series == "F"))
    mine = _bill(db, world["own"]["contract"])
    theirs = _bill(db, world["other"]["contract"])
    assert (mine.series, mine.seq, mine.currency, mine.total) == ("F", before + 1, "XOF", 11210)
    # 14.00 EUR net + 2.52 EUR VAT = 16.52 EUR (see the module docstring).
    assert (theirs.series, theirs.seq, theirs.number) == ("ZBF", 1, "ZBF-000000001")
    assert (theirs.currency, theirs.net, theirs.taxes, theirs.total) == ("EUR", 1400, 252, 1652)
    # The credit note of company 2's bill takes company 2's credit-note series.
    note = invoices.credit(db, SYSTEM, invoice_id=theirs.id, note="wrong reading")
    assert (note.series, note.seq, note.currency, note.total) == ("ZBAV", 1, "EUR", -1652)


def test_a_request_chooses_only_one_of_the_users_companies(
    db: Session, client: TestClient, world: dict[str, Any]
) -> None:
    from core.auth import service

    user = _user(db, 1)
    _, token, _ttl = service.authenticate(
        db, username=user.username, password=TEST_PASSWORD, client_address="test"
    )
    db.commit()
    headers = bearer(token)
    listed = client.get("/api/v1/tariffs?limit=200", headers=headers)
    assert listed.status_code == 200
    codes = {t["code"] for t in listed.json()["items"]}
    assert "ONE-DOM" in codes and "ZB-DOM" not in codes
    assert client.get("/api/v1/tariffs/ZB-DOM", headers=headers).status_code == 404
    refused = client.get("/api/v1/tariffs", headers=headers | {"X-Kilowatch-Company": "ZB"})
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["code"] == "company_not_bound"


def _policy(db: Session, actor: Actor, code: str) -> int:
    data = PolicyCreate.model_validate(
        {
            "code": code,
            "name": code,
            "steps": [{"code": "reminder", "delay": 1, "channel": "sms", "fee": 150}],
        }
    )
    return collections.create_policy(db, actor, data=data).id


def test_each_company_duns_its_accounts_under_its_own_policy(
    db: Session, world: dict[str, Any]
) -> None:
    one, two = world["one"], world["two"]
    mine, theirs = _policy(db, one, "one-dun"), _policy(db, two, "zb-dun")
    assert [p.id for p in collection_repository.policies(db, one)] == [mine]
    assert [p.id for p in collection_repository.policies(db, two)] == [theirs]
    bills = [_bill(db, world[side]["contract"]) for side in ("own", "other")]
    for bill in bills:  # the open item an issued bill's event opens
        payments.open_item(
            db,
            SYSTEM,
            customer_account_id=bill.account_id,
            kind=ItemKind.PRINCIPAL,
            document_ref=bill.number,
            due_date=bill.due_date,
            amount=bill.total,
            currency=bill.currency,
        )
    # Both policies say the same (no category, no agency): only the company tells them
    # apart, so a rule ignoring it would give both accounts the older one.
    collections.run_night(db, SYSTEM, on=max(b.due_date for b in bills) + timedelta(days=3))
    files = {side: db.get(CollectionFile, world[side]["account"]) for side in ("own", "other")}
    assert {side: f.policy_id for side, f in files.items() if f is not None} == {
        "own": mine,
        "other": theirs,
    }
    # Each reminder's fee (150 minor units) is charged in its company's currency.
    fees = dict(
        db.execute(
            text(
                "SELECT customer_account_id, currency FROM billing_receivable_item "
                "WHERE kind = 'fee' AND customer_account_id = ANY(:accounts)"
            ),
            {"accounts": [world["own"]["account"], world["other"]["account"]]},
        ).all()
    )
    assert fees == {world["own"]["account"]: "XOF", world["other"]["account"]: "EUR"}
