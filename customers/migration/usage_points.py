"""The ``usage_points`` file: what is metered and billed at a premises (one per premises
for electricity), with its category, subscribed power, phases and connection state."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.orm import Session

from core.migration.context import MigrationContext
from core.migration.spec import Column, Entity, WriteCounts, register
from customers.enums import ConnectionState, UsageCategory
from customers.migration import premises, sql

ENTITY = "usage_points"
KEY = "usage_point_key"

COLUMNS = (
    Column(KEY, required=True, doc="the legacy system's usage point (delivery point) key", examples=("U0001", "U0002")),
    Column("premises_key", required=True, doc="the premises (premises file or stored)", examples=("L0001", "L0002")),
    Column("category", required=True, doc=", ".join(UsageCategory), examples=("residential", "commercial")),
    Column("subscribed_kva", "decimal", required=True, doc="subscribed power, kVA", examples=("3.30", "9.90")),
    Column("phases", "integer", doc="1 or 3 (default 1)", examples=("1", "3")),
    Column("connection_state", doc=", ".join(ConnectionState) + " (default connected)", examples=("connected", "disconnected")),
)  # fmt: skip


def validate(ctx: MigrationContext) -> None:
    sql.choice(ctx, ENTITY, "category", list(UsageCategory))
    sql.choice(ctx, ENTITY, "connection_state", list(ConnectionState))
    sql.choice(ctx, ENTITY, "phases", [1, 3])
    sql.condition(
        ctx, ENTITY, "subscribed_kva", "out_of_range", "must be above 0", "s.subscribed_kva <= 0"
    )
    sql.reference(
        ctx, ENTITY, "premises_key", sql.known_keys(ctx, "premises", premises.KEY), "premises"
    )
    code = "premises_has_usage_point"
    sql.duplicates(ctx, ENTITY, "premises_key", "premises_key", code)
    ctx.problems(
        ENTITY,
        f"SELECT s.line, 'premises_key', '{code}', 'the premises already have usage point ' "
        f"|| u.code FROM {ctx.valid(ENTITY)} s "
        f"JOIN {sql.resolved(ctx, 'premises')} l ON l.key = s.premises_key "
        "JOIN customer_usage_point u ON u.service_location_id = l.id "
        f"LEFT JOIN {sql.resolved(ctx, ENTITY)} me ON me.key = s.{KEY} "
        "WHERE u.id IS DISTINCT FROM me.id",
    )


def usage_point_keys() -> str:
    """SQL of ``(id, key)``: the key a usage point is exported and referenced with (legacy
    key or code)."""
    return sql.keys(ENTITY, "customer_usage_point", "t.code")


def write(ctx: MigrationContext) -> WriteCounts:
    ids = sql.assign_ids(ctx, ENTITY, KEY, "customer_usage_point")
    inserted, updated = sql.upsert(
        ctx,
        table="customer_usage_point",
        source=(
            f"{ctx.valid(ENTITY)} s JOIN {ids} i ON i.key = s.{KEY} "
            f"JOIN {sql.resolved(ctx, 'premises')} l ON l.key = s.premises_key"
        ),
        values={
            "service_location_id": "l.id",
            "category": "s.category",
            "subscribed_power_kva": "s.subscribed_kva",
            "phases": "coalesce(s.phases, 1)",
            "connection_state": "coalesce(s.connection_state, 'connected')",
        },
        insert_only={
            "code": "'UP-' || lpad(nextval('customer_usage_point_code_seq')::text, 8, '0')"
        },
    )
    return sql.counts(ctx, ids, inserted, updated)


EXPORT_SQL = """
SELECT uk.key AS usage_point_key, lk.key AS premises_key, u.category,
       u.subscribed_power_kva AS subscribed_kva, u.phases, u.connection_state
FROM customer_usage_point u
JOIN {keys} uk ON uk.id = u.id
JOIN {premises} lk ON lk.id = u.service_location_id
"""


def export(session: Session) -> Iterable[Mapping[str, Any]]:
    return sql.export_rows(
        session,
        EXPORT_SQL.format(keys=usage_point_keys(), premises=premises.premises_keys()),
        KEY,
    )


USAGE_POINTS = register(
    Entity(
        name=ENTITY,
        title="Usage points (what is metered and billed at premises)",
        key=KEY,
        columns=COLUMNS,
        validate=validate,
        write=write,
        export=export,
        depends_on=("premises",),
        doc=__doc__ or "",
        optional=False,
    )
)
