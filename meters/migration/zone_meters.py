"""The ``zone_meters`` file: a meter measuring the energy into a part of the network, at a
distribution transformer (by its code: its LV zone) or at the head of an MV feeder (by the
feeder's code), from a date (to a date, for one since removed).

The network is brought in before (``kilowatch gis import``): transformers and feeders are
named by their codes. A meter measures one zone at a time (``meter_installed_twice``) and a
zone has one meter at a time (``zone_has_meter``), as ``meter_zone_installation``'s
exclusion constraints demand.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.orm import Session

from core.migration.context import MigrationContext
from core.migration.spec import Column, Entity, WriteCounts, register
from customers.migration import sql
from meters.migration import fitting

ENTITY = "zone_meters"
KEY = "zone_meter_key"
# The zone columns: the network table each names a record of by its code.
ZONES = {"transformer_code": "gis_power_transformer", "feeder_code": "gis_feeder"}

COLUMNS = (
    Column(KEY, required=True, doc="the legacy system's key of this zone metering", examples=("Z0001", "Z0002")),
    Column("serial", required=True, doc="the meter (meters file or stored)", examples=("ZTR2400001", "ZFD2400002")),
    Column("transformer_code", doc="the distribution transformer measured (or feeder_code)", examples=("TR-0001", "")),
    Column("feeder_code", doc="the MV feeder measured at its head (or transformer_code)", examples=("", "FD-01")),
    Column("installed_at", "timestamp", required=True, doc="when it was fitted", examples=("2019-03-01T09:00:00+01:00", "2019-03-01T09:00:00+01:00")),
    Column("removed_at", "timestamp", doc="when it was removed"),
)  # fmt: skip


def validate(ctx: MigrationContext) -> None:
    sql.condition(
        ctx,
        ENTITY,
        "transformer_code",
        "zone_required",
        "give a transformer code or a feeder code (one of them)",
        "num_nonnulls(s.transformer_code, s.feeder_code) <> 1",
    )
    fitting.dates(ctx, ENTITY)
    fitting.serial_known(ctx, ENTITY)
    for column, table in ZONES.items():
        what = column.removesuffix("_code")
        sql.reference(ctx, ENTITY, column, f"SELECT code AS key FROM {table}", what)
    fitting.overlaps(
        ctx,
        ENTITY,
        KEY,
        field="serial",
        code="meter_installed_twice",
        what="the meter measures a zone",
        same="b.serial = a.serial",
        stored="JOIN meter_asset ma ON ma.serial = s.serial "
        "JOIN meter_zone_installation x ON x.meter_id = ma.id",
    )
    for column, table in ZONES.items():
        what = column.removesuffix("_code")
        fitting.overlaps(
            ctx,
            ENTITY,
            KEY,
            field=column,
            code="zone_has_meter",
            what=f"the {what} has a meter",
            same=f"b.{column} = a.{column}",
            stored=f"JOIN {table} z ON z.code = s.{column} "
            f"JOIN meter_zone_installation x ON x.{what}_id = z.id",
        )


def zone_meter_keys() -> str:
    """SQL of ``(id, key)``: a zone metering's legacy key, else ``ZM-<id>``."""
    return sql.keys(ENTITY, "meter_zone_installation", "'ZM-' || t.id")


def write(ctx: MigrationContext) -> WriteCounts:
    ids = sql.assign_ids(ctx, ENTITY, KEY, "meter_zone_installation")
    inserted, updated = sql.upsert(
        ctx,
        table="meter_zone_installation",
        source=(
            f"{ctx.valid(ENTITY)} s JOIN {ids} i ON i.key = s.{KEY} "
            "JOIN meter_asset m ON m.serial = s.serial "
            "LEFT JOIN gis_power_transformer t ON t.code = s.transformer_code "
            "LEFT JOIN gis_feeder f ON f.code = s.feeder_code"
        ),
        values={
            "meter_id": "m.id",
            "transformer_id": "t.id",
            "feeder_id": "f.id",
            "installed_at": "s.installed_at",
            "removed_at": "s.removed_at",
        },
    )
    fitting.follow_status(ctx, ENTITY)
    return sql.counts(ctx, ids, inserted, updated)


EXPORT_SQL = """
SELECT zk.key AS zone_meter_key, m.serial, t.code AS transformer_code, f.code AS feeder_code,
       x.installed_at, x.removed_at
FROM meter_zone_installation x
JOIN meter_asset m ON m.id = x.meter_id
JOIN {keys} zk ON zk.id = x.id
LEFT JOIN gis_power_transformer t ON t.id = x.transformer_id
LEFT JOIN gis_feeder f ON f.id = x.feeder_id
"""


def export(session: Session) -> Iterable[Mapping[str, Any]]:
    return sql.export_rows(session, EXPORT_SQL.format(keys=zone_meter_keys()), KEY)


ZONE_METERS = register(
    Entity(
        name=ENTITY,
        title="Zone meters (a meter measuring a transformer or a feeder head)",
        key=KEY,
        columns=COLUMNS,
        validate=validate,
        write=write,
        export=export,
        depends_on=("meters",),
        doc=__doc__ or "",
        optional=False,
    )
)
