"""The permission matrix, generated from the served OpenAPI document: every operation x every
role (one user per role, bound to agency A) x the own and the other territory.

For each operation and role:
- without the scope the operation asks for: 403;
- with it, on own-territory ids: not 403/404 (and never a 5xx); a read answers 200;
- on other-territory ids: a read answers 404, a write 403 or 404 and leaves the other
  territory's record unchanged; a write whose body names other-territory records (a usage
  point, a point, a serial ...) is refused even on an own-territory path;
- no answer to a bound user contains the marker of the other territory's objects
  (``ZZOTHER``), whatever the route: lists, searches, tiles, traces, exports, audit;
- the other side is another company's (``add_second_company``): its agency and its
  tariff, so the same checks hold across companies.

Every call runs in a savepoint rolled back after it, so each starts from the same world.
The world (``tests.api.matrix_world``) is built once for the module; the tables of parameter
values and bodies are in ``tests.api.matrix_tables``.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session

from core.auth.scopes import ROLE_SCOPES, Role
from core.settings import get_settings
from kilowatch.app import build_app
from tests.api.matrix_tables import (
    BODIES,
    CALLBACK_SCHEMES,
    CUSTOMER_SCHEMES,
    PROBE_QUERY,
    REQUIRED_HEADERS,
    REQUIRED_QUERY,
    SHARED_PATH_PARAMS,
    Body,
    Ref,
    record_ref,
)
from tests.api.matrix_world import MARKER, World, add_second_company, build_world

READ_METHODS = {"GET", "HEAD"}


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    scopes: tuple[str, ...] | None  # None: public
    schemes: tuple[str, ...]  # the security schemes it accepts (OAuth2 for staff ...)
    path_params: tuple[str, ...]
    required_query: tuple[str, ...]
    required_headers: tuple[str, ...]
    optional_query: tuple[str, ...]
    has_body: bool

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def is_read(self) -> bool:
        return self.method in READ_METHODS

    @property
    def is_callback(self) -> bool:
        """Secured only by schemes of non-staff callers (an operator's signature)."""
        return bool(self.schemes) and set(self.schemes) <= set(CALLBACK_SCHEMES)

    @property
    def is_customer(self) -> bool:
        """Secured by the customers' own scheme (the self-care portal)."""
        return bool(self.schemes) and set(self.schemes) <= CUSTOMER_SCHEMES


def _operations() -> list[Operation]:
    document = build_app().openapi()
    operations = []
    for path, item in document["paths"].items():
        for method, op in item.items():
            params = op.get("parameters", [])
            security = op.get("security")
            scopes = None
            if security:
                scopes = tuple(sorted({s for req in security for v in req.values() for s in v}))
            operations.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    scopes=scopes,
                    schemes=tuple(sorted({name for req in security or [] for name in req})),
                    path_params=tuple(p["name"] for p in params if p["in"] == "path"),
                    required_query=tuple(
                        p["name"] for p in params if p["in"] == "query" and p.get("required")
                    ),
                    required_headers=tuple(
                        p["name"] for p in params if p["in"] == "header" and p.get("required")
                    ),
                    optional_query=tuple(
                        p["name"] for p in params if p["in"] == "query" and not p.get("required")
                    ),
                    has_body="requestBody" in op,
                )
            )
    return operations


OPERATIONS = _operations()


@dataclass
class Matrix:
    client: TestClient
    connection: Connection
    world: World


@pytest.fixture(scope="module")
def matrix(engine: Engine) -> Iterator[Matrix]:
    """The world, built once in a transaction rolled back when the module ends."""
    connection = engine.connect()
    outer = connection.begin()

    def new_session() -> Session:
        return Session(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )

    app = build_app(session_factory=new_session)
    settings = get_settings()
    changed = {k: v for auth in CALLBACK_SCHEMES.values() for k, v in auth.settings.items()}
    saved = {name: getattr(settings, name) for name in changed}
    for name, value in changed.items():
        setattr(settings, name, value)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            session = new_session()
            world = build_world(client, session)
            add_second_company(client, session, world)
            session.close()
            yield Matrix(client, connection, world)
    finally:
        for name, value in saved.items():
            setattr(settings, name, value)
        outer.rollback()
        connection.close()


