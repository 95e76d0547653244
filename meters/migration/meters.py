"""The ``meters`` file: meter assets with their registers. A meter's serial is its key: a
stored meter with that serial is the same meter, whoever created it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.orm import Session

from core.migration.context import MigrationContext
from core.migration.spec import Column, Entity, WriteCounts, register
from customers.migration import sql
from meters.enums import MeterStatus, MeterType, RegisterCode
from meters.migration import fitting

ENTITY = "meters"
KEY = "serial"

COLUMNS = (
    Column(KEY, required=True, doc="the meter's serial number (its key)", examples=("SAG2400001", "LG2400002")),
    Column("make", doc="manufacturer", examples=("Sagemcom", "Landis+Gyr")),
    Column("model", examples=("CX1000-6", "E450")),
    Column("meter_type", required=True, doc=", ".join(MeterType), examples=("postpaid", "smart")),
    Column("dial_digits", "integer", doc="dials (3 to 10; default 5)", examples=("5", "6")),
    Column("multiplier", "decimal", doc="CT ratio (default 1)", examples=("1", "1")),
    Column("phases", "integer", doc="1 or 3 (default 1)", examples=("1", "3")),
    Column("registers", doc="register codes separated by ';' (default total): " + ", ".join(RegisterCode), examples=("total", "total;peak;off_peak")),
    Column("status", doc=", ".join(MeterStatus) + " (default: as its installations say, else in_stock)"),
    Column("stock_location", doc="store holding it while not in the field"),
)  # fmt: skip


def validate(ctx: MigrationContext) -> None:
    sql.choice(ctx, ENTITY, "meter_type", list(MeterType))
    sql.choice(ctx, ENTITY, "status", list(MeterStatus))
    sql.choice(ctx, ENTITY, "phases", [1, 3])
    sql.condition(
        ctx, ENTITY, "dial_digits", "out_of_range", "3 to 10", "s.dial_digits NOT BETWEEN 3 AND 10"
    )
    sql.condition(ctx, ENTITY, "multiplier", "out_of_range", "must be above 0", "s.multiplier <= 0")
    ctx.problems(
        ENTITY,
        "SELECT line, 'registers', 'invalid_choice', 'register codes are ' || :listed "
        f"FROM {ctx.valid(ENTITY)} s WHERE EXISTS (SELECT 1 FROM "
        "unnest(string_to_array(s.registers, ';')) r WHERE NOT (trim(r) = ANY(:codes)))",
        {"codes": list(RegisterCode), "listed": ", ".join(RegisterCode)},
    )


def write(ctx: MigrationContext) -> WriteCounts:
    ids = sql.assign_ids(ctx, ENTITY, KEY, "meter_asset", natural="serial")
    inserted, updated = sql.upsert(
        ctx,
        table="meter_asset",
        source=f"{ctx.valid(ENTITY)} s JOIN {ids} i ON i.key = s.{KEY}",
        values={
            "serial": "s.serial",
            "make": "coalesce(s.make, '')",
            "model": "coalesce(s.model, '')",
            "meter_type": "s.meter_type",
            "dial_digits": "coalesce(s.dial_digits, 5)",
            "multiplier": "coalesce(s.multiplier, 1)",
            "phases": "coalesce(s.phases, 1)",
            # Without a status, a stored meter's follows its fittings (what the
            # installations file gives it after), a new one is in stock.
            "status": "coalesce(s.status, "
            f"(SELECT {fitting.status('x')} FROM meter_asset x WHERE x.id = i.id), 'in_stock')",
            "stock_location": "s.stock_location",
        },
    )
    # Registers are only added: readings point at the stored ones.
    added = sql.rows(
        ctx,
        "INSERT INTO meter_register (meter_id, code) "
        "SELECT i.id, trim(r.code) "
        f"FROM {ctx.valid(ENTITY)} s JOIN {ids} i ON i.key = s.{KEY} "
        "CROSS JOIN LATERAL unnest(string_to_array(coalesce(s.registers, 'total'), ';')) "
        "WITH ORDINALITY AS r (code, pos) ORDER BY i.id, r.pos "
        "ON CONFLICT (meter_id, code) DO NOTHING RETURNING meter_id",
    )
    ctx.grown("meter_register", len(added))
    return sql.counts(ctx, ids, inserted, updated | {int(r[0]) for r in added})


EXPORT_SQL = """
SELECT m.serial, m.make, m.model, m.meter_type, m.dial_digits, m.multiplier, m.phases,
       (SELECT string_agg(code, ';' ORDER BY id) FROM meter_register WHERE meter_id = m.id)
       AS registers, m.status, m.stock_location
FROM meter_asset m
"""


def export(session: Session) -> Iterable[Mapping[str, Any]]:
    return sql.export_rows(session, EXPORT_SQL, KEY)


METERS = register(
    Entity(
        name=ENTITY,
        title="Meters (assets with their registers)",
        key=KEY,
        columns=COLUMNS,
        validate=validate,
        write=write,
        export=export,
        doc=__doc__ or "",
        optional=False,
    )
)
