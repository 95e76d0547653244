"""The permission matrix's world: two agencies side by side, each with one of every kind of
thing the API addresses, built through the API itself by an unrestricted admin.

Agency A (``own``) and agency B (``other``) have adjacent territory outlines. Both halves of
the world lie in ONE zoom-14 map tile, so a tile, a search or a list that ignores the
territory shows the other half. Every object of B carries the marker ``ZZOTHER`` in its
code, serial, name, subject or e-mail: no answer to a user bound to A may contain it.

The network is the hand-drawn two-feeder network of ``tests.gis.networks`` shrunk tenfold
and imported once per agency with prefixed codes; the rest (parties, premises, usage points,
accounts, contracts, cases, interactions, assignment rules, meters, readings) is created
through the same routes a customer desk would use.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from geoalchemy2 import WKTElement
from sqlalchemy import select, text
from sqlalchemy.orm import Session

import billing.tariffs
from billing.documents import batches as print_batches
from billing.documents.models import PrintBatch
from core.auth import service as auth_service
from core.auth.models import Agency
from core.auth.scopes import ROLE_SCOPES, Role
from core.notify import service as notify
from core.notify.gateways import RecordingGateway
from core.notify.message import Channel
from core.reports import background as report_background
from core.reports.models import ReportExport
from core.settings import get_settings
from customers.portal import service as portal
from gis.models import Substation
from tests.conftest import TEST_PASSWORD, bearer
from tests.gis.networks import small_network, with_buses_prefixed

TARIFF_FIXTURES = Path(billing.tariffs.__file__).parent / "fixtures"

MARKER = "ZZOTHER"
OWN_TAG = "AAOWN"
SIDES = ("own", "other")

# One zoom-14 tile (XYZ, Web Mercator) over Cotonou holds both territories.
TILE_Z = 14


def tile_xy(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    lat_r = math.radians(lat)
    y = int((1 - math.asinh(math.tan(lat_r)) / math.pi) / 2 * n)
    return x, y


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(west, south, east, north) in degrees."""
    n = 2**z

    def lat(row: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return x / n * 360 - 180, lat(y + 1), (x + 1) / n * 360 - 180, lat(y)


TILE_X, TILE_Y = tile_xy(2.40, 6.40, TILE_Z)
WEST, SOUTH, EAST, NORTH = tile_bounds(TILE_Z, TILE_X, TILE_Y)
# Each half of the network spans 0.005 deg x 0.003 deg; A in the tile's west part, B east.
ORIGIN = {"own": (WEST + 0.003, SOUTH + 0.005), "other": (WEST + 0.012, SOUTH + 0.005)}
SPLIT_LON = WEST + 0.0095  # the border between the two territories
SCALE = 0.1


def _box(w: float, s: float, e: float, n: float) -> str:
    return f"MULTIPOLYGON((({w} {s}, {e} {s}, {e} {n}, {w} {n}, {w} {s})))"


TERRITORY = {
    "own": _box(WEST - 0.5, SOUTH - 0.5, SPLIT_LON, NORTH + 0.5),
    "other": _box(SPLIT_LON, SOUTH - 0.5, EAST + 0.5, NORTH + 0.5),
}


def place(side: str, lon: float, lat: float) -> list[float]:
    """A point of the hand-drawn network (lon 2.40-2.45, lat 6.39-6.42) moved into ``side``."""
    x0, y0 = ORIGIN[side]
    return [round(x0 + (lon - 2.40) * SCALE, 7), round(y0 + (lat - 6.39) * SCALE, 7)]


def _move(geometry: dict[str, Any] | None, side: str) -> dict[str, Any] | None:
    if geometry is None:
        return None
    if geometry["type"] == "Point":
        return {"type": "Point", "coordinates": place(side, *geometry["coordinates"])}
    return {**geometry, "coordinates": [place(side, *xy) for xy in geometry["coordinates"]]}


def tag(side: str) -> str:
    return MARKER if side == "other" else OWN_TAG


def code(side: str, name: str) -> str:
    """An object's code: ``KWM-<tag>-<name>`` (the other side's holds the marker)."""
    return f"KWM-{tag(side)}-{name}"


def network_features(side: str) -> list[dict[str, Any]]:
    features = with_buses_prefixed(small_network(code(side, "")), code(side, ""))
    return [{**f, "geometry": _move(f["geometry"], side)} for f in features]


def tariff_upload() -> dict[str, Any]:
    """The illustrative SBEE fixture (prices the ``total`` register, nothing per kVA)."""
    path = TARIFF_FIXTURES / "sbee_bt_domestique.yaml"
    return {"file": (path.name, path.read_bytes(), "application/yaml")}


def geojson_upload(side: str) -> dict[str, Any]:
    body = json.dumps({"type": "FeatureCollection", "features": network_features(side)})
    return {"file": (f"{tag(side)}.geojson", body.encode(), "application/geo+json")}


@dataclass
class Side:
    """The ids and codes of one agency's half of the world."""

    name: str
    agency_id: int = 0
    agency_code: str = ""
    ids: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.ids[key]


@dataclass
class World:
    own: Side
    other: Side
    admin: dict[str, str]  # unrestricted (no agency): sees both halves
    role_headers: dict[Role, dict[str, str]]  # one user per role, bound to agency A
    # One user per role of agency A's company with no agency (``add_second_company``): only
    # their company's agencies' outlines bound them.
    company_role_headers: dict[Role, dict[str, str]] = field(default_factory=dict)

    def side(self, name: str) -> Side:
        return self.own if name == "own" else self.other


def _ok(response: Any, what: str) -> Any:
    assert response.status_code < 300, f"building the matrix world: {what}: {response.text}"
    return response.json() if response.content else None


def _build_side(client: TestClient, session: Session, admin: dict[str, str], side: Side) -> None:
    s, ids = side.name, side.ids

    def post(path: str, what: str, body: dict[str, Any]) -> Any:
        return _ok(client.post(path, headers=admin, json=body), what)

    # -- network ---------------------------------------------------------------------------
    _ok(client.post("/api/v1/network/imports", headers=admin, files=geojson_upload(s)), "import")
    head = place(s, 2.40, 6.40)
    substation = Substation(
        code=code(s, "SUB"),
        name=f"Poste {tag(s)}",
        primary_kv=63,
        secondary_kv=13.8,
        geom=WKTElement(f"POINT({head[0]} {head[1]})", srid=4326),
    )
    session.add(substation)
    session.flush()
    session.execute(
        text("UPDATE gis_feeder SET substation_id = :s WHERE code LIKE :p"),
        {"s": substation.id, "p": code(s, "F%")},
    )
    # The import audited the rest of the transaction as one bulk job; the world is one
    # transaction (rolled back at the end), so end that here: later records get audit rows.
    session.execute(text("SELECT set_config('kilowatch.audit_bulk', '', true)"))
    session.commit()
    ids.update(
        substation=code(s, "SUB"),
        feeder=code(s, "F1"),
        transformer=code(s, "T1"),
        switch=code(s, "S1"),
        service_point=code(s, "B1"),
    )
    point = _ok(
        client.get(f"/api/v1/network/service-points/{ids['service_point']}", headers=admin), "sp"
    )
    ids["service_point_id"] = point["id"]
    # -- customers -------------------------------------------------------------------------
    for key, first in (("party", "Kwm"), ("party2", "Kwmtwo")):
        party = post(
            "/api/v1/customers",
            "party",
            {"kind": "person", "first_name": first, "last_name": tag(s)},
        )
        ids[key] = party["id"]
    for n, key in enumerate(("location", "location2", "location3"), start=1):
        lon, lat = place(s, 2.41 + 0.01 * n, 6.40)
        premises = post(
            "/api/v1/premises",
            "premises",
            {
                "code": code(s, f"PRM{n}"),
                "address_line": f"Rue {n} {tag(s)}",
                "city": "Cotonou",
                "location": {"type": "Point", "coordinates": [lon, lat]},
                "service_point_id": ids["service_point_id"],
            },
        )
        ids[key] = premises["id"]
    # location3 keeps no usage point (so one can be created there).
    for n, key in enumerate(("usage_point", "usage_point2"), start=1):
        up = post(
            "/api/v1/usage-points",
            "usage point",
            {
                "code": code(s, f"UP{n}"),
                "service_location_id": ids["location" if n == 1 else "location2"],
                "category": "residential",
                "subscribed_power_kva": "3.3",
            },
        )
        ids[key] = up["id"]
    account = post(
        "/api/v1/accounts",
        "account",
        {
            "payer_party_id": ids["party"],
            "delivery_email": f"{tag(s).lower()}@example.com",
        },
    )
    ids["account"] = account["id"]
    ids["account_number"] = account["number"]
    contract = post(
        "/api/v1/contracts/move-in",
        "contract",
        {
            "usage_point_id": ids["usage_point"],
            "holder_party_id": ids["party"],
            "account_id": ids["account"],
            "tariff_code": "BT1-DOM",
            "subscribed_power_kva": "3.3",
            "start_date": "2025-01-01",
            # The second party owns the premises: it is known in this territory.
            "roles": [{"party_id": ids["party2"], "role": "owner"}],
            "activate": True,
        },
    )
    ids["contract"] = contract["id"]
    case = post(
        "/api/v1/cases",
        "case",
        {
            "case_type": "complaint",
            "subject": f"Complaint {tag(s)}",
            "party_id": ids["party"],
            "service_location_id": ids["location"],
            "usage_point_id": ids["usage_point"],
            "agency_id": side.agency_id,
        },
    )
    ids["case"] = case["id"]
    interaction = post(
        "/api/v1/interactions",
        "interaction",
        {
            "party_id": ids["party"],
            "case_id": ids["case"],
            "channel": "phone",
            "direction": "in",
            "subject": f"Call {tag(s)}",
        },
    )
    ids["interaction"] = interaction["id"]
    rule = post(
        "/api/v1/cases/assignment-rules",
        "assignment rule",
        {
            "case_type": "meter_check",
            "agency_id": side.agency_id,
            "assignee_group": "customer_desk",
        },
    )
    ids["rule"] = rule["id"]
    # -- meters ----------------------------------------------------------------------------
    # The spare meter stays in stock: stock has no place, so every agency's staff see it
    # (meters.models) and its serial carries no marker; the installed one does.
    for key, serial in (("meter", code(s, "M1")), ("spare_meter", f"KWM-SPARE-{side.agency_id}")):
        meter = post(
            "/api/v1/meters",
            "meter",
            {"serial": serial, "meter_type": "postpaid", "stock_location": "central-store"},
        )
        ids[key] = meter["id"]
        ids[f"{key}_serial"] = meter["serial"]
        ids[f"{key}_register"] = meter["registers"][0]["id"]
    post(
        f"/api/v1/meters/{ids['meter']}/install",
        "install",
        {
            "usage_point_id": ids["usage_point"],
            "installed_at": "2025-01-01T08:00:00Z",
            "start_index": "0",
        },
    )
    for month, value in ((2, "100"), (3, "230")):
        post(
            "/api/v1/readings",
            "reading",
            {
                "meter_serial": ids["meter_serial"],
                "read_at": f"2025-0{month}-01T08:00:00Z",
                "value": value,
                "source": "handheld",
            },
        )
    # -- a fraud flag on the usage point (raised by hand: a tip)
    flag = post("/api/v1/fraud/flags", "flag", {"usage_point_id": ids["usage_point"]})
    ids["flag"] = flag["id"]
    # -- an NTL case at the usage point (a field tip), its inspection order sent
    ntl_case = post(
        "/api/v1/revenue-protection/cases",
        "NTL case",
        {"usage_point_id": ids["usage_point"], "source": "field_tip", "note": "matrix"},
    )
    ids["ntl_case"] = ntl_case["id"]
    campaign = post(
        "/api/v1/revenue-protection/campaigns",
        "campaign",
        {
            "name": f"Campaign {tag(s)}",
            "kind": "inspect",
            "agency_id": side.agency_id,
            "criteria": {"usage_point_ids": [ids["usage_point"]]},
        },
    )
    ids["campaign"] = campaign["id"]
    # -- field: technicians, a round, a work order, seals -------------------------------------
    for key in ("tech_user", "tech_user2"):
        user = post(
            "/api/v1/users",
            "technician user",
            {
                "username": f"kwm-{tag(s).lower()}-{key.replace('_', '-')}",
                "password": "a-long-enough-password",
                "roles": ["technician"],
                "agency_code": side.agency_code,
            },
        )
        ids[key] = user["id"]
    team = post(
        "/api/v1/field/teams",
        "team",
        {"code": code(s, "TEAM"), "name": f"Team {tag(s)}", "agency_id": side.agency_id},
    )
    technician = post(
        "/api/v1/field/technicians",
        "technician",
        {
            "user_id": ids["tech_user"],
            "code": code(s, "TECH"),
            "team_id": team["id"],
            "skills": ["reading", "installation", "disconnection", "sealing", "inspection"],
        },
    )
    ids["technician"] = technician["id"]
    (west, south), (east, north) = place(s, 2.40, 6.39), place(s, 2.45, 6.42)
    ids["round_polygon"] = {
        "type": "Polygon",
        "coordinates": [
            [[west, south], [east, south], [east, north], [west, north], [west, south]]
        ],
    }
    built = post(
        "/api/v1/field/rounds",
        "round",
        {
            "period_start": "2025-04-01",
            "by": "polygon",
            "polygon": ids["round_polygon"],
            "agency_id": side.agency_id,
            "technician_id": ids["technician"],
            "planned_date": "2025-04-01",
        },
    )
    ids["round"] = built["id"]
    items = _ok(client.get(f"/api/v1/field/rounds/{built['id']}/items", headers=admin), "stops")
    ids["round_item"] = items[0]["id"]
    order = post(
        "/api/v1/field/work-orders",
        "work order",
        {"kind": "inspect", "usage_point_id": ids["usage_point"], "reason": f"Inspect {tag(s)}"},
    )
    ids["work_order"] = order["id"]
    prefix = "KWA-" if s == "own" else "KWB-"
    post(
        "/api/v1/field/seal-batches",
        "seal batch",
        {
            "code": code(s, "SEALS"),
            "kind": "plastic",
            "prefix": prefix,
            "first_number": 1,
            "last_number": 20,
            "digits": 6,
            "agency_id": side.agency_id,
            "received_at": "2025-03-01T08:00:00Z",
        },
    )
    ids["seal"], ids["seal2"] = f"{prefix}000001", f"{prefix}000002"
    post(
        "/api/v1/field/seals/issue",
        "seal issue",
        {
            "technician_id": ids["technician"],
            "numbers": [ids["seal"]],
            "at": "2025-03-02T08:00:00Z",
        },
    )
    # -- a data migration run: it stays queued (its task leaves only after a real commit)
    upload = client.post("/api/v1/migrations", headers=admin, files=migration_upload())
    assert upload.status_code == 202, f"migration upload: {upload.text}"
    ids["migration_run"] = upload.json()["run_id"]
    # -- a scheduled job (GLOBAL: the calendar is the whole utility's); its task is not
    # registered yet, so "run now" records a failed run and touches nothing else
    jobs = client.get("/api/v1/ops/jobs", headers=admin).json()
    ids["scheduled_job"] = next(j["id"] for j in jobs if j["name"] == "dunning_advance")
    exporter = bearer(_token(session, f"kwm-matrix-exporter-{s}", ["manager"], side.agency_code))
    exported = client.post(
        "/api/v1/reports/billing_summary/exports", headers=exporter, json={"format": "csv"}
    )
    ids["report_export"] = _ok(exported, "report export")["id"]
    # Built here as a worker would (its task leaves only after a real commit), so that the
    # download has a file.
    job = session.get(ReportExport, ids["report_export"])
    report_background.execute(session, job.id, report_background.requester(session, job))
    session.commit()
    # -- payments (each payment-creating call carries its Idempotency-Key) ------------------
    payment = client.post(
        "/api/v1/payments",
        headers={**admin, "Idempotency-Key": f"matrix-{s}-payment"},
        json={"customer_account_id": ids["account"], "amount": 1000, "payer_name": tag(s)},
    )
    ids["payment"] = _ok(payment, "payment")["id"]
    desk = post(
        "/api/v1/cash-sessions",
        "cash session",
        {"agency_id": side.agency_id, "business_date": "2025-03-14", "opening_float": 1000},
    )
    ids["cash_session"] = desk["session"]["id"]
    desk_payment = client.post(
        "/api/v1/payments",
        headers={**admin, "Idempotency-Key": f"matrix-{s}-desk"},
        json={
            "customer_account_id": ids["account"],
            "amount": 2000,
            "cash_session_id": ids["cash_session"],
            "payer_name": tag(s),
        },
    )
    cancellation = post(
        f"/api/v1/payments/{_ok(desk_payment, 'desk payment')['id']}/cancellation",
        "cancellation",
        {"reason": f"matrix {tag(s)}"},
    )
    ids["cancellation"] = cancellation["id"]
    statement = client.post(
        "/api/v1/bank-statements",
        headers=admin,
        params={"agency_id": side.agency_id},
        files=camt_upload(f"WORLD-{s}", tag(s)),
    )
    ids["unmatched"] = _ok(statement, "bank statement")["unmatched"][0]


def camt_upload(statement_id: str, payer: str) -> dict[str, Any]:
    """A camt.053 with one credit naming no account: it waits in the unmatched queue."""
    xml = f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>
<GrpHdr><MsgId>{statement_id}</MsgId><CreDtTm>2025-03-14T18:00:00</CreDtTm></GrpHdr>
<Stmt><Id>{statement_id}</Id><Acct><Id><IBAN>BJ66BJ0610100100144390000769</IBAN></Id>
<Ccy>XOF</Ccy></Acct><Ntry><Amt Ccy="XOF">3000</Amt><CdtDbtInd>CRDT</CdtDbtInd>
<Sts>BOOK</Sts><BookgDt><Dt>2025-03-14</Dt></BookgDt><AcctSvcrRef>{statement_id}-1</AcctSvcrRef>
<NtryDtls><TxDtls><RltdPties><Dbtr><Nm>{payer}</Nm></Dbtr></RltdPties>
<RmtInf><Ustrd>virement {payer}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry></Stmt>
</BkToCstmrStmt></Document>"""
    return {"file": ("statement.xml", xml.encode(), "application/xml")}


def migration_upload() -> dict[str, Any]:
    """A (trivial) base to upload: a zip of the format holding only a note."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("notes.txt", "nothing to import")
    return {"file": ("base.zip", out.getvalue(), "application/zip")}


def _token(session: Session, username: str, roles: list[str], agency: str | None) -> str:
    auth_service.create_user(
        session, username=username, password=TEST_PASSWORD, roles=roles, agency_code=agency
    )
    _user, token, _ttl = auth_service.authenticate(
        session, username=username, password=TEST_PASSWORD, client_address="matrix"
    )
    session.commit()
    return token


def _bill_sides(
    client: TestClient, session: Session, admin: dict[str, str], sides: dict[str, Side]
) -> None:
    """Each side's February billed by a run of its agency (prepared by head office,
    approved by a second head-office user), so each has a billing run and an invoice."""
    _ok(
        client.post(
            "/api/v1/tariffs",
            headers=admin,
            json={
                "code": "BT1-DOM",  # the contracts' tariff
                "name": "Domestique",
                "currency": "XOF",
                "versions": [
                    {
                        "effective_from": "2020-01-01",
                        "definition": {"energy": [{"code": "kwh", "blocks": [{"price": "100"}]}]},
                    }
                ],
            },
        ),
        "tariff BT1-DOM",
    )
    second = bearer(_token(session, "kwm-matrix-head-office-2", [Role.ADMIN.value], None))
    for side in sides.values():
        run = _ok(
            client.post(
                "/api/v1/billing-runs",
                headers=admin,
                json={
                    "period_start": "2025-02-01",
                    "period_end": "2025-03-01",
                    "selection": {"agency": side.agency_code},
                },
            ),
            "billing run",
        )
        path = f"/api/v1/billing-runs/{run['id']}"
        _ok(client.post(f"{path}/simulate", headers=admin), "simulate")
        _ok(client.post(f"{path}/approve", headers=second, json={}), "approve")
        issued = _ok(client.post(f"{path}/issue", headers=second), "issue")
        assert issued["invoices"] == 1, f"building the matrix world: billing run: {issued}"
        invoices = _ok(
            client.get(f"/api/v1/invoices?billing_run_id={run['id']}", headers=admin), "invoices"
        )
        side.ids["billing_run"] = run["id"]
        side.ids["invoice"] = invoices["items"][0]["id"]


def _print_sides(session: Session, sides: dict[str, Side]) -> None:
    """Each side's print batch of its invoice, made by its agency and finished (its file
    in the data folder), so reading it and its file succeeds in its own territory."""
    for side in sides.values():
        batch = PrintBatch(
            label=f"matrix {side.name}",
            output="pdf",
            status="done",
            invoice_ids=[side.ids["invoice"]],
            total=1,
            done=1,
            agency_id=side.agency_id,
        )
        session.add(batch)
        session.flush()
        batch.file_name = f"print-batch-{batch.id}.pdf"
        content = b"%PDF-1.4 matrix"
        (print_batches.folder() / batch.file_name).write_bytes(content)
        batch.file_bytes = len(content)
        session.commit()
        side.ids["print_batch"] = batch.id


def _collection_sides(session: Session, sides: dict[str, Side]) -> None:
    """Each side's write-off request (asked by someone else, so any approver may decide)."""
    from billing.collections.models import WriteOff

    for side in sides.values():
        row = WriteOff(
            customer_account_id=side.ids["account"],
            amount=1,
            currency="XOF",
            reason=f"matrix {tag(side.name)}",
            requested_by="kwm-matrix-collector",
        )
        session.add(row)
        session.commit()
        side.ids["write_off"] = row.id
    # Each side's dunning policy (GLOBAL: seen by both, so not marked) and payment plan.
    from billing.collections.models import CollectionPolicy, CollectionStep, PaymentPlan

    for side in sides.values():
        policy = CollectionPolicy(
            code=f"matrix-{side.name}", name=f"matrix {side.name}", category="matrix-none"
        )
        session.add(policy)
        session.flush()
        session.add(
            CollectionStep(policy_id=policy.id, position=1, code="reminder", delay=5, channel="sms")
        )
        plan = PaymentPlan(
            customer_account_id=side.ids["account"],
            item_ids=[],
            principal=1,
            agreed_on=date(2025, 3, 1),
        )
        session.add(plan)
        session.commit()
        side.ids["policy"] = policy.id
        side.ids["plan"] = plan.id


def build_world(client: TestClient, session: Session) -> World:
    sides = {}
    for name in SIDES:
        agency = Agency(
            code=f"KWM-{tag(name)}-AG",
            name=f"Agence {tag(name)}",
            territory=WKTElement(TERRITORY[name], srid=4326),
        )
        session.add(agency)
        session.flush()
        sides[name] = Side(name=name, agency_id=agency.id, agency_code=agency.code)
    admin = bearer(_token(session, "kwm-matrix-head-office", [Role.ADMIN.value], None))
    for side in sides.values():
        _build_side(client, session, admin, side)
    # Tariffs are GLOBAL: one tariff, the same code on both sides.
    tariff = _ok(
        client.post("/api/v1/tariffs/imports", headers=admin, files=tariff_upload()), "tariff"
    )
    for side in sides.values():
        side.ids["tariff"] = tariff["code"]
    _bill_sides(client, session, admin, sides)
    _print_sides(session, sides)
    _collection_sides(session, sides)
    for side in sides.values():
        # A prepaid purchase (rated under the contract's tariff).
        vend = client.post(
            "/api/v1/prepaid-vends",
            headers={**admin, "Idempotency-Key": f"matrix-{side.name}-vend"},
            json={
                "contract_id": side.ids["contract"],
                "meter_serial": side.ids["meter_serial"],
                "amount": 5000,
            },
        )
        side.ids["vend"] = _ok(vend, "prepaid vend")["id"]
        _direct_debit_side(client, admin, side)
    role_headers = {
        role: bearer(
            _token(session, f"kwm-matrix-{role.value}", [role.value], sides["own"].agency_code)
        )
        for role in Role
    }
    _build_sync(client, session, sides, role_headers)
    _build_portal(client, session, admin, sides)
    return World(own=sides["own"], other=sides["other"], admin=admin, role_headers=role_headers)


def _direct_debit_side(client: TestClient, admin: dict[str, str], side: Side) -> None:
    """A mandate, a fee it pays, and a direct-debit batch made for the side's agency."""
    mandate = client.post(
        "/api/v1/mandates",
        headers=admin,
        json={
            "customer_account_id": side.ids["account"],
            "reference": f"KWM-MND-{side.name}",
            "signed_on": "2025-03-01",
            "debtor_name": tag(side.name),
            "iban": "DE89370400440532013000",
        },
    )
    side.ids["mandate"] = _ok(mandate, "mandate")["id"]
    fee = client.post(
        "/api/v1/receivable-items",
        headers={**admin, "Idempotency-Key": f"matrix-{side.name}-dd-fee"},
        json={
            "customer_account_id": side.ids["account"],
            "kind": "fee",
            "document_ref": f"KWM-DD-FEE-{side.name}",
            "due_date": "2025-03-01",
            "amount": 900,
        },
    )
    _ok(fee, "direct-debit fee")
    settings = get_settings()
    saved = settings.utility_bank_account, settings.utility_bic
    settings.utility_bank_account, settings.utility_bic = "FR1420041010050500013M02606", "PSSTFRPP"
    try:
        batch = client.post(
            "/api/v1/direct-debit/batches",
            headers={**admin, "Idempotency-Key": f"matrix-{side.name}-dd"},
            params={"agency_id": side.agency_id},
            json={"collection_date": "2025-03-20"},
        )
    finally:
        settings.utility_bank_account, settings.utility_bic = saved
    side.ids["dd_batch"] = _ok(batch, "direct-debit batch")["id"]


# -- mobile sync: devices, a photo, a queued conflict per side ---------------------------------

MATRIX_PHOTO = b"\x89PNG\r\n\x1a\n" + b"kilowatch matrix photo"
MATRIX_PHOTO_SHA = hashlib.sha256(MATRIX_PHOTO).hexdigest()


def _enroll(client: TestClient, headers: dict[str, str], device_uuid: str, label: str) -> str:
    """Enroll a device; the value of its ``X-Kilowatch-Device`` header."""
    body = _ok(
        client.post(
            "/api/v1/sync/devices",
            headers=headers,
            json={"device_uuid": device_uuid, "label": label},
        ),
        "enroll device",
    )
    return f"{body['device_id']}.{body['device_secret']}"


def _build_sync(
    client: TestClient,
    session: Session,
    sides: dict[str, Side],
    role_headers: dict[Role, dict[str, str]],
) -> None:
    """Every role holding ``sync`` gets an enrolled device in its headers (sync calls need
    one); each side gets a technician's device (the other's labelled with the marker) with
    a pushed record waiting for a photo and one queued conflict; one photo is stored."""
    from mobile_sync.models import SyncConflict, SyncOperation

    for role, headers in role_headers.items():
        if "sync" in ROLE_SCOPES[role]:
            headers["X-Kilowatch-Device"] = _enroll(
                client, headers, f"matrix-{role.value}", f"{role.value} phone"
            )
    for name, side in sides.items():
        token = _token(
            session, f"kwm-matrix-tech-{tag(name).lower()}", ["technician"], side.agency_code
        )
        headers = bearer(token)
        headers["X-Kilowatch-Device"] = _enroll(
            client, headers, f"matrix-tech-{name}", f"Phone {tag(name)}"
        )
        device_id = int(headers["X-Kilowatch-Device"].split(".")[0])
        side.ids["device"] = device_id
        record = {
            "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"kwm-matrix-{name}")),
            "kind": "reading",
            "base_version": None,
            "captured_at": "2025-03-15T08:00:00Z",
            "gps": None,
            "scanned_serial": f"{tag(name)}-SERIAL",
            "photos": ["0" * 64],  # never uploaded: an incomplete record
            "data": {"register_id": side.ids["meter_register"], "value": 150, "note": tag(name)},
        }
        receipt = _ok(
            client.post(
                "/api/v1/sync/push",
                headers=headers,
                json={"device_time": "2025-03-15T08:00:00Z", "records": [record]},
            ),
            "push",
        )["receipts"][0]
        assert receipt["status"] == "applied", receipt
        operation = session.scalar(
            select(SyncOperation).where(SyncOperation.uuid == uuid.UUID(record["uuid"]))
        )
        assert operation is not None
        conflict = SyncConflict(
            operation_id=operation.id,
            device_id=device_id,
            kind="reading",
            code="matrix_conflict",
            detail=f"queued for the matrix {tag(name)}",
        )
        session.add(conflict)
        session.flush()
        side.ids["conflict"] = conflict.id
        session.commit()
    technician = role_headers[Role.TECHNICIAN]
    _ok(
        client.put(
            f"/api/v1/sync/attachments/{MATRIX_PHOTO_SHA}",
            headers={**technician, "Content-Type": "image/png"},
            content=MATRIX_PHOTO,
        ),
        "photo",
    )


# -- the customers' portal: a signed-in customer on each side -----------------------------------

PORTAL_PASSWORD = "matrix portal password"
MATRIX_PRICE_LIST = {
    "currency": "XOF",
    "tax_rate": "0.18",
    "pole_fee": 85000,
    "pole_span_m": "40",
    "deposit_per_kva": 10000,
    "connection_types": {
        "mono": {
            "label": "Single-phase",
            "max_kva": "9",
            "base_fee": 150000,
            "included_length_m": "30",
            "per_metre_beyond": 2500,
            "meter_fee": 45000,
            "tariff_code": "BT1-DOM",
        }
    },
}


def portal_login(side: str) -> str:
    return f"portal-{tag(side).lower()}@example.org"


def _build_portal(
    client: TestClient, session: Session, admin: dict[str, str], sides: dict[str, Side]
) -> None:
    """Per side: the party paying the side's account signs up to the portal (its code read
    from a recording gateway) and holds a token; a connection request is taken at the desk
    and quoted; one more sign-up stays pending (its code verifies it in the matrix) and a
    reset code waits (the reset confirmation uses it)."""
    _ok(
        client.post(
            "/api/v1/connection-price-lists",
            headers=admin,
            json={"version": 1, "valid_from": "2020-01-01", "definition": MATRIX_PRICE_LIST},
        ),
        "connection price list",
    )
    for side in sides.values():
        s, ids = side.name, side.ids
        with notify.use_gateway(Channel.EMAIL, RecordingGateway()) as outbox:
            portal.register(
                session,
                first_name="Portal",
                last_name=tag(s),
                login=portal_login(s),
                password=PORTAL_PASSWORD,
                party_id=ids["party"],
            )
            portal.verify(session, login=portal_login(s), code=_last_code(outbox))
            portal.request_reset(session, login=portal_login(s))
            ids["portal_reset_code"] = _last_code(outbox)
            pending = f"pending-{tag(s).lower()}@example.org"
            portal.register(
                session,
                first_name="Pending",
                last_name=tag(s),
                login=pending,
                password=PORTAL_PASSWORD,
            )
            ids["portal_pending_login"] = pending
            ids["portal_verify_code"] = _last_code(outbox)
        session.commit()
        ids["portal_login"] = portal_login(s)
        token = _ok(
            client.post(
                "/api/v1/portal/token",
                data={"username": portal_login(s), "password": PORTAL_PASSWORD},
            ),
            "portal token",
        )
        ids["portal_headers"] = bearer(token["access_token"])
        request = _ok(
            client.post(
                "/api/v1/connection-requests",
                headers=admin,
                json={
                    "party_id": ids["party"],
                    "service_location_id": ids["location"],
                    "connection_type": "mono",
                    "subscribed_kva": "6",
                },
            ),
            "connection request",
        )
        ids["connection_request"] = request["id"]
        _ok(
            client.post(
                f"/api/v1/connection-requests/{request['id']}/quote",
                headers=admin,
                json={"distance_m": "25"},
            ),
            "quote",
        )


def _last_code(outbox: RecordingGateway) -> str:
    found = re.search(r"\b(\d{6})\b", outbox.sent[-1].body)
    assert found, outbox.sent[-1].body
    return found.group(1)


def add_second_company(client: TestClient, session: Session, world: World) -> None:
    """Make the other side another company's (migration 0027's ``core_company``): agency B
    and a tariff of its own move to a second company, so every operation of the matrix is
    also checked across companies (a company's books: its tariff is the other side's
    ``tariff``). Head office works for both, choosing one per request
    (``X-Kilowatch-Company``)."""
    from core.auth.models import Company, User, UserCompany

    code = f"{MARKER}-TARIF"
    _ok(
        client.post(
            "/api/v1/tariffs",
            headers=world.admin,
            json={
                "code": code,
                "name": f"Tarif {MARKER}",
                "currency": "EUR",
                "versions": [
                    {
                        "effective_from": "2020-01-01",
                        "definition": {"energy": [{"code": "kwh", "blocks": [{"price": "0.15"}]}]},
                    }
                ],
            },
        ),
        f"tariff {code}",
    )
    company = Company(code=f"{MARKER}CO", name=f"{MARKER} distribution", currency="EUR")
    session.add(company)
    session.flush()
    session.execute(
        text("UPDATE billing_tariff SET company_id = :c WHERE code = :code"),
        {"c": company.id, "code": code},
    )
    for table, column in (("core_agency", "id"), ("core_user", "agency_id")):
        session.execute(
            text(f"UPDATE {table} SET company_id = :c WHERE {column} = :a"),
            {"c": company.id, "a": world.other.agency_id},
        )
    for user_id in session.scalars(select(User.id).where(User.agency_id.is_(None))):
        session.add(UserCompany(user_id=user_id, company_id=company.id))
    session.commit()
    world.other.ids["tariff"] = code
    world.company_role_headers.update(
        {
            role: bearer(_token(session, f"kwm-matrix-company-{role.value}", [role.value], None))
            for role in Role
        }
    )
