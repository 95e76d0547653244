"""The ``contracts`` file: who is supplied at a usage point, on which tariff, from when,
billed to which account. Accounts are found by their number (the one customers know) or
opened for the payer; a usage point has at most one active contract, and occupying
contracts (pending or active) never overlap in time."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.orm import Session

from core.migration.context import MigrationContext
from core.migration.spec import Column, Entity, WriteCounts, register
from customers.enums import ContractStatus
from customers.migration import parties, sql, usage_points

ENTITY = "contracts"
KEY = "contract_key"
PARTY_COLUMNS = ("holder_key", "payer_key", "owner_key", "tenant_key")
OCCUPYING = "('pending', 'active')"

COLUMNS = (
    Column(KEY, required=True, doc="the legacy system's contract key", examples=("K0001", "K0002")),
    Column("holder_key", required=True, doc="the contract holder (party key)", examples=("C0001", "C0002")),
    Column("payer_key", doc="who pays (party key; default the holder)", examples=("C0001", "C0002")),
    Column("usage_point_key", required=True, doc="the usage point supplied", examples=("U0001", "U0002")),
    Column("tariff_code", required=True, doc="the tariff billed", examples=("BT1", "BT2")),
    Column("start_date", "date", required=True, doc="first day of supply", examples=("2019-03-01", "2021-07-15")),
    Column("end_date", "date", doc="day supply stopped (exclusive), for ended contracts"),
    Column("status", doc=", ".join(ContractStatus) + " (default active)", examples=("active", "active")),
    Column("account_number", required=True, doc="the customer account billed (opened if new)", examples=("0000000018", "0000000026")),
    Column("subscribed_kva", "decimal", doc="subscribed power (default: the usage point's)"),
    Column("owner_key", doc="the premises' owner, when a tenant is supplied (party key)"),
    Column("tenant_key", doc="the tenant (party key)"),
)  # fmt: skip


def _conflict(a: str, b: str) -> str:
    """Two contracts of one usage point that cannot both stand: both active, or both
    occupying it on overlapping dates."""
    return (
        f"{a}.status IN {OCCUPYING} AND {b}.status IN {OCCUPYING} "
        f"AND ({a}.status = 'active' AND {b}.status = 'active' "
        f"OR daterange({a}.start_date, {a}.end_date, '[)') "
        f"&& daterange({b}.start_date, {b}.end_date, '[)'))"
    )


def validate(ctx: MigrationContext) -> None:
    staging = ctx.staging(ENTITY)
    sql.execute(ctx, f"UPDATE {staging} SET status = coalesce(status, 'active')")
    sql.choice(ctx, ENTITY, "status", list(ContractStatus))
    sql.condition(
        ctx,
        ENTITY,
        "end_date",
        "invalid_dates",
        "ends before it starts",
        "s.end_date < s.start_date",
    )
    sql.condition(
        ctx,
        ENTITY,
        "account_number",
        "invalid_account_number",
        "letters, digits and dashes, at most 34",
        "s.account_number !~ '^[0-9A-Za-z][0-9A-Za-z-]{0,33}$'",
    )
    known = sql.known_keys(ctx, "parties", parties.KEY)
    for column in PARTY_COLUMNS:
        sql.reference(ctx, ENTITY, column, known, "customer")
    sql.reference(
        ctx,
        ENTITY,
        "usage_point_key",
        sql.known_keys(ctx, "usage_points", usage_points.KEY),
        "usage point",
    )
    sql.resolve(ctx, ENTITY, "usage_point_key", "usage_point_id", sql.resolved(ctx, "usage_points"))
    code = "usage_point_two_active_contracts"
    valid = ctx.valid(ENTITY)
    ctx.problems(
        ENTITY,
        f"SELECT DISTINCT ON (b.line) b.line, 'usage_point_key', '{code}', "
        "'the usage point already has contract ' || a.contract_key || ' (line ' || a.line "
        f"|| ') then' FROM {valid} a JOIN {valid} b ON b.usage_point_key = a.usage_point_key "
        f"AND b.line > a.line WHERE {_conflict('a', 'b')} ORDER BY b.line, a.line",
    )
    # Stored contracts the file does not restate (those it does take their new values).
    ctx.problems(
        ENTITY,
        f"SELECT DISTINCT ON (s.line) s.line, 'usage_point_key', '{code}', "
        "'the usage point already has contract ' || c.number || ' then' "
        f"FROM {valid} s JOIN customer_contract c ON c.usage_point_id = s.usage_point_id "
        f"WHERE {_conflict('s', 'c')} AND NOT EXISTS "
        f"(SELECT 1 FROM {sql.restated(ctx, ENTITY, KEY)} r WHERE r.id = c.id) "
        "ORDER BY s.line",
    )
    # One account, one payer: in the file, and against the stored account.
    mismatch = "account_payer_mismatch"
    ctx.problems(
        ENTITY,
        f"SELECT DISTINCT ON (b.line) b.line, 'account_number', '{mismatch}', "
        "'account ' || b.account_number || ' is paid by ' || coalesce(a.payer_key, a.holder_key) "
        f"|| ' on line ' || a.line FROM {valid} a JOIN {valid} b "
        "ON b.account_number = a.account_number AND b.line > a.line "
        "AND coalesce(b.payer_key, b.holder_key) <> coalesce(a.payer_key, a.holder_key) "
        "ORDER BY b.line, a.line",
    )
    ctx.problems(
        ENTITY,
        f"SELECT s.line, 'account_number', '{mismatch}', "
        "'stored account ' || a.number || ' is paid by another customer' "
        "FROM " + valid + " s JOIN customer_account a ON a.number = s.account_number "
        f"LEFT JOIN {sql.resolved(ctx, 'parties')} p "
        "ON p.key = coalesce(s.payer_key, s.holder_key) "
        "WHERE a.payer_party_id IS DISTINCT FROM p.id",
    )


def contract_keys() -> str:
    """SQL of ``(id, key)``: a contract's legacy key, or its number."""
    return sql.keys(ENTITY, "customer_contract", "t.number")


