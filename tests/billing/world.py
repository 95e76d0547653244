"""A small billing world for the run and invoice tests: one tariff with hand-computable
amounts, customers with a contract, a meter and monthly reads.

The tariff ``KW-TEST`` (XOF, 0 decimals, kWh rounded half-up to the unit):
  fixed charge "prime"   500 XOF per month
  energy "energie"       incremental: 0-100 kWh at 50, above 100 at 80 XOF/kWh
  tax "tva"              18 % of energy + fixed (rounded half-up to the unit)
so one whole month of ``k`` kWh (k >= 100) bills
  500 + 100*50 + (k-100)*80 = 500 + 5000 + 80k - 8000, then * 1.18.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.orm import Session

from billing.ledger import repository as ledger
from billing.tariffs import service as tariffs
from billing.tariffs.schemas import TariffCreate
from core.context import SYSTEM, Actor
from customers import service as customers
from customers.models import Contract, ServiceLocation, UsagePoint
from customers.numbering import next_contract_number
from customers.schemas import AccountCreate, PartyCreate
from meters import service as meters
from meters.readings.service import estimate_reading, record_readings
from meters.schemas import MeterCreate, ReadingCreate

TARIFF = "KW-TEST"
PREPARER = Actor(user_id=None, username="ada-preparer", scopes=frozenset({"*"}))
APPROVER = Actor(user_id=None, username="bea-approver", scopes=frozenset({"*"}))


def tariff(db: Session) -> None:
    """Publish ``KW-TEST`` once per test transaction."""
    if db.execute(text("SELECT 1 FROM billing_tariff WHERE code = :c"), {"c": TARIFF}).first():
        return
    tariffs.create_tariff(
        db,
        actor=SYSTEM,
        data=TariffCreate.model_validate(
            {
                "code": TARIFF,
                "name": "Kilowatch test tariff",
                "currency": "XOF",
                "versions": [
                    {
                        "effective_from": "2020-01-01",
                        "definition": {
                            "fixed_charges": [{"code": "prime", "amount": "500"}],
                            "energy": [
                                {
                                    "code": "energie",
                                    "blocks": [
                                        {"up_to": "100", "price": "50"},
                                        {"price": "80"},
                                    ],
                                }
                            ],
                            "taxes": [{"code": "tva", "rate": "0.18", "base": ["energy", "fixed"]}],
                        },
                    }
                ],
            }
        ),
    )


def month_total(kwh: int) -> int:
    """A whole month's bill of ``kwh`` kWh under KW-TEST (see the module docstring)."""
    energy = min(kwh, 100) * 50 + max(kwh - 100, 0) * 80
    net = 500 + energy
    return net + (net * 18 + 50) // 100  # TVA rounded half-up to the unit


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


@dataclass
class Customer:
    usage_point_id: int
    account_id: int
    contract_id: int
    meter_serial: str
    register_id: int
    index: Decimal = Decimal(0)


def customer(
    db: Session, *, start: date = date(2025, 12, 31), category: str = "residential"
) -> Customer:
    """A customer supplied from ``start`` under KW-TEST, meter fitted that day at 0."""
    tariff(db)
    code = uuid.uuid4().hex[:10]
    location = ServiceLocation(code=f"SL-{code}", address_line="Rue du Test")
    db.add(location)
    db.flush()
    point = UsagePoint(
        code=f"UP-{code}",
        service_location_id=location.id,
        category=category,
        subscribed_power_kva=3,
    )
    db.add(point)
    db.flush()
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
        tariff_code=TARIFF,
        subscribed_power_kva=3,
        start_date=start,
        status="active",
    )
    db.add(contract)
    db.flush()
    meter = meters.create_meter(
        db,
        data=MeterCreate(
            serial=f"M{code.upper()}",
            meter_type="postpaid",
            dial_digits=6,
            multiplier=1,
            registers=["total"],
        ),
    )
    meters.install_meter(
        db,
        meter_id=meter.id,
        usage_point_id=point.id,
        installed_at=at(start, 9),
        start_index={"total": "0"},
    )
    register_id = db.execute(
        text("SELECT id FROM meter_register WHERE meter_id = :m"), {"m": meter.id}
    ).scalar_one()
    return Customer(point.id, account.id, contract.id, meter.serial, register_id)


def read(db: Session, who: Customer, day: date, kwh_since_last: int) -> None:
    """An actual read on ``day``: the index advanced by ``kwh_since_last``."""
    who.index += kwh_since_last
    record_readings(
        db,
        readings=[
            ReadingCreate(
                meter_serial=who.meter_serial,
                read_at=at(day),
                value=who.index,
                source="handheld",
            )
        ],
        actor=SYSTEM,
    )


def estimate(db: Session, who: Customer, day: date) -> Decimal:
    """An estimated index on ``day`` (the meters' estimation rules); its advance."""
    reading = estimate_reading(db, register_id=who.register_id, at=at(day), actor=SYSTEM)
    return Decimal(reading.value) - who.index


def ledger_is_clean(db: Session) -> None:
    """``kilowatch ledger check``'s report: zero imbalance (deferred checks fired too)."""
    db.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))
    report = ledger.check(db)
    assert report.ok, report
    assert report.total_imbalance == 0
