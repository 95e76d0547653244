"""The request's unit of work commits BEFORE the answer: a write whose commit fails is
answered with a problem+json, never a 2xx for a row that does not exist."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from api.app import create_app
from api.deps import DbSession
from core import db as core_db
from core.auth.models import Agency

PROBLEM = "application/problem+json"
PROBE = "test_uow_probe"  # a table that lives only for the tests of this module

router = APIRouter(prefix="/test-uow")


@router.post("/agencies/{code}", status_code=201)
def add_agency_unflushed(code: str, session: DbSession) -> dict[str, str]:
    """Leaves the insert pending: it reaches the database only at commit."""
    session.add(Agency(code=code, name=code))
    return {"created": code}


@router.post("/deferred/{code}", status_code=201)
def add_probe_twice(code: str, session: DbSession) -> dict[str, str]:
    """Two rows with one code: the deferred unique key is checked only at COMMIT."""
    for _ in range(2):
        session.execute(text(f"INSERT INTO {PROBE} (code) VALUES (:code)"), {"code": code})
    return {"created": code}


@router.post("/lost/{code}", status_code=201)
def add_probe_then_lose_the_connection(code: str, session: DbSession) -> dict[str, str]:
    """Writes a row, then the server ends this session's connection before the commit."""
    session.execute(text(f"INSERT INTO {PROBE} (code) VALUES (:code)"), {"code": code})
    pid = session.execute(text("SELECT pg_backend_pid()")).scalar_one()
    bind = session.get_bind()
    assert isinstance(bind, Engine)
    with bind.connect() as other:
        other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    return {"created": code}


@router.post("/ok/{code}", status_code=201)
def add_probe(code: str, session: DbSession) -> dict[str, str]:
    session.execute(text(f"INSERT INTO {PROBE} (code) VALUES (:code)"), {"code": code})
    return {"created": code}


@pytest.fixture()
def probe_table(engine: Engine) -> Iterator[Engine]:
    """A real, committed table with a DEFERRABLE INITIALLY DEFERRED unique key."""
    with engine.begin() as conn:
        conn.execute(
            text(
                f"CREATE TABLE {PROBE} (id bigserial PRIMARY KEY, code text NOT NULL,"
                f" CONSTRAINT {PROBE}_code_key UNIQUE (code) DEFERRABLE INITIALLY DEFERRED)"
            )
        )
    try:
        yield engine
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"DROP TABLE IF EXISTS {PROBE}"))


def _probe_rows(engine: Engine, code: str) -> int:
    with engine.connect() as conn:
        return conn.execute(
            text(f"SELECT count(*) FROM {PROBE} WHERE code = :code"), {"code": code}
        ).scalar_one()


@pytest.fixture()
def real_client(database_url: str, probe_table: Engine) -> Iterator[TestClient]:
    """The production session factory: real transactions, real COMMITs."""
    app: FastAPI = create_app(
        session_factory=lambda: core_db.new_session(database_url), extra_routers=[router]
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def _problem(response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["code"] == code
    return body


def test_a_constraint_failing_at_commit_answers_409_and_nothing_is_stored(
    real_client: TestClient, probe_table: Engine
) -> None:
    body = _problem(real_client.post("/test-uow/deferred/DUP-1"), 409, "conflict")
    assert body["constraint"] == f"{PROBE}_code_key"
    assert _probe_rows(probe_table, "DUP-1") == 0


def test_a_connection_lost_before_commit_answers_503_and_nothing_is_stored(
    real_client: TestClient, probe_table: Engine
) -> None:
    response = real_client.post("/test-uow/lost/GONE-1")
    _problem(response, 503, "database_unavailable")
    assert int(response.headers["retry-after"]) > 0
    assert _probe_rows(probe_table, "GONE-1") == 0
    # The pool recovers: the next request gets a live connection.
    assert real_client.post("/test-uow/ok/AFTER-1").status_code == 201
    assert _probe_rows(probe_table, "AFTER-1") == 1


def test_a_successful_write_is_committed_before_the_answer(
    real_client: TestClient, probe_table: Engine
) -> None:
    response = real_client.post("/test-uow/ok/FINE-1")
    assert response.status_code == 201
    assert _probe_rows(probe_table, "FINE-1") == 1


def test_the_savepoint_test_session_gets_the_same_answer(db: Session) -> None:
    """With the tests' savepoint-joined session, a commit releases a savepoint: a pending
    insert breaking a unique key fails there, and the client sees 409, not 201."""
    db.add(Agency(code="UOW-TAKEN", name="taken"))
    db.commit()
    app = create_app(session_factory=lambda: db, extra_routers=[router])
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post("/test-uow/agencies/UOW-TAKEN")
    _problem(response, 409, "conflict")
    count = db.scalar(select(func.count()).select_from(Agency).where(Agency.code == "UOW-TAKEN"))
    assert count == 1
