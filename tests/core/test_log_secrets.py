"""No secret reaches the log: tracebacks carry no local variables, SQL errors no values."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import structlog
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from core.auth import service
from core.auth.service import create_user
from core.logging import configure_logging
from core.settings import get_settings
from tests.conftest import TEST_PASSWORD

SECRET = "Zebra-Secret-4711!"


def _verifier_that_breaks(_password_hash: str | None, _password: str) -> bool:
    raise RuntimeError("the password hasher broke")


def test_a_500_during_sign_in_logs_the_traceback_without_the_password(
    client: TestClient,
    db: Session,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    create_user(db, username="leaky", password=SECRET, roles=["cashier"])
    db.commit()
    monkeypatch.setattr(service, "verify_password", _verifier_that_breaks)
    capsys.readouterr()

    response = client.post("/api/v1/auth/token", data={"username": "leaky", "password": SECRET})

    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
    logged = capsys.readouterr().err
    assert "unhandled_error" in logged
    assert "RuntimeError: the password hasher broke" in logged  # the traceback is there
    assert SECRET not in logged


def _fail_with_a_secret_in_scope() -> None:
    password = SECRET  # a local the traceback must not show
    raise ValueError(f"failed for a {len(password)}-character password")


@pytest.fixture()
def json_logging() -> Iterator[None]:
    configure_logging(json=True)
    try:
        yield
    finally:
        settings = get_settings()
        configure_logging(settings.log_level, settings.log_json)


def test_json_logs_keep_the_structured_traceback_but_no_locals(
    json_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    log = structlog.get_logger("tests.secrets")
    try:
        _fail_with_a_secret_in_scope()
    except ValueError:
        log.exception("it_broke")
    line = capsys.readouterr().err.strip().splitlines()[-1]
    entry = json.loads(line)
    assert entry["event"] == "it_broke"
    frames = entry["exception"][0]["frames"]
    assert frames[-1]["name"] == "_fail_with_a_secret_in_scope"
    assert all("locals" not in frame for frame in frames)
    assert SECRET not in line


def test_a_database_error_message_does_not_quote_the_values(db: Session) -> None:
    """An integrity error about a user names the statement, never the password hash."""
    from sqlalchemy.exc import IntegrityError

    from core.auth.models import User

    create_user(db, username="twice", password=TEST_PASSWORD, roles=["cashier"])
    db.flush()
    hashed = db.query(User).filter_by(username="twice").one().password_hash
    with pytest.raises(IntegrityError) as caught, db.begin_nested():
        db.add(User(username="twice", password_hash=hashed, roles=["cashier"]))
        db.flush()
    assert hashed not in str(caught.value)
    assert "[SQL parameters hidden" in str(caught.value)