# -- calling one operation ---------------------------------------------------------------------


@dataclass
class Call:
    """One request of the matrix and what it touched."""

    url: str
    response: Any
    changed: list[str]  # other-territory records whose row changed


def _snapshot(connection: Connection, refs: list[tuple[Ref, Any]]) -> list[Any]:
    return [
        connection.execute(
            text(f"SELECT to_jsonb(t) FROM {ref.table} t WHERE {ref.column} = :v"), {"v": value}
        ).scalar()
        for ref, value in refs
    ]


def _urls(m: Matrix, op: Operation, path_side: str) -> list[str]:
    """The operation's URL(s) with path parameters of ``path_side`` (several for shared
    parameters with several values, e.g. each tile layer)."""
    side = m.world.side(path_side)
    choices: list[list[tuple[str, Any]]] = []
    for name in op.path_params:
        ref = record_ref(name, op.method, op.path)
        if ref is not None:
            choices.append([(name, ref.value(side))])
        else:
            choices.append([(name, v) for v in SHARED_PATH_PARAMS[name]])
    urls = []
    for combination in itertools.product(*choices):
        url = op.path
        for name, value in combination:
            url = url.replace("{" + name + "}", str(value))
        urls.append(url)
    return urls


def _call(
    m: Matrix,
    op: Operation,
    headers: dict[str, str],
    *,
    path_side: str = "own",
    body_side: str = "own",
    query: dict[str, Any] | None = None,
) -> list[Call]:
    world = m.world
    refs = [
        (ref, ref.value(world.other))
        for name in op.path_params
        if (ref := record_ref(name, op.method, op.path)) is not None and ref.located
    ]
    params = {name: REQUIRED_QUERY[name] for name in op.required_query} | (query or {})
    kwargs: dict[str, Any] = {"params": params}
    if op.has_body:
        body = BODIES[(op.method, op.path)]
        kwargs[body.kind] = body.build(world.side(body_side))
    calls = []
    for url in _urls(m, op, path_side):
        savepoint = m.connection.begin_nested()
        sent = headers | {name: REQUIRED_HEADERS[name]() for name in op.required_headers}
        try:
            before = _snapshot(m.connection, refs)
            response = m.client.request(op.method, url, headers=sent, **kwargs)
            after = _snapshot(m.connection, refs)
        finally:
            savepoint.rollback()
        changed = [
            f"{ref.table} {ref.column}={value}"
            for (ref, value), old, new in zip(refs, before, after, strict=True)
            if old != new
        ]
        calls.append(Call(url, response, changed))
    return calls


def _shows_marker(call: Call) -> bool:
    return MARKER.lower() in call.response.content.decode("utf-8", "replace").lower()


# Line codes of a bulk import that refuse a record of another territory (or an unknown one).
LINE_REFUSALS = {"outside_territory", "unknown_serial", "reference_unknown"}


def _refused_reference(call: Call) -> bool:
    """A write naming records the caller cannot see is refused: 403/404, or the 422 a
    reference to a record that does not exist gets (the two must look the same)."""
    status = call.response.status_code
    if status in (403, 404):
        return True
    if status != 422:
        return False
    problem = call.response.json()
    code = problem.get("code", "")
    if code == "reference_unknown" or code.endswith("_not_found"):
        return True
    # A file import refuses the whole file, naming each line it cannot take.
    lines = [e.get("code") for e in problem.get("errors") or []]
    return bool(lines) and all(c in LINE_REFUSALS for c in lines)


def _describe(call: Call) -> str:
    body = call.response.content[:300].decode("utf-8", "replace")
    return f"{call.url} -> {call.response.status_code} {body}"


# -- the matrix ---------------------------------------------------------------------------------


