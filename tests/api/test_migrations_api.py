"""``/api/v1/migrations`` and the ``/migrations`` page: an upload answers 202 with its run,
the worker (in-process here: no broker) imports it after the commit, the run tells its
status, progress and report, a partial run lists its parked rows. These commit, on a test
entity's own table."""

from __future__ import annotations

import io
import uuid
import zipfile
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, text
from sqlalchemy.orm import Session

from core.auth import service as auth
from core.auth.models import User
from core.db import session_scope
from kilowatch.app import build_app
from tests.conftest import TEST_PASSWORD, bearer
from tests.core.migration_entity import committed_gadgets

HEADER = "code,name,count,price,weight,born,seen,active\n"
GOOD = "G-1,Lamp,3,12.50,1.5,2024-01-31,,true\nG-2,Fan,0,0.99,2,2023-12-01,,no\n"


def _zip(body: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("gadgets.csv", HEADER + body)
    return out.getvalue()


@pytest.fixture()
def admin(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    name = f"mig_{uuid.uuid4().hex[:8]}"
    with session_scope() as session:
        auth.create_user(session, username=name, password=TEST_PASSWORD, roles=["admin"])
    with session_scope() as session:
        _user, token, _ttl = auth.authenticate(
            session, username=name, password=TEST_PASSWORD, client_address="test"
        )
    with committed_gadgets(monkeypatch):
        yield bearer(token)
    with session_scope() as session:
        session.execute(delete(User).where(User.username == name))


@pytest.fixture()
def api() -> Iterator[TestClient]:
    with TestClient(build_app(), raise_server_exceptions=False) as client:
        yield client


def _upload(api: TestClient, admin: dict[str, str], body: str, **query: str) -> int:
    response = api.post(
        "/api/v1/migrations",
        headers=admin,
        params=query,
        files={"file": ("base.zip", _zip(body), "application/zip")},
    )
    assert response.status_code == 202, response.text
    return int(response.json()["run_id"])


def test_an_upload_is_accepted_then_imported_and_reported(
    api: TestClient, admin: dict[str, str]
) -> None:
    run_id = _upload(api, admin, GOOD)
    run = api.get(f"/api/v1/migrations/{run_id}", headers=admin).json()
    assert run["status"] == "done"
    assert run["progress"] == {"gadgets": {"done": 2, "total": 2}}
    assert run["report"]["entities"]["gadgets"]["inserted"] == 2
    with session_scope() as session:
        assert session.scalar(text("SELECT count(*) FROM test_gadget")) == 2
    listed = api.get("/api/v1/migrations", headers=admin).json()
    assert listed[0]["id"] == run_id


def test_only_a_failed_run_is_resumed(api: TestClient, admin: dict[str, str]) -> None:
    """A finished run cannot be queued again (409); an unknown one is a 404. (Resuming a
    failed run to the uninterrupted state: tests/core/test_migration_resume.py.)"""
    run_id = _upload(api, admin, GOOD)
    again = api.post(f"/api/v1/migrations/{run_id}/resume", headers=admin)
    assert (again.status_code, again.json()["code"]) == (409, "migration_not_resumable")
    with session_scope() as session:
        assert session.scalar(text("SELECT count(*) FROM test_gadget")) == 2
    missing = api.post(f"/api/v1/migrations/{run_id + 10_000}/resume", headers=admin)
    assert missing.status_code == 404


def test_a_refused_upload_records_its_problems_and_writes_nothing(
    api: TestClient, admin: dict[str, str]
) -> None:
    run_id = _upload(api, admin, GOOD + "G-3,,x,,,,,\n")
    run = api.get(f"/api/v1/migrations/{run_id}", headers=admin).json()
    assert run["status"] == "refused"
    assert [(p["line"], p["field"], p["code"]) for p in run["report"]["problems"]] == [
        (4, "name", "missing_required"),
        (4, "count", "invalid_integer"),
    ]
    with session_scope() as session:
        assert session.scalar(text("SELECT count(*) FROM test_gadget")) == 0


def test_a_partial_upload_lists_its_parked_rows(api: TestClient, admin: dict[str, str]) -> None:
    run_id = _upload(api, admin, GOOD + "G-3,,x,,,,,\n", partial="true")
    parked = api.get(f"/api/v1/migrations/{run_id}/parked", headers=admin)
    assert parked.status_code == 200
    [row] = parked.json()
    assert (row["entity"], row["line"], row["data"]["count"]) == ("gadgets", 4, "x")
    assert [p["code"] for p in row["problems"]] == ["missing_required", "invalid_integer"]


def test_templates_download_and_bad_uploads(api: TestClient, admin: dict[str, str]) -> None:
    templates = api.get("/api/v1/migrations/templates", headers=admin)
    assert templates.status_code == 200
    names = zipfile.ZipFile(io.BytesIO(templates.content)).namelist()
    assert names == ["gadgets.csv", "FORMAT.md"]
    refused = api.post(
        "/api/v1/migrations",
        headers=admin,
        files={"file": ("base.txt", b"hello", "text/plain")},
    )
    assert refused.status_code == 422
    assert refused.json()["code"] == "migration_upload_unsupported"
    assert api.get("/api/v1/migrations/999999999", headers=admin).status_code == 404


def test_the_scope_is_needed(client: TestClient, make_user, db: Session) -> None:  # type: ignore[no-untyped-def]
    token = make_user("manager")
    assert client.get("/api/v1/migrations", headers=bearer(token)).status_code == 403


def test_the_page_uploads_and_shows_the_report(api: TestClient, admin: dict[str, str]) -> None:
    api.cookies.set("kw_token", admin["Authorization"].removeprefix("Bearer "))
    page = api.post(
        "/migrations",
        data={"partial": "true"},
        files={"file": ("base.zip", _zip(GOOD + "G-3,,x,,,,,\n"), "application/zip")},
        follow_redirects=True,
    )
    assert page.status_code == 200
    assert 'data-testid="report-table"' in page.text
    assert 'data-testid="parked-table"' in page.text
    assert "missing_required" in page.text
    assert 'href="/api/v1/migrations/templates"' in page.text
