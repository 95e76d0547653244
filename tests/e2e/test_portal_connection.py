"""Done-when of issue 16, in a real browser: a new customer registers on /my (code by
e-mail), asks for a connection, accepts and pays the quote; the survey and the works are
done through field's service (as the handheld's sync does) and their completion heard as
the outbox delivers it; the contract starts; the customer sees the first invoice."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from pyproj import Transformer
from sqlalchemy import select, text

from billing.invoices import service as invoices
from billing.invoices.enums import InvoiceReason
from billing.ledger import repository as ledger_read
from billing.tariffs import service as tariffs
from billing.tariffs.schemas import TariffCreate
from core.auth import service as auth
from core.context import SYSTEM, acting_as
from core.db import session_scope
from core.notify import service as notify
from core.notify.gateways import RecordingGateway
from core.notify.message import Channel
from core.periods import Period
from customers.models import Contract
from field import service as field
from field.connections import service as connections
from field.connections.models import ConnectionRequest
from field.events import WorkOrderCompleted
from field.schemas import TechnicianCreate, WorkOrderOutcome
from kilowatch.handlers import connection_work_done
from meters import service as meters
from meters.schemas import MeterCreate
from tests.connections.conftest import PRICES

pytestmark = pytest.mark.e2e
RUN = uuid.uuid4().hex[:6].upper()
LOGIN = f"e2e-{RUN.lower()}@example.org"
PASSWORD = "browser portal password"
TARIFF = f"E2E-CONN-{RUN}"
DONE = datetime(2026, 3, 2, 10, tzinfo=UTC)
# Premises and pole in UTM 31N, 150 m apart (a 3-4-5 triangle): the 945 000 XOF quote of
# tests/connections/test_pricing.py.
_TO_LONLAT = Transformer.from_crs("EPSG:32631", "EPSG:4326", always_xy=True)
PREMISES = _TO_LONLAT.transform(430000.0, 714000.0)
POLE = _TO_LONLAT.transform(430090.0, 714120.0)


@pytest.fixture()
def prepared(live_url: str) -> None:
    """A price list in force naming the tariff, the tariff, and a pole on the map."""
    definition = PRICES.model_copy(deep=True)
    definition.connection_types["mono"].tariff_code = TARIFF
    with acting_as(SYSTEM, request_id="e2e"), session_scope() as session:
        connections.define_price_list(
            session,
            actor=SYSTEM,
            version=int(uuid.uuid4().int % 1_000_000) + 100,
            valid_from=date(2026, 1, 2),
            definition=definition,
        )
        tariffs.create_tariff(
            session,
            actor=SYSTEM,
            data=TariffCreate.model_validate(
                {
                    "code": TARIFF,
                    "name": "Domestic (e2e)",
                    "currency": "XOF",
                    "versions": [
                        {
                            "effective_from": "2020-01-01",
                            "definition": {
                                "energy": [{"code": "kwh", "blocks": [{"price": "100"}]}]
                            },
                        }
                    ],
                }
            ),
        )
        session.execute(
            text(
                "INSERT INTO gis_network_node (code, geom, location_precision) VALUES "
                "(:c, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 'surveyed')"
            ),
            {"c": f"E2E-N-{RUN}", "lon": POLE[0], "lat": POLE[1]},
        )
        session.execute(
            text(
                "INSERT INTO gis_service_point (code, kind, node_id, geom, location_precision) "
                "SELECT :p, 'pole', id, geom, 'surveyed' FROM gis_network_node WHERE code = :c"
            ),
            {"c": f"E2E-N-{RUN}", "p": f"E2E-P-{RUN}"},
        )


def _technician(session) -> int:  # type: ignore[no-untyped-def]
    name = f"e2e_{uuid.uuid4().hex[:8]}"
    user = auth.create_user(session, username=name, password="x" * 12, roles=["technician"])
    data = TechnicianCreate(
        user_id=user.id, code=name.upper(), skills=["installation", "inspection", "reading"]
    )
    return field.create_technician(session, actor=SYSTEM, data=data).id


def _do(order_id: int, **outcome: object) -> None:
    """The handheld's work, committed; then the completion as the outbox delivers it."""
    with acting_as(SYSTEM, request_id="e2e"), session_scope() as session:
        field.assign_work_order(
            session, actor=SYSTEM, work_order_id=order_id, technician_id=_technician(session)
        )
        order = field.complete_work_order(
            session,
            actor=SYSTEM,
            work_order_id=order_id,
            outcome=WorkOrderOutcome(completed_at=DONE, **outcome),
        )
        event = WorkOrderCompleted(
            work_order_id=order.id,
            number=order.number,
            kind=order.kind,
            usage_point_id=order.usage_point_id,
            contract_id=order.contract_id,
            completed_at=DONE,
            outcome=order.outcome,
        )
    with acting_as(SYSTEM, request_id="e2e"), session_scope() as session:
        connection_work_done(session, event, uuid.uuid4())


