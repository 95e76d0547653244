"""Sign-in limits: they hold under concurrency, count per username AND client address so
one client cannot lock the real user out, and believe X-Forwarded-For only from trusted
proxies."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, delete, select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.forwarded import TrustedProxies
from core.auth import service
from core.auth.errors import CredentialsInvalidError, LoginRateLimitedError
from core.auth.models import LoginAttempt, User
from core.auth.service import authenticate, create_user
from core.settings import get_settings
from tests.conftest import TEST_PASSWORD

TOKEN_URL = "/api/v1/auth/token"


@pytest.fixture()
def committed_user(database_url: str) -> Iterator[tuple[str, sessionmaker[Session]]]:
    """A user committed for real (threads on their own connections must see it), and a
    session factory with room for 30 simultaneous connections; all removed afterwards."""
    engine = create_engine(database_url, pool_size=32, max_overflow=0)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    username = f"race_{uuid.uuid4().hex[:8]}"
    with factory.begin() as session:
        create_user(session, username=username, password=TEST_PASSWORD, roles=["cashier"])
    try:
        yield username, factory
    finally:
        with factory.begin() as session:
            session.execute(delete(LoginAttempt).where(LoginAttempt.username == username))
            session.execute(delete(User).where(User.username == username))
        engine.dispose()


def test_thirty_parallel_bad_attempts_get_only_the_limit_of_password_checks(
    committed_user: tuple[str, sessionmaker[Session]], monkeypatch: pytest.MonkeyPatch
) -> None:
    username, factory = committed_user
    limit = get_settings().login_max_failures
    checked = Counter[str]()
    real_verify = service.verify_password
    count_lock = threading.Lock()

    def counting_verify(password_hash: str | None, password: str) -> bool:
        with count_lock:
            checked["passwords"] += 1
        return real_verify(password_hash, password)

    monkeypatch.setattr(service, "verify_password", counting_verify)
    start = threading.Barrier(30)
    outcomes: list[str] = []

    def attempt() -> None:
        # Like the route: its own session and connection, commit even on a wrong password.
        with factory() as session:
            session.connection()  # every thread holds a connection before the race starts
            start.wait()
            try:
                authenticate(
                    session, username=username, password="wrong", client_address="198.51.100.7"
                )
                outcome = "signed_in"
            except CredentialsInvalidError:
                session.commit()
                outcome = "wrong_password"
            except LoginRateLimitedError:
                session.rollback()
                outcome = "rate_limited"
            outcomes.append(outcome)

    threads = [threading.Thread(target=attempt) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert checked["passwords"] == limit
    assert Counter(outcomes) == {"wrong_password": limit, "rate_limited": 30 - limit}
    with factory() as session:
        recorded = session.scalars(
            select(LoginAttempt.client_address).where(LoginAttempt.username == username)
        ).all()
    assert recorded == ["198.51.100.7"] * limit


def _client(app: FastAPI, address: str) -> TestClient:
    return TestClient(app, raise_server_exceptions=False, client=(address, 40000))


def _sign_in(client: TestClient, username: str, password: str, **headers: str) -> int:
    return client.post(
        TOKEN_URL, data={"username": username, "password": password}, headers=headers
    ).status_code


@pytest.fixture()
def limited_app(db: Session, monkeypatch: pytest.MonkeyPatch) -> FastAPI:
    settings = get_settings()
    monkeypatch.setattr(settings, "login_max_failures", 3)
    monkeypatch.setattr(settings, "login_max_failures_per_client", 5)
    monkeypatch.setattr(settings, "login_max_failures_per_username", 7)
    monkeypatch.setattr(settings, "trusted_proxies", ["10.0.0.0/8"])
    for name in ("victim", "other1", "other2", "other3"):
        create_user(db, username=name, password=TEST_PASSWORD, roles=["cashier"])
    db.commit()
    return create_app(session_factory=lambda: db)


def test_one_clients_failures_do_not_lock_the_user_out_elsewhere(limited_app: FastAPI) -> None:
    attacker, office = _client(limited_app, "203.0.113.9"), _client(limited_app, "192.0.2.44")
    assert [_sign_in(attacker, "Victim", "guess") for _ in range(4)] == [401, 401, 401, 429]
    # The attacker is locked out of this account, even with the right password ...
    assert _sign_in(attacker, "victim", TEST_PASSWORD) == 429
    # ... the real user, from their own address, is not.
    assert _sign_in(office, "victim", TEST_PASSWORD) == 200


def test_one_client_guessing_many_usernames_is_stopped_at_the_per_client_limit(
    limited_app: FastAPI,
) -> None:
    sprayer = _client(limited_app, "203.0.113.10")
    names = ["other1", "other2", "other3"] * 2
    statuses = [_sign_in(sprayer, name, "guess") for name in names]
    assert statuses == [401, 401, 401, 401, 401, 429]
    assert _sign_in(sprayer, "victim", TEST_PASSWORD) == 429  # an address that sprayed
    assert _sign_in(_client(limited_app, "192.0.2.45"), "other1", TEST_PASSWORD) == 200


def test_many_clients_guessing_one_username_reach_the_username_wide_limit(
    limited_app: FastAPI,
) -> None:
    for n in range(7):
        assert _sign_in(_client(limited_app, f"203.0.113.{100 + n}"), "victim", "guess") == 401
    assert _sign_in(_client(limited_app, "192.0.2.46"), "victim", TEST_PASSWORD) == 429


def test_forwarded_for_is_believed_from_a_trusted_proxy_only(
    limited_app: FastAPI, db: Session
) -> None:
    proxy, stranger = _client(limited_app, "10.1.2.3"), _client(limited_app, "198.51.100.99")
    # Behind the trusted proxy each forwarded address is its own client ...
    for n in range(3):
        forwarded = f"203.0.113.{n + 1}"
        assert _sign_in(proxy, "other1", "guess", **{"X-Forwarded-For": forwarded}) == 401
    # ... and the leftmost entries, which the client itself may have written, do not count.
    spoofed = {"X-Forwarded-For": "192.0.2.1, 203.0.113.200"}
    assert _sign_in(proxy, "other2", "guess", **spoofed) == 401
    # From anyone else the header is ignored: the peer is the client.
    for n in range(3):
        headers = {"X-Forwarded-For": f"192.0.2.{n + 10}"}
        assert _sign_in(stranger, "other3", "guess", **headers) == 401
    assert _sign_in(stranger, "other3", TEST_PASSWORD, **{"X-Forwarded-For": "192.0.2.99"}) == 429
    addresses = db.scalars(
        select(LoginAttempt.client_address)
        .order_by(LoginAttempt.id)
        .where(LoginAttempt.username.in_(["other1", "other2", "other3"]))
    ).all()
    assert addresses == [
        "203.0.113.1",
        "203.0.113.2",
        "203.0.113.3",
        "203.0.113.200",
        "198.51.100.99",
        "198.51.100.99",
        "198.51.100.99",
    ]


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "client"),
    [
        ("10.0.0.1", "203.0.113.5", "203.0.113.5"),
        ("10.0.0.1", "1.1.1.1, 203.0.113.5, 10.0.0.7", "203.0.113.5"),  # two proxies
        ("10.0.0.1", "10.0.0.9, 10.0.0.8", "10.0.0.9"),  # proxies all the way
        ("10.0.0.1", "not-an-ip", "10.0.0.1"),  # garbage from a proxy: keep the peer
        ("10.0.0.1", None, "10.0.0.1"),
        ("203.0.113.5", "10.0.0.1", "203.0.113.5"),  # not a proxy: header ignored
        ("::1", "2001:db8::7", "2001:db8::7"),
    ],
)
def test_the_client_behind_trusted_proxies(
    peer: str, forwarded_for: str | None, client: str
) -> None:
    proxies = TrustedProxies(["10.0.0.0/8", "::1"])
    assert proxies.client_behind(peer, forwarded_for) == client


def test_without_configured_proxies_forwarded_for_is_never_believed() -> None:
    assert TrustedProxies([]).client_behind("127.0.0.1", "203.0.113.5") == "127.0.0.1"