def write(ctx: MigrationContext) -> WriteCounts:
    valid = ctx.valid(ENTITY)
    party = sql.resolved(ctx, "parties")
    accounts = sql.execute(
        ctx,
        "INSERT INTO customer_account (number, payer_party_id, language) "
        "SELECT DISTINCT ON (s.account_number) s.account_number, p.id, pp.language "
        f"FROM {valid} s JOIN {party} p ON p.key = coalesce(s.payer_key, s.holder_key) "
        "JOIN customer_party pp ON pp.id = p.id "
        "ORDER BY s.account_number, s.line ON CONFLICT (number) DO NOTHING",
    )
    ctx.grown("customer_account", accounts)
    ids = sql.assign_ids(ctx, ENTITY, KEY, "customer_contract")
    source = (
        f"{valid} s JOIN {ids} i ON i.key = s.{KEY} "
        f"JOIN {party} h ON h.key = s.holder_key "
        f"JOIN {sql.resolved(ctx, 'usage_points')} u ON u.key = s.usage_point_key "
        "JOIN customer_usage_point up ON up.id = u.id "
        "JOIN customer_account a ON a.number = s.account_number"
    )
    inserted, updated = sql.upsert(
        ctx,
        table="customer_contract",
        source=source,
        values={
            "holder_party_id": "h.id",
            "usage_point_id": "u.id",
            "account_id": "a.id",
            "tariff_code": "s.tariff_code",
            "subscribed_power_kva": "coalesce(s.subscribed_kva, up.subscribed_power_kva)",
            "start_date": "s.start_date",
            "end_date": "s.end_date",
            "status": "s.status",
        },
        insert_only={
            "number": "'CT-' || lpad(nextval('customer_contract_number_seq')::text, 8, '0')"
        },
    )
    roles = " UNION ".join(
        f"SELECT i.id AS contract_id, p.id AS party_id, '{role}' AS role FROM {valid} s "
        f"JOIN {ids} i ON i.key = s.{KEY} JOIN {party} p ON p.key = {expr}"
        for role, expr in (
            ("holder", "s.holder_key"),
            ("payer", "coalesce(s.payer_key, s.holder_key)"),
            ("owner", "s.owner_key"),
            ("tenant", "s.tenant_key"),
        )
    )
    # An anti-join, not NOT IN: a NOT IN list too large for work_mem is rescanned per row.
    touched = sql.returned_ids(
        ctx,
        f"DELETE FROM customer_contract_role r WHERE r.contract_id IN (SELECT id FROM {ids}) "
        f"AND NOT EXISTS (SELECT 1 FROM ({roles}) d WHERE d.contract_id = r.contract_id "
        "AND d.party_id = r.party_id AND d.role = r.role) RETURNING r.contract_id",
    )
    added = sql.rows(
        ctx,
        f"INSERT INTO customer_contract_role (contract_id, party_id, role) SELECT * FROM ({roles}) d "
        "ON CONFLICT (contract_id, party_id, role) DO NOTHING RETURNING contract_id",
    )
    ctx.grown("customer_contract_role", len(added))
    touched |= {int(r[0]) for r in added}
    return sql.counts(ctx, ids, inserted, updated | touched)


EXPORT_SQL = """
SELECT ck.key AS contract_key, hk.key AS holder_key, pk.key AS payer_key,
       uk.key AS usage_point_key, c.tariff_code, c.start_date, c.end_date, c.status,
       a.number AS account_number, c.subscribed_power_kva AS subscribed_kva,
       ok.key AS owner_key, tk.key AS tenant_key
FROM customer_contract c
JOIN customer_account a ON a.id = c.account_id
JOIN {contracts} ck ON ck.id = c.id
JOIN {parties} hk ON hk.id = c.holder_party_id
JOIN {parties} pk ON pk.id = a.payer_party_id
JOIN {usage_points} uk ON uk.id = c.usage_point_id
LEFT JOIN LATERAL (SELECT min(party_id) FILTER (WHERE role = 'owner') AS owner_id,
                          min(party_id) FILTER (WHERE role = 'tenant') AS tenant_id
                   FROM customer_contract_role WHERE contract_id = c.id) r ON true
LEFT JOIN {parties} ok ON ok.id = r.owner_id
LEFT JOIN {parties} tk ON tk.id = r.tenant_id
"""


def export(session: Session) -> Iterable[Mapping[str, Any]]:
    return sql.export_rows(
        session,
        EXPORT_SQL.format(
            contracts=contract_keys(),
            parties=parties.party_keys(),
            usage_points=usage_points.usage_point_keys(),
        ),
        KEY,
    )


CONTRACTS = register(
    Entity(
        name=ENTITY,
        title="Contracts (supply of a customer at a usage point, billed to an account)",
        key=KEY,
        columns=COLUMNS,
        validate=validate,
        write=write,
        export=export,
        depends_on=("parties", "usage_points"),
        doc=__doc__ or "",
        optional=False,
    )
)
