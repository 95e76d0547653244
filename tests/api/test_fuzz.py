"""API fuzzing: schemathesis generates requests from the served OpenAPI document
(``/api/v1/openapi.json``), valid and invalid, for every operation, as head-office staff
and as staff bound to an agency's territory. Whatever the input: no server error, every
error is ``application/problem+json``, every response matches the document.

Bounded and deterministic: ``FUZZ_EXAMPLES`` examples per operation and principal (env
``KILOWATCH_FUZZ_EXAMPLES``), a fixed seed (derandomized), no shrinking, no deadline.
Each request runs in a savepoint rolled back after it. Deselect with ``-m "not fuzz"``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import schemathesis
from geoalchemy2 import WKTElement
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from core.auth import service as auth_service
from core.auth.models import Agency
from core.notify import service as notify
from core.notify.gateways import RecordingGateway
from core.notify.message import Channel
from core.settings import get_settings
from customers.portal import service as portal
from kilowatch.app import build_app
from tests.api.matrix_tables import CALLBACK_SCHEMES, CUSTOMER_SCHEMES
from tests.conftest import TEST_PASSWORD, bearer

pytestmark = pytest.mark.fuzz

FUZZ_EXAMPLES = int(os.environ.get("KILOWATCH_FUZZ_EXAMPLES", "10"))
EAST_BOX = "MULTIPOLYGON(((2.40 6.30, 2.50 6.30, 2.50 6.45, 2.40 6.45, 2.40 6.30)))"


class _Sessions:
    """The app is built (and its schema loaded) at import; the database connection comes
    later, from the module fixture."""

    connection: Connection | None = None

    def __call__(self) -> Session:
        assert self.connection is not None, "the fuzz fixture is not active"
        return Session(
            bind=self.connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )


SESSIONS = _Sessions()
APP = build_app(session_factory=SESSIONS)
SCHEMA = schemathesis.openapi.from_asgi("/api/v1/openapi.json", APP)
OPERATIONS = {op.label: op for op in (result.ok() for result in SCHEMA.get_all_operations())}


@schemathesis.check
def errors_are_problems(ctx, response, case) -> bool | None:  # type: ignore[no-untyped-def]
    """Every 4xx/5xx answer is RFC 9457 problem details with a stable code."""
    if response.status_code < 400:
        return None
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type.startswith("application/problem+json"), (
        f"{response.status_code} answered as {content_type!r}, not application/problem+json"
    )
    if case.method.upper() == "HEAD":
        return True  # a HEAD answer carries no body (RFC 9110 9.3.2): the type is enough
    body = response.json()
    assert body.get("status") == response.status_code and body.get("code"), body
    return True


CHECKS = [
    not_a_server_error,
    errors_are_problems,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@dataclass
class Principals:
    connection: Connection
    headers: dict[str, dict[str, str]]


@pytest.fixture(scope="module")
def principals(engine: Engine) -> Iterator[Principals]:
    connection = engine.connect()
    outer = connection.begin()
    SESSIONS.connection = connection
    session = SESSIONS()
    agency = Agency(code="FUZZ-EAST", name="Fuzz east", territory=WKTElement(EAST_BOX, 4326))
    session.add(agency)
    session.flush()
    headers = {}
    for who, agency_code in (("head_office", None), ("bound", agency.code)):
        username = f"fuzz-{who}"
        auth_service.create_user(
            session,
            username=username,
            password=TEST_PASSWORD,
            roles=["admin"],
            agency_code=agency_code,
        )
        _user, token, _ttl = auth_service.authenticate(
            session, username=username, password=TEST_PASSWORD, client_address="fuzz"
        )
        headers[who] = bearer(token)
    headers["customer"] = _customer(session)
    session.commit()
    session.close()
    try:
        yield Principals(connection, headers)
    finally:
        SESSIONS.connection = None
        outer.rollback()
        connection.close()


def _customer(session: Session) -> dict[str, str]:
    """A signed-in customer of the self-care portal (its own token audience)."""
    login = "fuzz-customer@example.org"
    with notify.use_gateway(Channel.EMAIL, RecordingGateway()) as outbox:
        portal.register(
            session, first_name="Fuzz", last_name="Customer", login=login, password=TEST_PASSWORD
        )
        code = next(word for word in outbox.sent[-1].body.split() if word.isdigit())
        portal.verify(session, login=login, code=code)
    _identity, token, _ttl = portal.sign_in(session, login=login, password=TEST_PASSWORD)
    return bearer(token)


def _customer_operation(operation) -> bool:  # type: ignore[no-untyped-def]
    """Secured only by the customers' scheme: its cases carry the customer's token."""
    names = {n for req in operation.definition.raw.get("security") or [] for n in req}
    return bool(names) and names <= CUSTOMER_SCHEMES


def _fuzz(operation, call: Callable) -> None:  # type: ignore[no-untyped-def]
    strategy = operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(
        GenerationMode.NEGATIVE
    )

    @settings(
        max_examples=FUZZ_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    @given(case=strategy)
    def run(case) -> None:  # type: ignore[no-untyped-def]
        call(case)

    run()


def _callback_scheme(operation) -> str | None:  # type: ignore[no-untyped-def]
    """The non-staff scheme (tests.api.matrix_tables.CALLBACK_SCHEMES) that alone secures
    the operation, if any: its cases are signed under it instead of carrying a token."""
    names = {n for req in operation.definition.raw.get("security") or [] for n in req}
    return next(iter(names)) if len(names) == 1 and names <= set(CALLBACK_SCHEMES) else None


def _signed(case, scheme: str) -> dict:  # type: ignore[no-untyped-def]
    """The case's body as the bytes sent, and the scheme's signature of them."""
    sent = case.as_transport_kwargs()
    if "json" in sent:
        raw = json.dumps(sent["json"]).encode()
    elif isinstance(sent.get("data"), str | bytes):
        raw = sent["data"].encode() if isinstance(sent["data"], str) else sent["data"]
    else:
        raw = b""
    headers = {**(sent.get("headers") or {}), **CALLBACK_SCHEMES[scheme].sign(raw)}
    return {"data": raw, "headers": headers}


@pytest.fixture(scope="module")
def callback_settings() -> Iterator[None]:
    """The settings the callback schemes are checked under (the operator's secret)."""
    settings = get_settings()
    changed = {k: v for auth in CALLBACK_SCHEMES.values() for k, v in auth.settings.items()}
    saved = {name: getattr(settings, name) for name in changed}
    for name, value in changed.items():
        setattr(settings, name, value)
    yield
    for name, value in saved.items():
        setattr(settings, name, value)


@pytest.mark.parametrize("who", ["head_office", "bound"])
@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_fuzz(principals: Principals, callback_settings: None, label: str, who: str) -> None:
    headers = principals.headers[who]
    if _customer_operation(OPERATIONS[label]):
        headers = principals.headers["customer"]  # signed under the portal's scheme
    scheme = _callback_scheme(OPERATIONS[label])

    def call(case) -> None:  # type: ignore[no-untyped-def]
        # The token is the principal's, unless the case is about a broken header; an
        # operator's callback is signed instead (a staff token means nothing there).
        extra = {}
        if scheme is not None:
            extra = _signed(case, scheme)
        elif not any(k.lower() == "authorization" for k in case.headers or {}):
            case.headers = {**(case.headers or {}), **headers}
        savepoint = principals.connection.begin_nested()
        try:
            response = case.call(**extra)
        finally:
            savepoint.rollback()
        case.validate_response(response, checks=CHECKS)

    _fuzz(OPERATIONS[label], call)


def _integer_params(operation) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(location, name) of the operation's integer path and query parameters."""
    found = []
    for param in operation.definition.raw.get("parameters", []):
        schema = param.get("schema", {})
        types = {schema.get("type")} | {o.get("type") for o in schema.get("anyOf", [])}
        if "integer" in types and param["in"] in ("path", "query"):
            found.append((param["in"], param["name"]))
    return found


BEYOND_BIGINT = 2**63  # one past PostgreSQL's bigint
OVERSIZED = [
    (label, location, name)
    for label, op in sorted(OPERATIONS.items())
    for location, name in _integer_params(op)
]


@pytest.mark.parametrize(("label", "location", "name"), OVERSIZED)
def test_numbers_beyond_bigint_are_a_problem_not_a_server_error(
    principals: Principals, label: str, location: str, name: str
) -> None:
    """Ids, offsets, limits and cursors past bigint: a 4xx problem (422, or 404 for an id
    no record can have), never a database error."""
    operation = OPERATIONS[label]
    path_parameters = {
        p["name"]: (BEYOND_BIGINT if p["name"] == name else 1)
        if p.get("schema", {}).get("type") == "integer"
        else "x"
        for p in operation.definition.raw.get("parameters", [])
        if p["in"] == "path"
    }
    query = {name: BEYOND_BIGINT} if location == "query" else {}
    case = operation.Case(path_parameters=path_parameters, query=query)
    case.headers = principals.headers["bound"]
    savepoint = principals.connection.begin_nested()
    try:
        response = case.call()
    finally:
        savepoint.rollback()
    assert 400 <= response.status_code < 500, (label, name, response.status_code, response.text)
    assert response.headers["content-type"][0].startswith("application/problem+json")
