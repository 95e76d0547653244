"""HTTP: imports, traces as GeoJSON, switch operations, exports."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import bearer
from tests.gis.networks import feature, small_network

BASE = "/api/v1/network"


def geojson_upload(features: list[dict], name: str = "small.geojson") -> dict:
    body = json.dumps({"type": "FeatureCollection", "features": features}).encode()
    return {"file": (name, body, "application/geo+json")}


@pytest.fixture()
def admin(make_user) -> dict[str, str]:
    return bearer(make_user("admin"))


@pytest.fixture()
def loaded(client: TestClient, admin: dict[str, str]) -> dict[str, str]:
    response = client.post(f"{BASE}/imports", headers=admin, files=geojson_upload(small_network()))
    assert response.status_code == 201, response.text
    return admin


def test_an_admin_imports_a_file_and_gets_a_report(client: TestClient, admin: dict) -> None:
    response = client.post(f"{BASE}/imports", headers=admin, files=geojson_upload(small_network()))
    assert response.status_code == 201
    report = response.json()
    assert report["feeders"] == ["F1", "F2"]
    assert report["records"]["lv_consumer_unit"] == 5
    assert report["rows"]["service_point"] == {"inserted": 5, "updated": 0}
    assert report["feeder_counts"]["F1"]["service_points"] == 5


def test_a_bad_upload_is_a_422_naming_each_record(client: TestClient, admin: dict) -> None:
    bad = [
        *small_network(),
        feature("gizmo", None, code="G1"),
        feature("lv_consumer_unit", None, code="B9"),
    ]
    response = client.post(f"{BASE}/imports", headers=admin, files=geojson_upload(bad))
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == "network_import_invalid"
    assert {(e["field"], e["code"]) for e in problem["errors"]} == {
        ("gizmo:G1", "unknown_kind"),
        ("lv_consumer_unit:B9", "missing_property"),
    }
    # Nothing was written.
    missing = client.get(f"{BASE}/feeders/F1/trace", headers=admin)
    assert missing.status_code == 404
    odd = client.post(
        f"{BASE}/imports", headers=admin, files={"file": ("net.csv", b"kind\n", "text/csv")}
    )
    assert odd.status_code == 422
    assert odd.json()["code"] == "network_format_unsupported"


def test_auth_is_required_and_scopes_are_checked(
    client: TestClient, loaded: dict, make_user
) -> None:
    assert client.get(f"{BASE}/feeders/F1/trace").status_code == 401
    assert client.post(f"{BASE}/imports", files=geojson_upload(small_network())).status_code == 401
    technician = bearer(make_user("technician"))  # network:read only
    assert client.get(f"{BASE}/feeders/F1/trace", headers=technician).status_code == 200
    forbidden = client.post(
        f"{BASE}/imports", headers=technician, files=geojson_upload(small_network())
    )
    assert forbidden.status_code == 403
    operate = client.post(f"{BASE}/switches/S1/operate", headers=technician, json={"open": True})
    assert operate.status_code == 403
    cashier = bearer(make_user("cashier"))  # no network scope at all
    assert client.get(f"{BASE}/feeders/F1/trace", headers=cashier).status_code == 403


def test_unknown_codes_are_404_and_bad_parameters_422(client: TestClient, loaded: dict) -> None:
    assert client.get(f"{BASE}/feeders/NOPE/trace", headers=loaded).json()["code"] == (
        "feeder_not_found"
    )
    response = client.get(f"{BASE}/service-points/NOPE/upstream", headers=loaded)
    assert response.status_code == 404
    response = client.post(f"{BASE}/switches/NOPE/operate", headers=loaded, json={"open": True})
    assert response.status_code == 404
    assert response.json()["code"] == "switch_not_found"
    assert client.get(f"{BASE}/feeders/NOPE/export", headers=loaded).status_code == 404
    bad = client.get(f"{BASE}/feeders/F1/trace?direction=sideways", headers=loaded)
    assert bad.status_code == 422
    assert (
        client.post(
            f"{BASE}/switches/S1/operate", headers=loaded, json={"open": "maybe"}
        ).status_code
        == 422
    )
    assert client.get(f"{BASE}/feeders/F1/export?format=shp", headers=loaded).status_code == 422


def test_trace_switch_and_trace_again(client: TestClient, loaded: dict) -> None:
    response = client.get(f"{BASE}/feeders/F1/trace?direction=downstream", headers=loaded)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    collection = response.json()
    assert collection["type"] == "FeatureCollection"
    assert collection["counts"]["service_points"] == 5
    assert collection["properties"]["counts"] == collection["counts"]
    assert collection["properties"]["feeder"] == "F1"
    points = {
        f["properties"]["code"]
        for f in collection["features"]
        if f["properties"]["asset"] == "service_point"
    }
    assert points == {"B1", "B2", "D1", "D2", "E1"}
    stops = [
        f["properties"]["code"]
        for f in collection["features"]
        if f["properties"].get("stops_trace")
    ]
    assert stops == ["S3"]
    assert all(
        f["geometry"]["type"] == "Point"
        for f in collection["features"]
        if f["properties"]["asset"] == "service_point"
    )

    opened = client.post(
        f"{BASE}/switches/S1/operate", headers=loaded, json={"open": True, "reason": "maintenance"}
    )
    assert opened.status_code == 200
    assert opened.json() == {
        "code": "S1",
        "kind": "disconnector",
        "is_open": True,
        "normal_open": False,
        "changed": True,
    }
    again = client.post(f"{BASE}/switches/S1/operate", headers=loaded, json={"open": True})
    assert again.json()["changed"] is False
    after = client.get(f"{BASE}/feeders/F1/trace", headers=loaded).json()
    points = {
        f["properties"]["code"]
        for f in after["features"]
        if f["properties"]["asset"] == "service_point"
    }
    assert points == {"B1", "B2", "E1"}

    upstream = client.get(f"{BASE}/service-points/B2/upstream", headers=loaded).json()
    assert upstream["counts"]["transformers"] == 1
    assert {f["properties"]["code"] for f in upstream["features"]} == {
        "B2",
        "T1",
        "l1",
        "l2",
        "m1",
        "m2",
    }


def test_export_and_reimport_over_http(client: TestClient, loaded: dict, tmp_path: Path) -> None:
    exported = client.get(f"{BASE}/feeders/F1/export?format=geojson", headers=loaded)
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("application/geo+json")
    assert 'filename="F1.geojson"' in exported.headers["content-disposition"]
    body = exported.json()
    assert {f["properties"]["kind"] for f in body["features"]} >= {
        "feeder_head",
        "mv_segment",
        "switch",
        "distribution_transformer",
        "lv_consumer_unit",
    }
    gpkg = client.get(f"{BASE}/feeders/F1/export?format=gpkg", headers=loaded)
    assert gpkg.status_code == 200 and gpkg.content[:16] == b"SQLite format 3\x00"
    again = client.post(
        f"{BASE}/imports",
        headers=loaded,
        files={"file": ("F1.gpkg", gpkg.content, "application/octet-stream")},
    )
    assert again.status_code == 201, again.text
    assert again.json()["rows"]["service_point"]["inserted"] == 0


def test_an_opendss_folder_zip_imports(client: TestClient, admin: dict, datasets_dir: Path) -> None:
    folder = datasets_dir / "grid" / "bdgd_ULAS628_dss"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, f"bdgd_ULAS628_dss/{path.name}")
    response = client.post(
        f"{BASE}/imports",
        headers=admin,
        files={"file": ("ULAS628.zip", buffer.getvalue(), "application/zip")},
    )
    assert response.status_code == 201, response.text
    report = response.json()
    assert report["format"] == "opendss"
    assert report["records"]["lv_consumer_unit"] == 775
    assert report["feeder_counts"]["ULAS628"]["transformers"] == 25


def test_a_zip_with_an_unsafe_path_is_refused(client: TestClient, admin: dict) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../evil/Master.dss", "Clear\n")
    response = client.post(
        f"{BASE}/imports",
        headers=admin,
        files={"file": ("x.zip", buffer.getvalue(), "application/zip")},
    )
    assert response.status_code == 422
    assert "unsafe path" in response.json()["detail"]
