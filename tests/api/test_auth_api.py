"""Authentication, scopes and problem+json errors; rejected requests write nothing."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.audit import AuditLog
from core.auth.models import LoginAttempt, User
from core.auth.service import create_user
from tests.conftest import TEST_PASSWORD, bearer

PROBLEM = "application/problem+json"
NEW_USER = {"username": "new.cashier", "password": "long-enough-pw", "roles": ["cashier"]}


def _row_counts(db: Session) -> tuple[int, int, int]:
    return (
        db.scalar(select(func.count()).select_from(User)),
        db.scalar(select(func.count()).select_from(AuditLog)),
        db.scalar(select(func.count()).select_from(LoginAttempt)),
    )


def test_unauthenticated_call_gets_401_problem_and_writes_nothing(
    client: TestClient, db: Session
) -> None:
    before = _row_counts(db)
    response = client.post("/api/v1/users", json=NEW_USER)
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["www-authenticate"] == "Bearer"
    body = response.json()
    assert body["code"] == "not_authenticated" and body["status"] == 401
    assert _row_counts(db) == before


def test_garbage_token_gets_401(client: TestClient) -> None:
    response = client.get("/api/v1/auth/me", headers=bearer("not.a.jwt"))
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_token_without_scope_gets_403_and_writes_nothing(
    client: TestClient, db: Session, make_user: Callable[..., str]
) -> None:
    token = make_user("technician")
    before = _row_counts(db)
    response = client.post("/api/v1/users", json=NEW_USER, headers=bearer(token))
    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == "forbidden"
    assert "users:admin" in response.json()["detail"]
    assert _row_counts(db) == before


def test_malformed_body_gets_422_with_field_errors_and_writes_nothing(
    client: TestClient, db: Session, make_user: Callable[..., str]
) -> None:
    token = make_user("admin")
    before = _row_counts(db)
    response = client.post(
        "/api/v1/users",
        json={"username": "x", "password": "short", "roles": ["wizard"]},
        headers=bearer(token),
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["code"] == "validation_failed"
    assert {e["field"] for e in body["errors"]} == {"username", "password", "roles/0"}
    assert _row_counts(db) == before


def test_unparseable_body_gets_400_problem_not_500(
    client: TestClient, make_user: Callable[..., str]
) -> None:
    token = make_user("admin")
    response = client.post(
        "/api/v1/users",
        content=b"\xff\x00garbage",
        headers={**bearer(token), "content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == "bad_request"


def test_admin_creates_user_and_the_audit_trail_names_the_admin(
    client: TestClient, make_user: Callable[..., str]
) -> None:
    admin_token = make_user("admin", username="chief.admin")
    created = client.post("/api/v1/users", json=NEW_USER, headers=bearer(admin_token))
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    assert created.json()["roles"] == ["cashier"]

    manager_token = make_user("manager")
    trail = client.get(
        "/api/v1/audit",
        params={"entity": "core_user", "key": user_id},
        headers=bearer(manager_token),
    )
    assert trail.status_code == 200
    entries = trail.json()["items"]
    assert [e["action"] for e in entries] == ["insert"]
    assert entries[0]["actor"] == "chief.admin"
    assert entries[0]["request_id"] == created.headers["x-request-id"]
    assert entries[0]["after"]["password_hash"] == "***"


def test_duplicate_username_is_a_409_problem(client: TestClient, make_user) -> None:
    token = make_user("admin")
    assert client.post("/api/v1/users", json=NEW_USER, headers=bearer(token)).status_code == 201
    again = client.post("/api/v1/users", json=NEW_USER, headers=bearer(token))
    assert again.status_code == 409
    assert again.json()["code"] == "user_exists"


def test_audit_is_refused_to_a_cashier(client: TestClient, make_user) -> None:
    response = client.get(
        "/api/v1/audit", params={"entity": "core_user"}, headers=bearer(make_user("cashier"))
    )
    assert response.status_code == 403


def test_password_flow_issues_a_token_carrying_the_role_scopes(
    client: TestClient, db: Session
) -> None:
    create_user(db, username="cash1", password=TEST_PASSWORD, roles=["cashier"])
    db.commit()
    response = client.post(
        "/api/v1/auth/token", data={"username": "cash1", "password": TEST_PASSWORD}
    )
    assert response.status_code == 200
    token = response.json()["access_token"]
    assert set(response.json()["scope"].split()) == {
        "customers:read",
        "billing:read",
        "tariffs:read",  # a cashier explains a bill with the calculator
        "payments:write",
    }
    me = client.get("/api/v1/auth/me", headers=bearer(token))
    assert me.json()["username"] == "cash1"


def test_failed_logins_are_rate_limited(client: TestClient, db: Session) -> None:
    create_user(db, username="target", password=TEST_PASSWORD, roles=["cashier"])
    db.commit()
    for _ in range(5):
        wrong = client.post("/api/v1/auth/token", data={"username": "target", "password": "nope"})
        assert wrong.status_code == 401
        assert wrong.json()["code"] == "credentials_invalid"
    # Even the right password is refused while the window lasts.
    locked = client.post(
        "/api/v1/auth/token", data={"username": "target", "password": TEST_PASSWORD}
    )
    assert locked.status_code == 429
    assert locked.json()["code"] == "login_rate_limited"
    assert int(locked.headers["retry-after"]) > 0


def test_healthz_needs_no_token(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_every_api_operation_requires_a_token(app) -> None:
    """Walk the OpenAPI document: every operation except the public ones is secured."""
    public = {
        ("/healthz", "get"),
        ("/api/v1/auth/token", "post"),
        # A customer with no account yet signs up, proves their e-mail or phone and signs in;
        # a forgotten password is reset with a code sent to them.
        ("/api/v1/portal/register", "post"),
        ("/api/v1/portal/verify", "post"),
        ("/api/v1/portal/token", "post"),
        ("/api/v1/portal/password-reset", "post"),
        ("/api/v1/portal/password-reset/confirm", "post"),
    }
    spec = app.openapi()
    unsecured = [
        (path, method)
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if (path, method) not in public and not operation.get("security")
    ]
    assert unsecured == []


def test_a_nul_byte_in_a_sign_in_field_is_a_422_naming_the_field(
    client: TestClient, db: Session
) -> None:
    create_user(db, username="nulled", password=TEST_PASSWORD, roles=["cashier"])
    db.commit()
    before = _row_counts(db)
    for field, form in (
        ("username", {"username": "nul\x00led", "password": TEST_PASSWORD}),
        ("password", {"username": "nulled", "password": TEST_PASSWORD + "\x00"}),
    ):
        response = client.post("/api/v1/auth/token", data=form)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == PROBLEM
        body = response.json()
        assert body["code"] == "sign_in_invalid"
        assert body["errors"] == [
            {"field": field, "message": body["errors"][0]["message"], "code": "control_character"}
        ]
    assert _row_counts(db) == before  # not even counted as an attempt


def test_a_nul_byte_on_the_sign_in_page_is_refused_not_a_500(client: TestClient) -> None:
    response = client.post(
        "/login", data={"username": "nul\x00led", "password": "whatever", "next": "/"}
    )
    assert response.status_code == 422
