"""From paid quote to started contract: the survey and the works done through field's
service (as the handheld's sync would), the handler that hears each completion, the
contract started on the install day with the meter's start index as first reading."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from billing.ledger import repository as ledger_read
from core.auth import service as auth
from core.context import Actor
from customers.events import FinalReadingRequested
from customers.models import Contract, UsagePoint
from field import service as field
from field.connections import service
from field.connections.schemas import DeskConnectionRequestIn
from field.events import WorkOrderCompleted
from field.models import WorkOrder
from field.schemas import TechnicianCreate, WorkOrderOutcome
from kilowatch.handlers import connection_work_done, settle_connection_deposit
from meters import service as meters
from meters.models import MeterInstallation
from meters.schemas import MeterCreate
from tests.connections.conftest import DESK, KVA6

OFFICE = Actor(
    user_id=None,
    username="test-office",
    scopes=frozenset({"field:read", "field:write", "field:execute", "meters:write"}),
)
DONE = datetime(2026, 3, 2, 10, tzinfo=UTC)


def _technician(db: Session) -> int:
    name = f"t_{uuid.uuid4().hex[:8]}"
    user = auth.create_user(db, username=name, password="x" * 12, roles=["technician"])
    skills = ["reading", "installation", "inspection", "disconnection"]
    data = TechnicianCreate(user_id=user.id, code=name.upper(), skills=skills)
    return field.create_technician(db, actor=OFFICE, data=data).id


def _complete(db: Session, order: WorkOrder, **outcome: object) -> None:
    field.assign_work_order(db, actor=OFFICE, work_order_id=order.id, technician_id=_technician(db))
    field.complete_work_order(
        db,
        actor=OFFICE,
        work_order_id=order.id,
        outcome=WorkOrderOutcome(completed_at=DONE, **outcome),
    )
    # What the outbox delivers after commit, here in the test's transaction.
    event = WorkOrderCompleted(
        work_order_id=order.id,
        number=order.number,
        kind=order.kind,
        usage_point_id=order.usage_point_id,
        contract_id=order.contract_id,
        completed_at=DONE,
        outcome=order.outcome,
    )
    connection_work_done(db, event, uuid.uuid4())


def test_survey_quotes_then_works_start_the_contract(
    db: Session, price_list, party, premises
) -> None:
    request = service.submit_request(
        db,
        actor=DESK,
        party_id=party.id,
        service_location_id=premises.id,
        connection_type="mono",
        subscribed_kva=KVA6,
        source="portal",
    )
    service.order_survey(db, actor=DESK, request_id=request.id)
    survey = db.get(WorkOrder, request.survey_work_order_id)
    assert survey is not None and survey.kind == "survey"
    _complete(db, survey, finding="route along the street")
    quote = service.current_quote(db, request.id)
    # The survey done, the map's 150.0 m prices it: 945 000 (see test_pricing).
    assert request.status == "quoted" and quote is not None and quote.total == 945000

    service.accept_quote(db, actor=DESK, request_id=request.id)
    service.pay_quote(db, actor=DESK, request_id=request.id, external_id="PSP-77")
    assert request.status == "works"
    orders = service.works_orders(db, request)
    assert [o.kind for o in orders] == ["survey", "extend_network", "connect", "install"]
    point = db.get(UsagePoint, request.usage_point_id)
    assert point is not None and point.connection_state == "disconnected"

    meter = meters.create_meter(
        db,
        data=MeterCreate(
            serial=f"CN{uuid.uuid4().hex[:8].upper()}", meter_type="postpaid", dial_digits=5
        ),
    )
    by_kind = {o.kind: o for o in orders}
    _complete(db, by_kind["extend_network"])
    _complete(db, by_kind["connect"])
    assert request.status == "works"  # the meter is not in yet
    _complete(
        db, by_kind["install"], new_meter_id=meter.id, new_start_indexes={"total": Decimal(7)}
    )

    assert request.status == "connected"
    contract = db.get(Contract, request.contract_id)
    assert contract is not None and contract.status == "active"
    assert (contract.start_date, contract.tariff_code) == (DONE.date(), "BT1-DOM")
    assert contract.account_id == request.account_id
    assert point.connection_state == "connected"
    installation = db.query(MeterInstallation).filter_by(usage_point_id=point.id).one()
    assert installation.meter_id == meter.id
    assert ledger_read.check(db).ok


def test_deposit_is_used_at_termination(db: Session, price_list, party, premises) -> None:
    request = service.submit_request(
        db,
        actor=DESK,
        party_id=party.id,
        service_location_id=premises.id,
        connection_type="mono",
        subscribed_kva=KVA6,
        tariff_code="BT1-DOM",
    )
    service.issue_quote(db, actor=DESK, request_id=request.id, distance_m=Decimal(25))
    service.pay_quote(db, actor=DESK, request_id=request.id, external_id="PSP-DEP")
    orders = {o.kind: o for o in service.works_orders(db, request)}
    meter = meters.create_meter(
        db,
        data=MeterCreate(
            serial=f"CD{uuid.uuid4().hex[:8].upper()}", meter_type="postpaid", dial_digits=5
        ),
    )
    _complete(db, orders["connect"])
    _complete(db, orders["install"], new_meter_id=meter.id, new_start_indexes={"total": Decimal(1)})
    assert request.status == "connected"
    # Paid in full (290 100), then at termination the 60 000 deposit is used: a credit.
    assert ledger_read.balances(db, [request.account_id]) == {request.account_id: {"XOF": 0}}
    event = FinalReadingRequested(
        contract_id=request.contract_id,
        contract_number="x",
        usage_point_id=request.usage_point_id,
        usage_point_code=None,
        reading_date=DONE.date(),
        process="termination",
    )
    settle_connection_deposit(db, event, uuid.uuid4())
    settle_connection_deposit(db, event, uuid.uuid4())  # redelivered: settled once
    assert ledger_read.balances(db, [request.account_id]) == {request.account_id: {"XOF": -60000}}
    assert ledger_read.check(db).ok


def test_power_change_requotes_and_updates_power_and_tariff(
    db: Session, price_list, party, premises
) -> None:
    first = service.submit_request(
        db,
        actor=DESK,
        party_id=party.id,
        service_location_id=premises.id,
        connection_type="mono",
        subscribed_kva=KVA6,
    )
    service.issue_quote(db, actor=DESK, request_id=first.id, distance_m=Decimal(25))
    service.pay_quote(db, actor=DESK, request_id=first.id, external_id="PSP-PC1")
    orders = {o.kind: o for o in service.works_orders(db, first)}
    meter = meters.create_meter(
        db,
        data=MeterCreate(
            serial=f"PC{uuid.uuid4().hex[:8].upper()}", meter_type="postpaid", dial_digits=5
        ),
    )
    _complete(db, orders["connect"])
    _complete(db, orders["install"], new_meter_id=meter.id, new_start_indexes={"total": Decimal(1)})
    assert first.status == "connected"

    change = service.desk_request(
        db,
        actor=DESK,
        data=DeskConnectionRequestIn(
            party_id=party.id,
            service_location_id=premises.id,
            kind="power_change",
            connection_type="tri",
            subscribed_kva=Decimal(12),
            tariff_code="BT2-TRI",
            usage_point_id=first.usage_point_id,
        ),
    )
    assert change.contract_id == first.contract_id
    quote = service.issue_quote(db, actor=DESK, request_id=change.id, distance_m=Decimal(10))
    # No meter line: 420 000 + 18 % (75 600) + 12 kVA x 10 000 deposit = 615 600.
    assert quote.total == 615600
    service.pay_quote(db, actor=DESK, request_id=change.id, external_id="PSP-PC2")
    works = [o for o in service.works_orders(db, change)]
    assert [o.kind for o in works] == ["connect"]
    _complete(db, works[0])
    contract = db.get(Contract, first.contract_id)
    assert change.status == "connected" and contract is not None
    assert (contract.subscribed_power_kva, contract.tariff_code) == (Decimal(12), "BT2-TRI")
    assert ledger_read.check(db).ok
