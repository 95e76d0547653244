"""Test plumbing: a real PostgreSQL + PostGIS database per test session, each test in a
transaction that is rolled back, a real Redis for worker tests.

The server is ``KILOWATCH_TEST_SERVER_URL`` (a PostgreSQL URL whose user may create
databases) when set, else the project's embedded cluster, started on demand.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session

from core import db as core_db
from core.scratch_db import create_scratch_database, use_database

REPO_ROOT = Path(__file__).resolve().parent.parent
OUTPUT_DIR = REPO_ROOT / "test-output"
DATASETS_DIR = Path(os.environ.get("KILOWATCH_DATASETS", REPO_ROOT.parent / "shared" / "datasets"))
TEST_PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    from core.migrate import upgrade

    scratch = create_scratch_database("kw_test", os.environ.get("KILOWATCH_TEST_SERVER_URL"))
    url, drop = scratch.url, scratch.drop
    use_database(url)
    upgrade(url)
    from kilowatch.bootstrap import bootstrap

    bootstrap()
    yield url
    core_db.get_engine(url).dispose()
    if not os.environ.get("KILOWATCH_KEEP_TEST_DB"):
        drop()


@pytest.fixture(scope="session")
def committed_database_url(database_url: str) -> Iterator[str]:
    """A second scratch database for the tests whose work commits through connections of
    their own (live servers, threads, subprocesses, the browser). What they commit never
    reaches the rolled-back database every other test shares, where a query over a whole
    table (the network to score, an export, the trial balance) sees its own test's rows only.
    """
    from core.migrate import upgrade

    scratch = create_scratch_database(
        "kw_test_committed", os.environ.get("KILOWATCH_TEST_SERVER_URL")
    )
    upgrade(scratch.url)
    use_database(database_url)  # upgrade() may have pointed the process elsewhere
    yield scratch.url
    core_db.get_engine(scratch.url).dispose()
    if not os.environ.get("KILOWATCH_KEEP_TEST_DB"):
        scratch.drop()


@contextmanager
def process_database(url: str) -> Iterator[None]:
    """Point this process (sessions, tasks, apps built inside) at ``url`` for a while."""
    previous = os.environ.get("KILOWATCH_DATABASE_URL")
    use_database(url)
    try:
        yield
    finally:
        if previous:
            use_database(previous)


@pytest.fixture(scope="module")
def committed_engine(committed_database_url: str) -> Iterator[Engine]:
    """An engine on the committed database, for a module that commits its own fixtures."""
    engine = create_engine(committed_database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def engine(database_url: str) -> Engine:
    return core_db.get_engine(database_url)


@pytest.fixture()
def db(engine: Engine) -> Iterator[Session]:
    """A session inside a transaction rolled back after the test: commits by the code under
    test release savepoints, so nothing a test does survives it."""
    connection = engine.connect()
    outer = connection.begin()
    session = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()


@pytest.fixture()
def app(db: Session):
    from kilowatch.app import build_app

    return build_app(session_factory=lambda: db)


@pytest.fixture()
def client(app) -> Iterator[TestClient]:
    # An English-speaking browser: the pages' tests read English words (without the header
    # the pages speak the deployment's French; tests/ops/test_languages.py covers that).
    with TestClient(
        app, raise_server_exceptions=False, headers={"Accept-Language": "en"}
    ) as test_client:
        yield test_client


@pytest.fixture()
def make_user(db: Session) -> Callable[..., str]:
    """Create a user with the given roles and return a bearer token for them."""
    from core.auth import service

    def factory(*roles: str, agency: str | None = None, username: str | None = None) -> str:
        if agency:
            service.get_or_create_agency(db, code=agency)
        user = service.create_user(
            db,
            username=username or f"u_{uuid.uuid4().hex[:8]}",
            password=TEST_PASSWORD,
            roles=list(roles),
            agency_code=agency,
        )
        _user, token, _ttl = service.authenticate(
            db, username=user.username, password=TEST_PASSWORD, client_address="test"
        )
        db.commit()  # a rolled-back request must not take the user with it
        return token

    return factory


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="session")
def output_dir() -> Path:
    OUTPUT_DIR.mkdir(exist_ok=True)
    return OUTPUT_DIR


@pytest.fixture(scope="session")
def datasets_dir() -> Path:
    if not (DATASETS_DIR / "grid").is_dir():
        pytest.skip(f"shared datasets not found at {DATASETS_DIR} (set KILOWATCH_DATASETS)")
    return DATASETS_DIR
