"""Pages: sign-in redirects, per-role navigation, offline map assets."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from core.auth.service import create_user
from tests.conftest import TEST_PASSWORD


def _sign_in(client: TestClient, db: Session, username: str, role: str) -> None:
    create_user(db, username=username, password=TEST_PASSWORD, roles=[role])
    db.commit()
    response = client.post(
        "/login", data={"username": username, "password": TEST_PASSWORD}, follow_redirects=False
    )
    assert response.status_code == 303


def test_pages_redirect_to_login_when_signed_out(client: TestClient) -> None:
    response = client.get("/map", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/map"


def test_wrong_password_shows_the_form_again_with_an_error(client: TestClient, db: Session) -> None:
    create_user(db, username="reader", password=TEST_PASSWORD, roles=["technician"])
    db.commit()
    response = client.post("/login", data={"username": "reader", "password": "bad"})
    assert response.status_code == 401
    assert "username or password is wrong" in response.text


def test_navigation_follows_the_role(client: TestClient, db: Session) -> None:
    _sign_in(client, db, "boss", "manager")
    home = client.get("/")
    assert 'href="/audit"' in home.text and 'href="/map/network"' in home.text
    client.post("/logout")
    client.cookies.clear()
    _sign_in(client, db, "till", "cashier")
    home = client.get("/")
    assert 'href="/audit"' not in home.text and 'href="/map/network"' not in home.text


def test_map_page_uses_only_local_assets(client: TestClient, db: Session) -> None:
    _sign_in(client, db, "tech", "technician")
    page = client.get("/map")
    assert page.status_code == 200
    assert "/static/vendor/leaflet/leaflet.js" in page.text
    assert "cdn." not in page.text and "https://" not in page.text.split("<body")[0]
    assert client.get("/static/vendor/leaflet/leaflet.js").status_code == 200


def test_next_parameter_cannot_redirect_off_site(client: TestClient, db: Session) -> None:
    create_user(db, username="nav", password=TEST_PASSWORD, roles=["technician"])
    db.commit()
    response = client.post(
        "/login",
        data={"username": "nav", "password": TEST_PASSWORD, "next": "//evil.example"},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


def test_audit_page_lists_changes_for_a_manager_only(client: TestClient, db: Session) -> None:
    create_user(db, username="audited.one", password=TEST_PASSWORD, roles=["cashier"])
    db.commit()
    _sign_in(client, db, "chief", "manager")
    page = client.get("/audit", params={"entity": "core_user"})
    assert page.status_code == 200
    assert "audited.one" in page.text
    client.cookies.clear()
    _sign_in(client, db, "desk", "customer_desk")
    assert client.get("/audit").status_code == 403
