"""The ``installations`` file: which meter was fitted at which usage point, from when to
when, with the index of each register when it was fitted (and when it was removed).

A meter is fitted at one place at a time (``meter_installed_twice``) and a usage point has
one meter per register set at a time (``usage_point_has_meter``), in the file and against
the stored installations it does not restate. Indexes are written ``total=1234;peak=567``.
A meter's status follows: ``installed`` while an installation of it is open.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.orm import Session

from core.migration.context import MigrationContext
from core.migration.spec import Column, Entity, WriteCounts, register
from customers.migration import sql, usage_points
from meters.enums import RegisterCode, RegisterSet
from meters.migration import fitting

ENTITY = "installations"
KEY = "installation_key"
PAIR = "(" + "|".join(RegisterCode) + r")=[0-9]+(\.[0-9]+)?"  # total=1234
INDEX_LIST = f"^{PAIR}(;{PAIR})*$"

COLUMNS = (
    Column(KEY, required=True, doc="the legacy system's installation key", examples=("I0001", "I0002")),
    Column("serial", required=True, doc="the meter fitted (meters file or stored)", examples=("SAG2400001", "LG2400002")),
    Column("usage_point_key", required=True, doc="where (usage points file or stored)", examples=("U0001", "U0002")),
    Column("register_set", doc=", ".join(RegisterSet) + " (default main)", examples=("main", "main")),
    Column("installed_at", "timestamp", required=True, doc="when it was fitted", examples=("2019-03-01T09:00:00+01:00", "2021-07-15T10:30:00+01:00")),
    Column("start_indexes", required=True, doc="index per register when fitted: total=1234;peak=567", examples=("total=1234", "total=0;peak=0;off_peak=0")),
    Column("removed_at", "timestamp", doc="when it was removed (for past installations)"),
    Column("end_indexes", doc="index per register when removed (with removed_at)"),
    Column("removal_reason", doc="why it was removed"),
    Column("replaces_key", doc="the installation this one took over from (a meter replacement)"),
)  # fmt: skip


def validate(ctx: MigrationContext) -> None:
    sql.choice(ctx, ENTITY, "register_set", list(RegisterSet))
    fitting.dates(ctx, ENTITY)
    sql.condition(
        ctx,
        ENTITY,
        "end_indexes",
        "removal_incomplete",
        "a removal needs removed_at and end_indexes together",
        "(s.removed_at IS NULL) <> (s.end_indexes IS NULL)",
    )
    for column in ("start_indexes", "end_indexes"):
        sql.condition(
            ctx,
            ENTITY,
            column,
            "invalid_indexes",
            "register=index pairs separated by ';', e.g. total=1234;peak=567",
            f"s.{column} IS NOT NULL AND replace(s.{column}, ' ', '') !~ '{INDEX_LIST}'",
        )
    fitting.serial_known(ctx, ENTITY)
    sql.reference(
        ctx,
        ENTITY,
        "usage_point_key",
        sql.known_keys(ctx, "usage_points", usage_points.KEY),
        "usage point",
    )
    sql.reference(ctx, ENTITY, "replaces_key", sql.known_keys(ctx, ENTITY, KEY), "installation")
    sql.resolve(ctx, ENTITY, "usage_point_key", "usage_point_id", sql.resolved(ctx, "usage_points"))
    fitting.overlaps(
        ctx,
        ENTITY,
        KEY,
        field="serial",
        code="meter_installed_twice",
        what="the meter is installed",
        same="b.serial = a.serial",
        stored="JOIN meter_asset ma ON ma.serial = s.serial "
        "JOIN meter_installation x ON x.meter_id = ma.id",
    )
    fitting.overlaps(
        ctx,
        ENTITY,
        KEY,
        field="usage_point_key",
        code="usage_point_has_meter",
        what="the usage point has a meter of that register set",
        same="b.usage_point_key = a.usage_point_key "
        "AND coalesce(b.register_set, 'main') = coalesce(a.register_set, 'main')",
        stored="JOIN meter_installation x ON x.usage_point_id = s.usage_point_id "
        "AND x.register_set = coalesce(s.register_set, 'main')",
    )


def _indexes(column: str) -> str:
    """SQL for ``total=1234;peak=567`` as the stored JSON ``{"total": "1234", ...}``."""
    return (
        "(SELECT jsonb_object_agg(split_part(p, '=', 1), split_part(p, '=', 2)) FROM "
        f"unnest(string_to_array(replace(s.{column}, ' ', ''), ';')) AS p)"
    )


def _listed(column: str) -> str:
    """SQL for stored indexes as the file writes them, registers in byte order."""
    return (
        f"(SELECT string_agg(key || '=' || value, ';' ORDER BY key COLLATE \"C\") "
        f"FROM jsonb_each_text(x.{column}))"
    )


def installation_keys() -> str:
    """SQL of ``(id, key)``: an installation's legacy key, else ``INS-<id>``."""
    return sql.keys(ENTITY, "meter_installation", "'INS-' || t.id")