def _missing_table_entries(op: Operation) -> list[str]:
    missing = []
    for name in op.path_params:
        if record_ref(name, op.method, op.path) is None and name not in SHARED_PATH_PARAMS:
            missing.append(
                f"path parameter {name!r}: add it to PATH_PARAMS (a record: how to get its "
                "own- and other-territory value) or SHARED_PATH_PARAMS in tests/api/matrix_tables.py"
            )
    for name in op.required_query:
        if name not in REQUIRED_QUERY:
            missing.append(f"required query parameter {name!r}: add it to REQUIRED_QUERY")
    for name in op.required_headers:
        if name not in REQUIRED_HEADERS:
            missing.append(f"required header {name!r}: add it to REQUIRED_HEADERS")
    if op.has_body and (op.method, op.path) not in BODIES:
        missing.append(f"request body: add ({op.method!r}, {op.path!r}) to BODIES")
    return missing


def _check_role(
    m: Matrix, op: Operation, role: Role, failures: list[str], *, company: bool = False
) -> None:
    """``role``'s user of agency A, or (``company``) of agency A's company with no agency."""
    headers = (m.world.company_role_headers if company else m.world.role_headers)[role]
    who = f"{op.label} as {role.value} ({'company of A' if company else 'agency A'})"
    has_scope = op.scopes is None or set(op.scopes) <= ROLE_SCOPES[role]

    def fail(case: str, expected: str, call: Call) -> None:
        failures.append(f"{who}, {case}: expected {expected}; got {_describe(call)}")

    if not has_scope:
        for call in _call(m, op, headers):
            if call.response.status_code != 403:
                fail(f"without scope {'/'.join(op.scopes or ())}", "403", call)
        return

    for call in _call(m, op, headers):
        status = call.response.status_code
        if op.is_read and status != 200:
            fail("own territory", "200", call)
        elif status in (403, 404) or status >= 500:
            fail("own territory", "not 403/404/5xx", call)
        if _shows_marker(call):
            fail("own territory", f"no {MARKER} object in the answer", call)

    names_records = any(
        (ref := record_ref(n, op.method, op.path)) is not None and ref.located
        for n in op.path_params
    )
    body: Body | None = BODIES.get((op.method, op.path)) if op.has_body else None
    territorial_body = body is not None and body.territorial
    if names_records:
        for call in _call(m, op, headers, path_side="other", body_side="other"):
            status = call.response.status_code
            expected = {404} if op.is_read else {403, 404}
            if status not in expected:
                fail("other territory's ids", " or ".join(map(str, sorted(expected))), call)
            if call.changed:
                fail("other territory's ids", f"no change to {call.changed}", call)
    if territorial_body:
        case = (
            "own path, body naming other territory"
            if names_records
            else "body naming other territory"
        )
        for call in _call(m, op, headers, body_side="other"):
            if not _refused_reference(call):
                fail(case, "403, 404, or 422 reference_unknown", call)
            if call.changed:
                fail(case, f"no change to {call.changed}", call)
    if op.is_read:
        for name in op.optional_query:
            if name in PROBE_QUERY:
                value = PROBE_QUERY[name](m.world.other)
                for call in _call(m, op, headers, query={name: value}):
                    if call.response.status_code >= 500 or _shows_marker(call):
                        fail(
                            f"filtered by the other territory's {name}",
                            f"no {MARKER} object, no 5xx",
                            call,
                        )


def _check_callback(m: Matrix, op: Operation, failures: list[str]) -> None:
    """A non-staff caller's operation: no staff token opens it (401 for every role); signed
    under its scheme it succeeds, and shows nothing of the other territory."""
    for role in Role:
        for call in _call(m, op, m.world.role_headers[role]):
            if call.response.status_code != 401:
                failures.append(
                    f"{op.label} with {role.value}'s staff token: expected 401; "
                    f"got {_describe(call)}"
                )
    body = json.dumps(BODIES[(op.method, op.path)].build(m.world.own)).encode()
    for scheme in op.schemes:
        headers = {"Content-Type": "application/json", **CALLBACK_SCHEMES[scheme].sign(body)}
        savepoint = m.connection.begin_nested()
        try:
            response = m.client.request(op.method, op.path, headers=headers, content=body)
        finally:
            savepoint.rollback()
        call = Call(op.path, response, [])
        if not 200 <= response.status_code < 300 or _shows_marker(call):
            failures.append(
                f"{op.label} signed under {scheme}: expected 2xx; got {_describe(call)}"
            )


