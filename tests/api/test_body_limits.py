"""Body limits are counted while the body is read, and an upload is not read at all before
its sender shows a valid token."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy.orm import Session

from api.app import create_app
from core.auth.tokens import ALGORITHM, ISSUER
from core.settings import get_settings
from tests.conftest import bearer

PROBLEM = "application/problem+json"
JSON_LIMIT = 2_000
UPLOAD_LIMIT = 50_000
CHUNK = 8_192

router = APIRouter(prefix="/test-limits")
calls: list[int] = []


class Note(BaseModel):
    text: str


@router.post("/notes")
def take_note(note: Note) -> dict[str, int]:
    calls.append(len(note.text))
    return {"length": len(note.text)}


@pytest.fixture()
def limited_app(db: Session, monkeypatch: pytest.MonkeyPatch) -> FastAPI:
    settings = get_settings()
    monkeypatch.setattr(settings, "max_json_bytes", JSON_LIMIT)
    monkeypatch.setattr(settings, "max_upload_bytes", UPLOAD_LIMIT)
    calls.clear()
    return create_app(session_factory=lambda: db, extra_routers=[router])


@pytest.fixture()
def limited(limited_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(limited_app, raise_server_exceptions=False) as client:
        yield client


def _assert_413(response) -> None:
    assert response.status_code == 413, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == "payload_too_large"
    assert (
        str(JSON_LIMIT) in response.json()["detail"]
        or str(UPLOAD_LIMIT) in (response.json()["detail"])
    )


def test_json_under_the_limit_reaches_the_route(limited: TestClient) -> None:
    response = limited.post("/test-limits/notes", json={"text": "x" * 1_000})
    assert response.status_code == 200
    assert calls == [1_000]


def test_oversized_json_with_its_length_declared_gets_413_and_the_route_never_runs(
    limited: TestClient,
) -> None:
    _assert_413(limited.post("/test-limits/notes", json={"text": "x" * 3_000}))
    assert calls == []


def test_oversized_json_streamed_without_a_length_is_counted_and_refused(
    limited: TestClient,
) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"text": "'
        for _ in range(10):
            yield b"x" * 500
        yield b'"}'

    response = limited.post(
        "/test-limits/notes", content=chunks(), headers={"content-type": "application/json"}
    )
    _assert_413(response)
    assert calls == []


# Uploads: driven at the ASGI level, so the test sees each chunk the server pulls.


def _multipart_scope(headers: dict[str, str]) -> dict[str, object]:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/readings/imports",
        "raw_path": b"/api/v1/readings/imports",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"multipart/form-data; boundary=kwboundary"), *raw],
        "client": ("192.0.2.10", 50000),
        "server": ("testserver", 80),
    }


def _upload(app: FastAPI, headers: dict[str, str], size: int) -> tuple[int, dict, int]:
    """Send a ``size``-byte multipart body in chunks; (status, body, bytes pulled)."""
    body = (
        b"--kwboundary\r\nContent-Disposition: form-data; name=file; filename=r.csv\r\n"
        b"Content-Type: text/csv\r\n\r\n"
    )
    body += b"a" * (size - len(body) - len(b"\r\n--kwboundary--\r\n")) + b"\r\n--kwboundary--\r\n"
    pulled = 0
    sent: list[dict] = []

    async def receive() -> dict[str, object]:
        nonlocal pulled
        chunk = body[pulled : pulled + CHUNK]
        pulled += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": pulled < len(body)}

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(app(_multipart_scope(headers), receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    payload = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    assert dict(start["headers"])[b"content-type"] == PROBLEM.encode()
    return start["status"], json.loads(payload), pulled


def test_an_upload_without_a_token_is_refused_before_a_byte_is_read(
    limited_app: FastAPI,
) -> None:
    status, body, pulled = _upload(limited_app, {"transfer-encoding": "chunked"}, 40_000)
    assert (status, body["code"]) == (401, "not_authenticated")
    assert pulled == 0


def test_an_upload_with_a_forged_or_expired_token_is_refused_before_reading(
    limited_app: FastAPI,
) -> None:
    expired = jwt.encode(
        {"iss": ISSUER, "sub": "1", "exp": datetime.now(UTC) - timedelta(minutes=1)},
        get_settings().resolved_secret_key(),
        algorithm=ALGORITHM,
    )
    forged = jwt.encode(
        {"iss": ISSUER, "sub": "1", "exp": datetime.now(UTC) + timedelta(hours=1)},
        "not-the-server-key-but-long-enough-for-hs256",
        algorithm=ALGORITHM,
    )
    for token in (expired, forged):
        status, body, pulled = _upload(limited_app, bearer(token), 40_000)
        assert (status, body["code"], pulled) == (401, "not_authenticated", 0)
    cookie = {"cookie": f"kw_token={forged}"}
    status, _body, pulled = _upload(limited_app, cookie, 40_000)
    assert (status, pulled) == (401, 0)


def test_an_authenticated_upload_over_its_limit_stops_being_read_at_the_limit(
    limited_app: FastAPI, make_user: Callable[..., str]
) -> None:
    token = make_user("admin")
    status, body, pulled = _upload(limited_app, bearer(token), 10 * UPLOAD_LIMIT)
    assert (status, body["code"]) == (413, "payload_too_large")
    assert pulled <= UPLOAD_LIMIT + CHUNK


def test_an_upload_declaring_a_length_over_its_limit_is_refused_unread(
    limited_app: FastAPI, make_user: Callable[..., str]
) -> None:
    headers = {**bearer(make_user("admin")), "content-length": str(UPLOAD_LIMIT + 1)}
    status, body, pulled = _upload(limited_app, headers, UPLOAD_LIMIT + 1)
    assert (status, body["code"], pulled) == (413, "payload_too_large", 0)


def test_an_authenticated_upload_within_its_limit_reaches_the_route(
    limited_app: FastAPI, make_user: Callable[..., str]
) -> None:
    status, body, pulled = _upload(limited_app, bearer(make_user("admin")), 40_000)
    # The route ran and judged the file (not a CSV of readings): not a 401 or 413.
    assert status == 422, body
    assert pulled == 40_000
