"""The tariff API: the book (create, versions, import, export) and the bill calculator."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.billing.tariffs import FIXTURES
from tests.conftest import bearer

FLAT = {"energy": [{"code": "kwh", "blocks": [{"price": "100"}]}]}
RAISED = {
    "fixed_charges": [{"code": "abo", "amount": "1000"}],
    "energy": [{"code": "kwh", "blocks": [{"price": "120"}]}],
}


def _upload(name: str) -> dict:
    path = FIXTURES / name
    return {"file": (path.name, path.read_bytes(), "application/yaml")}


def test_reading_and_writing_need_the_tariff_scopes(client, make_user) -> None:
    assert client.get("/api/v1/tariffs").status_code == 401
    technician = bearer(make_user("technician"))
    assert client.get("/api/v1/tariffs", headers=technician).status_code == 403
    desk = bearer(make_user("customer_desk"))
    assert client.get("/api/v1/tariffs", headers=desk).status_code == 200
    body = {"code": "T1", "name": "T", "currency": "XOF"}
    refused = client.post("/api/v1/tariffs", headers=desk, json=body)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    officer = bearer(make_user("billing_officer"))
    assert client.post("/api/v1/tariffs", headers=officer, json=body).status_code == 201


def test_publish_versions_and_simulate_across_the_change(client, make_user) -> None:
    officer = bearer(make_user("billing_officer"))
    created = client.post(
        "/api/v1/tariffs",
        headers=officer,
        json={
            "code": "KW-TEST",
            "name": "Test",
            "currency": "XOF",
            "versions": [{"effective_from": "2024-01-01", "definition": FLAT}],
        },
    )
    assert created.status_code == 201, created.text
    added = client.post(
        "/api/v1/tariffs/KW-TEST/versions",
        headers=officer,
        json={"effective_from": "2025-01-16", "note": "hausse", "definition": RAISED},
    )
    assert added.status_code == 201 and added.json()["version"] == 2
    read = client.get("/api/v1/tariffs/KW-TEST", headers=officer).json()
    assert [(v["version"], v["effective_from"], v["effective_to"]) for v in read["versions"]] == [
        (1, "2024-01-01", "2025-01-16"),
        (2, "2025-01-16", None),
    ]
    cashier = bearer(make_user("cashier"))
    simulated = client.post(
        "/api/v1/tariffs/KW-TEST/simulate",
        headers=cashier,
        json={"start": "2025-01-01", "end": "2025-02-01", "kwh": {"total": "310"}},
    )
    assert simulated.status_code == 200, simulated.text
    bill = simulated.json()
    # 150 kWh x 100 before the 16th; 1000 x 16/31 = 516.13 -> 516 and 160 x 120 after
    assert [(x["component"], x["quantity"], x["amount"]) for x in bill["lines"]] == [
        ("kwh", "150", 15000),
        ("abo", "0.516129", 516),
        ("kwh", "160", 19200),
    ]
    assert (bill["total"], bill["days"], bill["minor_exponent"]) == (34716, 31, 0)
    assert bill["total_formatted"] == "34\u202f716\xa0F\u202fCFA"


def test_bad_input_is_a_422_problem_and_writes_nothing(client, make_user) -> None:
    officer = bearer(make_user("billing_officer"))
    falling = {
        "energy": [
            {
                "code": "kwh",
                "blocks": [
                    {"up_to": "50", "price": "1"},
                    {"up_to": "20", "price": "2"},
                    {"price": "3"},
                ],
            }
        ]
    }
    bad = client.post(
        "/api/v1/tariffs",
        headers=officer,
        json={
            "code": "KW-BAD",
            "name": "B",
            "currency": "XOF",
            "versions": [{"effective_from": "2025-01-01", "definition": falling}],
        },
    )
    assert bad.status_code == 422
    assert client.get("/api/v1/tariffs/KW-BAD", headers=officer).status_code == 404
    unknown = client.post(
        "/api/v1/tariffs", headers=officer, json={"code": "KW-BAD", "name": "B", "currency": "ZZZ"}
    )
    assert unknown.status_code == 422
    client.post(
        "/api/v1/tariffs/imports", headers=officer, files=_upload("sbee_bt_domestique.yaml")
    )
    simulate = "/api/v1/tariffs/SBEE-BT-DOM/simulate"
    backwards = client.post(
        simulate,
        headers=officer,
        json={"start": "2025-02-01", "end": "2025-01-01", "kwh": {"total": "1"}},
    )
    assert backwards.status_code == 422
    unpriced = client.post(
        simulate,
        headers=officer,
        json={"start": "2025-01-01", "end": "2025-02-01", "kwh": {"peak": "1"}},
    )
    assert unpriced.status_code == 422 and unpriced.json()["code"] == "usage_invalid"
    early = client.post(
        simulate,
        headers=officer,
        json={"start": "2023-01-01", "end": "2023-02-01", "kwh": {"total": "1"}},
    )
    assert early.status_code == 422 and early.json()["code"] == "tariff_not_in_force"
    not_yaml = client.post(
        "/api/v1/tariffs/imports",
        headers=officer,
        files={"file": ("t.yaml", b"code: [unclosed", "application/yaml")},
    )
    assert not_yaml.status_code == 422 and not_yaml.json()["code"] == "tariff_document_invalid"


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_export_imports_back_to_the_same_tariff(client, make_user, fmt: str) -> None:
    officer = bearer(make_user("billing_officer"))
    first = client.post(
        "/api/v1/tariffs/imports", headers=officer, files=_upload("br_b1_residencial.yaml")
    )
    assert first.json() == {
        "code": "BR-B1-RES",
        "created": True,
        "versions_added": [1],
        "versions_unchanged": [],
    }
    exported = client.get(f"/api/v1/tariffs/BR-B1-RES/export?format={fmt}", headers=officer)
    assert exported.status_code == 200
    again = client.post(
        "/api/v1/tariffs/imports",
        headers=officer,
        files={"file": (f"t.{fmt}", exported.content, f"application/{fmt}")},
    )
    assert again.json() == {
        "code": "BR-B1-RES",
        "created": False,
        "versions_added": [],
        "versions_unchanged": [1],
    }


def test_a_published_version_is_never_edited(client, make_user, db) -> None:
    officer = bearer(make_user("billing_officer"))
    client.post("/api/v1/tariffs/imports", headers=officer, files=_upload("fr_bleu_base.yaml"))
    document = json.loads(
        client.get("/api/v1/tariffs/FR-BLEU-BASE/export?format=json", headers=officer).content
    )
    document["versions"][0]["definition"]["energy"][0]["blocks"][0]["price"] = "0.3"
    changed = client.post(
        "/api/v1/tariffs/imports",
        headers=officer,
        files={"file": ("t.json", json.dumps(document).encode(), "application/json")},
    )
    assert changed.status_code == 409 and changed.json()["code"] == "tariff_version_conflict"
    same_day = client.post(
        "/api/v1/tariffs/FR-BLEU-BASE/versions",
        headers=officer,
        json={"effective_from": "2025-02-01", "definition": FLAT},
    )
    assert same_day.status_code == 409
    with pytest.raises(DBAPIError, match="never edited"), db.begin_nested():
        db.execute(
            text(
                "UPDATE billing_tariff_version SET definition = '{}' "
                "WHERE tariff_id = (SELECT id FROM billing_tariff "
                "WHERE code = 'FR-BLEU-BASE')"
            )
        )