def write(ctx: MigrationContext) -> WriteCounts:
    ids = sql.assign_ids(ctx, ENTITY, KEY, "meter_installation")
    source = (
        f"{ctx.valid(ENTITY)} s JOIN {ids} i ON i.key = s.{KEY} "
        "JOIN meter_asset m ON m.serial = s.serial "
        f"JOIN {sql.resolved(ctx, 'usage_points')} u ON u.key = s.usage_point_key"
    )
    inserted, updated = sql.upsert(
        ctx,
        table="meter_installation",
        source=source,
        values={
            "meter_id": "m.id",
            "usage_point_id": "u.id",
            "register_set": "coalesce(s.register_set, 'main')",
            "installed_at": "s.installed_at",
            "start_indexes": _indexes("start_indexes"),
            "removed_at": "s.removed_at",
            "end_indexes": _indexes("end_indexes"),
            "removal_reason": "s.removal_reason",
        },
    )
    # The installation replaced may be a row of the same file: linked once all are in.
    replaced = (
        f"UPDATE meter_installation x SET replaces_installation_id = r.id "
        f"FROM {ctx.valid(ENTITY)} s JOIN {ids} i ON i.key = s.{KEY} "
        f"LEFT JOIN {sql.resolved(ctx, ENTITY)} r ON r.key = s.replaces_key "
        "WHERE x.id = i.id AND i.is_new = {new} "
        "AND x.replaces_installation_id IS DISTINCT FROM r.id RETURNING x.id"
    )
    sql.execute(ctx, replaced.format(new="true"))
    with sql.updates_audited(ctx):
        updated |= sql.returned_ids(ctx, replaced.format(new="false"))
    fitting.follow_status(ctx, ENTITY)
    return sql.counts(ctx, ids, inserted, updated)


EXPORT_SQL = """
SELECT ik.key AS installation_key, m.serial, uk.key AS usage_point_key, x.register_set,
       x.installed_at, {start} AS start_indexes, x.removed_at, {end} AS end_indexes,
       x.removal_reason, rk.key AS replaces_key
FROM meter_installation x
JOIN meter_asset m ON m.id = x.meter_id
JOIN {keys} ik ON ik.id = x.id
JOIN {usage_points} uk ON uk.id = x.usage_point_id
LEFT JOIN {keys} rk ON rk.id = x.replaces_installation_id
"""


def export(session: Session) -> Iterable[Mapping[str, Any]]:
    return sql.export_rows(
        session,
        EXPORT_SQL.format(
            keys=installation_keys(),
            usage_points=usage_points.usage_point_keys(),
            start=_listed("start_indexes"),
            end=_listed("end_indexes"),
        ),
        KEY,
    )


INSTALLATIONS = register(
    Entity(
        name=ENTITY,
        title="Installations (a meter fitted at a usage point, with its indexes)",
        key=KEY,
        columns=COLUMNS,
        validate=validate,
        write=write,
        export=export,
        depends_on=("meters", "usage_points"),
        doc=__doc__ or "",
        optional=False,
    )
)
