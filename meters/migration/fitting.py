"""What the installations and zone meters files share: a meter is named by its serial, a
fitting lasts ``[installed_at, removed_at)``, two fittings of one meter (or of one place)
must not overlap, and a meter's status follows its open fittings."""

from __future__ import annotations

from core.migration.context import MigrationContext
from customers.migration import sql

# The tables holding fittings: a meter at a usage point, a meter measuring a network zone.
FITTINGS = ("meter_installation", "meter_zone_installation")


def period(alias: str) -> str:
    """SQL for the time a fitting (a file row or a stored one) lasts."""
    return f"tstzrange({alias}.installed_at, {alias}.removed_at, '[)')"


def serial_known(ctx: MigrationContext, entity: str) -> None:
    """``reference_unknown`` for a serial neither in the meters file nor stored."""
    stored = "SELECT serial FROM meter_asset"
    sql.reference(ctx, entity, "serial", sql.known_keys(ctx, "meters", "serial", stored), "meter")


def dates(ctx: MigrationContext, entity: str) -> None:
    sql.condition(
        ctx,
        entity,
        "removed_at",
        "invalid_dates",
        "removed before it was installed",
        "s.removed_at <= s.installed_at",
    )


def overlaps(
    ctx: MigrationContext,
    entity: str,
    key: str,
    *,
    field: str,
    code: str,
    same: str,
    stored: str,
    what: str,
) -> None:
    """``code`` for a row whose period overlaps another row's of the file with the ``same``
    place (SQL over the rows ``a`` and ``b``), or a stored fitting's that the file does not
    restate: ``stored`` joins the file row ``s`` to the stored fittings ``x`` of its place
    (a restated one takes its new dates)."""
    valid = ctx.valid(entity)
    ctx.problems(
        entity,
        f"SELECT DISTINCT ON (b.line) b.line, '{field}', '{code}', "
        f"'{what} on line ' || a.line || ' at the same time' "
        f"FROM {valid} a JOIN {valid} b ON b.line > a.line AND {same} "
        f"AND {period('a')} && {period('b')} ORDER BY b.line, a.line",
    )
    ctx.problems(
        entity,
        f"SELECT DISTINCT ON (s.line) s.line, '{field}', '{code}', "
        f"'{what} (stored, from ' || x.installed_at || ') at the same time' "
        f"FROM {valid} s {stored} WHERE {period('s')} && {period('x')} "
        f"AND NOT EXISTS (SELECT 1 FROM {sql.restated(ctx, entity, key)} r WHERE r.id = x.id) "
        "ORDER BY s.line, x.installed_at",
    )


def status(meter: str) -> str:
    """SQL for the status the stored meter ``meter`` (an alias of ``meter_asset``) follows
    from its fittings: ``installed`` while one is open, ``removed`` (back from the field)
    once none is; in stock or scrapped stay so."""
    open_fitting = " OR ".join(
        f"EXISTS (SELECT 1 FROM {t} o WHERE o.meter_id = {meter}.id AND o.removed_at IS NULL)"
        for t in FITTINGS
    )
    return (
        f"CASE WHEN {open_fitting} THEN 'installed' "
        f"WHEN {meter}.status = 'installed' THEN 'removed' ELSE {meter}.status END"
    )


def follow_status(ctx: MigrationContext, entity: str) -> None:
    """The meters of ``entity``'s file take the status their fittings give them."""
    with sql.updates_audited(ctx):
        sql.execute(
            ctx,
            f"UPDATE meter_asset m SET status = {status('m')}, updated_at = now() "
            f"WHERE m.serial IN (SELECT serial FROM {ctx.valid(entity)} s) "
            f"AND m.status IS DISTINCT FROM {status('m')}",
        )
