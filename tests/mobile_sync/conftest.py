"""Sync test helpers: a field world in the test's transaction, enrolled devices."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from core.auth import service as auth_service
from core.settings import get_settings
from tests.conftest import bearer
from tests.mobile_sync.world import PASSWORD, FieldWorld, build_world


@pytest.fixture(autouse=True)
def attachments_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Photos of each test in a folder of its own."""
    folder = tmp_path / "attachments"
    monkeypatch.setattr(get_settings(), "sync_attachments_dir", folder)
    yield folder


@pytest.fixture()
def world(db: Session) -> FieldWorld:
    built = build_world(db, technicians=2, points=4)
    db.commit()
    return built


@dataclass
class Handheld:
    """A technician's token and enrolled device: the headers of every sync call."""

    token_headers: dict[str, str]
    device_id: int
    secret: str

    @property
    def headers(self) -> dict[str, str]:
        return {**self.token_headers, "X-Kilowatch-Device": f"{self.device_id}.{self.secret}"}


def token_of(db: Session, username: str) -> dict[str, str]:
    _user, token, _ttl = auth_service.authenticate(
        db, username=username, password=PASSWORD, client_address="test"
    )
    db.commit()
    return bearer(token)


@pytest.fixture()
def enroll(client: TestClient, db: Session) -> Callable[[str], Handheld]:
    def factory(username: str, device_uuid: str | None = None) -> Handheld:
        headers = token_of(db, username)
        response = client.post(
            "/api/v1/sync/devices",
            headers=headers,
            json={"device_uuid": device_uuid or uuid.uuid4().hex, "label": "phone"},
        )
        assert response.status_code == 201, response.text
        body = response.json()
        return Handheld(headers, body["device_id"], body["device_secret"])

    return factory