def _check_customer(m: Matrix, op: Operation, failures: list[str]) -> None:
    """A customer's operation: no staff token opens it (401 for every role); the own
    side's customer succeeds on their own records and sees nothing of the other side; on
    the other side's customer's records (accounts, invoices, requests) the answer is 404
    and nothing changes, whatever the method."""
    for role in Role:
        for call in _call(m, op, m.world.role_headers[role]):
            if call.response.status_code != 401:
                failures.append(
                    f"{op.label} with {role.value}'s staff token: expected 401; "
                    f"got {_describe(call)}"
                )
    customer = m.world.own["portal_headers"]
    for call in _call(m, op, customer):
        status = call.response.status_code
        if (op.is_read and status != 200) or status >= 400:
            failures.append(f"{op.label} as the own customer: expected 2xx; got {_describe(call)}")
        if _shows_marker(call):
            failures.append(f"{op.label} as the own customer: {MARKER} in {_describe(call)}")
    if any(record_ref(n, op.method, op.path) is not None for n in op.path_params):
        for call in _call(m, op, customer, path_side="other", body_side="other"):
            if call.response.status_code != 404 or call.changed or _shows_marker(call):
                failures.append(
                    f"{op.label} as the own customer on the other customer's ids: expected "
                    f"404 and no change; got {_describe(call)} changed={call.changed}"
                )


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.label)
def test_permission_matrix(matrix: Matrix, op: Operation) -> None:
    missing = _missing_table_entries(op)
    assert not missing, f"{op.label} is not in the permission matrix: " + "; ".join(missing)
    failures: list[str] = []
    if op.is_callback:
        _check_callback(matrix, op, failures)
    elif op.is_customer:
        _check_customer(matrix, op, failures)
    elif op.scopes is None:
        # Public (sign-in, health): the same for everyone; only the marker rule applies.
        for call in _call(matrix, op, {}):
            if call.response.status_code >= 400 or _shows_marker(call):
                failures.append(f"{op.label} (public): expected success; got {_describe(call)}")
    else:
        for role in Role:
            _check_role(matrix, op, role, failures)
    assert not failures, f"{len(failures)} failure(s):\n" + "\n".join(failures)


# Staff operations, but the handheld's sync ones: a device is one user's (agency A's
# technician's, in the agency matrix), and the company's users have none.
STAFF_OPERATIONS = [
    op
    for op in OPERATIONS
    if op.scopes is not None
    and not op.is_callback
    and not op.is_customer
    and not op.path.startswith("/api/v1/sync/")
]


@pytest.mark.parametrize("op", STAFF_OPERATIONS, ids=lambda op: op.label)
def test_permission_matrix_of_a_company_head_office(matrix: Matrix, op: Operation) -> None:
    """The same checks for staff of agency A's company bound to no agency: the other side
    is another company's, so they see and change nothing of it either."""
    failures: list[str] = []
    for role in Role:
        _check_role(matrix, op, role, failures, company=True)
    assert not failures, f"{len(failures)} failure(s):\n" + "\n".join(failures)


def test_the_world_holds_both_territories_for_head_office(matrix: Matrix) -> None:
    """The marker rule can fail: head office, working for the other side's company, does
    see the other territory's objects."""
    client = matrix.client
    admin = matrix.world.admin | {"X-Kilowatch-Company": f"{MARKER}CO"}
    for url in (
        "/api/v1/customers/search?q=KWM",
        "/api/v1/network/search?q=KWM&limit=50",
        "/api/v1/meters?serial_prefix=KWM",
        f"/api/v1/premises/{matrix.world.other['location']}",
        "/api/v1/audit?entity=customer_party",
        f"/api/v1/network/feeders/{matrix.world.other['feeder']}/export",
    ):
        response = client.get(url, headers=admin)
        assert response.status_code == 200, (url, response.text)
        assert MARKER.lower() in response.text.lower(), url
    tile = client.get(
        re.sub(
            r"\{(\w+)\}",
            lambda g: str(SHARED_PATH_PARAMS[g[1]][0]),
            "/tiles/transformers/{z}/{x}/{y}.mvt",
        ),
        headers=admin,
    )
    assert tile.status_code == 200
    assert MARKER.encode() in tile.content