def _request() -> tuple[int, str, int | None]:
    with session_scope() as session:
        row = session.scalars(
            select(ConnectionRequest)
            .where(ConnectionRequest.source == "portal")
            .order_by(ConnectionRequest.id.desc())
        ).first()
        assert row is not None
        return row.id, row.status, row.survey_work_order_id


def test_new_customer_to_first_invoice(browser, live_url: str, prepared: None) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
    outbox = RecordingGateway()
    with notify.use_gateway(Channel.EMAIL, outbox):
        page.goto(f"{live_url}/my")
        page.fill("#register [name=first_name]", "Yao")
        page.fill("#register [name=last_name]", f"Portal{RUN}")
        page.fill("#register [name=login]", LOGIN)
        page.fill("#register [name=password]", PASSWORD)
        page.click("[data-testid=register]")
        page.wait_for_selector("#verify:not([hidden])")
        code = re.search(r"\b(\d{6})\b", outbox.sent[-1].body)
        assert code and outbox.sent[-1].to == (LOGIN,)
        page.fill("#verify [name=code]", code.group(1))
        page.click("[data-testid=verify]")
        page.wait_for_selector("text=Verified")
    page.fill("input[name=login]", LOGIN)
    page.fill("input[name=password]", PASSWORD)
    page.click("[data-testid=sign-in]")
    page.wait_for_selector("[data-testid=accounts]")

    page.fill("#connect [name=address_line]", "Lot 4, Ouedo")
    page.fill("#connect [name=city]", "Abomey-Calavi")
    page.fill("#connect [name=lon]", str(PREMISES[0]))
    page.fill("#connect [name=lat]", str(PREMISES[1]))
    page.click("[data-testid=request-connection]")
    page.wait_for_selector("[data-testid=request-status]:has-text('surveying')")
    request_id, status, survey_id = _request()
    assert status == "surveying" and survey_id is not None

    _do(survey_id, finding="cable along the street")  # the survey prices the quote
    page.reload()
    button = page.wait_for_selector("[data-testid=accept-pay]")
    assert "945" in button.inner_text()  # 945 000 XOF: 750 000 works + 18 % + 60 000 deposit
    button.click()
    page.wait_for_selector("[data-testid=request-status]:has-text('works')")

    with session_scope() as session:
        request = session.get(ConnectionRequest, request_id)
        orders = {o.kind: o.id for o in connections.works_orders(session, request)}
        meter = meters.create_meter(
            session,
            data=MeterCreate(serial=f"E2E{RUN}", meter_type="postpaid", dial_digits=5),
        )
        meter_id = meter.id
    _do(orders["extend_network"])
    _do(orders["connect"])
    _do(orders["install"], new_meter_id=meter_id, new_start_indexes={"total": Decimal(7)})

    with acting_as(SYSTEM, request_id="e2e"), session_scope() as session:
        request = session.get(ConnectionRequest, request_id)
        assert request.status == "connected"
        contract = session.get(Contract, request.contract_id)
        assert contract.status == "active" and contract.start_date == DONE.date()
        # The first bill: 120 kWh x 100 = 12 000 XOF (the tariff's one block, no tax).
        invoice = invoices.issue_bill(
            session,
            SYSTEM,
            contract_id=contract.id,
            period=Period(date(2026, 3, 2), date(2026, 4, 1)),
            kwh={"total": Decimal(120)},
            reason=InvoiceReason.CYCLE,
        )
        number = invoice.number
        assert ledger_read.check(session).ok

    page.reload()
    row = page.wait_for_selector("[data-testid=invoice]")
    assert row.inner_text() == number
    page.wait_for_selector("[data-testid=month]:has-text('120 kWh')")
    page.close()
