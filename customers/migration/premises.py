"""The ``premises`` file: where customers are supplied, placed by coordinates in any
coordinate system (transformed to EPSG:4326 by PostGIS) and/or by the code of the network
service point they hang on.

Premises given coordinates but no service point are attached to the nearest service point
within ``attach_max_m`` metres, measured in the deployment's projected CRS; the distance
is kept in the staging table (``attach_m``) for the report (``attached_to_nearest``).
With no service point within reach but a distribution transformer, a new service point
is derived from the nearest transformer at the premises' position (``location_precision``
derived; ``gis.service.derive_service_points``), noted with the distance
(``service_point_derived``); the export names it, so a re-import finds it by its code.
Beyond both they are refused (``no_service_point_within``): a wrong guess would put the
customer on the wrong transformer's energy balance, which is worse than no link.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pyproj import CRS
from pyproj.exceptions import CRSError
from sqlalchemy.orm import Session

from core.migration.context import MigrationContext, Problem
from core.migration.spec import Column, Entity, WriteCounts, register
from core.settings import get_settings
from customers.migration import sql
from gis.service import derive_service_points

ENTITY = "premises"
KEY = "premises_key"
WGS84 = 4326

COLUMNS = (
    Column(KEY, required=True, doc="the legacy system's premises key", examples=("L0001", "L0002")),
    Column("address_line", doc="street and number, or a description", examples=("Rue 12.345", "Carré 1021")),
    Column("unit", doc="flat, shop or door within the building"),
    Column("district", doc="quartier", examples=("Akpakpa", "Cadjèhoun")),
    Column("city", doc="commune", examples=("Cotonou", "Cotonou")),
    Column("region", doc="département"),
    Column("postal_code"),
    Column("country", doc="ISO 3166 alpha-2 (default: the deployment's)"),
    Column("landmark", doc="directions where streets have no names", examples=("", "behind the mosque")),
    Column("lon", "float", doc="x: longitude, or easting in the file's CRS", examples=("2.4183", "2.3912")),
    Column("lat", "float", doc="y: latitude, or northing in the file's CRS", examples=("6.3676", "6.3703")),
    Column("crs", doc="CRS of lon/lat, e.g. EPSG:32631 (default EPSG:4326)"),
    Column("service_point_code", doc="network service point the premises hang on (default: the nearest)"),
)  # fmt: skip


def _srid(value: str) -> int | None:
    """The EPSG code of a CRS as written in the file ("EPSG:32631", "32631", a WKT)."""
    try:
        crs = CRS.from_user_input(int(value) if value.isdigit() else value)
    except CRSError:
        return None
    return crs.to_epsg()


def area(ctx: MigrationContext) -> tuple[float, float, float, float]:
    """The deployment's area (lon/lat box): the run's setting, else where the projected
    CRS is valid (a UTM zone's band), outside which metric work would be wrong anyway."""
    if ctx.settings.area is not None:
        return ctx.settings.area
    use = CRS.from_user_input(get_settings().projected_crs).area_of_use
    assert use is not None
    return (use.west, use.south, use.east, use.north)


def _placed(ctx: MigrationContext) -> None:
    """Type the coordinates: CRS known to PostGIS, both given, inside the area."""
    sql.condition(
        ctx,
        ENTITY,
        "lat",
        "coordinates_incomplete",
        "give both lon and lat, or neither",
        "(s.lon IS NULL) <> (s.lat IS NULL)",
    )
    sql.condition(
        ctx,
        ENTITY,
        "service_point_code",
        "location_missing",
        "give coordinates or a service point code",
        "s.lon IS NULL AND s.service_point_code IS NULL",
    )
    sql.add_column(ctx, ENTITY, "srid", "integer")
    sql.add_column(ctx, ENTITY, "geom", "geometry(Point, 4326)")
    given = [r[0] for r in sql.rows(ctx, f"SELECT DISTINCT crs FROM {ctx.valid(ENTITY)} s")]
    known = {
        int(r[0])
        for r in sql.rows(ctx, "SELECT srid FROM spatial_ref_sys WHERE auth_name = 'EPSG'")
    }
    srids = {crs: _srid(crs) if crs else WGS84 for crs in given}
    bad = [crs for crs, srid in srids.items() if srid is None or srid not in known]
    if bad:
        ctx.problems(
            ENTITY,
            f"SELECT line, 'crs', 'invalid_crs', 'unknown coordinate system ' || s.crs "
            f"FROM {ctx.valid(ENTITY)} s WHERE s.crs = ANY(:bad)",
            {"bad": bad},
        )
    pairs = [(crs, srid) for crs, srid in srids.items() if crs and crs not in bad]
    sql.execute(
        ctx,
        f"UPDATE {ctx.staging(ENTITY)} t SET srid = coalesce(v.srid, {WGS84}) "
        "FROM (SELECT NULL::text AS crs, NULL::int AS srid UNION ALL "
        "SELECT * FROM unnest(CAST(:crs AS text[]), CAST(:srid AS int[]))) v "
        "WHERE t.ok AND t.crs IS NOT DISTINCT FROM v.crs",
        {"crs": [p[0] for p in pairs], "srid": [p[1] for p in pairs]},
    )
    sql.execute(
        ctx,
        f"UPDATE {ctx.staging(ENTITY)} SET geom = CASE WHEN srid = {WGS84} "
        "THEN ST_SetSRID(ST_MakePoint(lon, lat), 4326) "
        "ELSE ST_Transform(ST_SetSRID(ST_MakePoint(lon, lat), srid), 4326) END "
        "WHERE ok AND lon IS NOT NULL AND lat IS NOT NULL",
    )
    west, south, east, north = area(ctx)
    ctx.problems(
        ENTITY,
        "SELECT line, 'lon', 'outside_area', "
        "'(' || round(ST_X(s.geom)::numeric, 6) || ', ' || round(ST_Y(s.geom)::numeric, 6) "
        "|| ') lies outside the area (' || :box || ')' "
        f"FROM {ctx.valid(ENTITY)} s WHERE s.geom IS NOT NULL "
        "AND NOT (ST_X(s.geom) BETWEEN :west AND :east AND ST_Y(s.geom) BETWEEN :south AND :north)",
        {
            "west": west,
            "south": south,
            "east": east,
            "north": north,
            "box": f"{west}, {south}, {east}, {north}",
        },
    )


def _attached(ctx: MigrationContext) -> None:
    """The service point of each row: the one named, else the one stored premises already
    hang on, else the nearest within reach (KNN on the index, distance in metres in the
    projected CRS)."""
    staging = ctx.staging(ENTITY)
    sql.reference(
        ctx,
        ENTITY,
        "service_point_code",
        "SELECT code AS key FROM gis_service_point",
        "network service point",
    )
    sql.add_column(ctx, ENTITY, "service_point_id", "bigint")
    sql.add_column(ctx, ENTITY, "attach_m", "double precision")
    sql.execute(
        ctx,
        f"UPDATE {staging} s SET service_point_id = sp.id FROM gis_service_point sp "
        "WHERE s.ok AND sp.code = s.service_point_code",
    )
    sql.execute(
        ctx,
        f"UPDATE {staging} s SET service_point_id = l.service_point_id "
        f"FROM {sql.resolved(ctx, ENTITY)} m JOIN customer_service_location l ON l.id = m.id "
        f"WHERE s.ok AND s.service_point_id IS NULL AND m.key = s.{KEY} "
        "AND l.service_point_id IS NOT NULL",
    )
    projected = _srid(get_settings().projected_crs)
    # The index orders candidates by degrees; the few nearest are measured in metres.
    sql.execute(
        ctx,
        f"UPDATE {staging} s SET service_point_id = n.id, attach_m = n.metres "
        f"FROM {staging} s2 CROSS JOIN LATERAL ("
        "SELECT c.id, c.metres FROM (SELECT sp.id, ST_Distance(ST_Transform(sp.geom, :srid), "
        "ST_Transform(s2.geom, :srid)) AS metres FROM gis_service_point sp "
        "ORDER BY sp.geom <-> s2.geom LIMIT 8) c ORDER BY c.metres, c.id LIMIT 1) n "
        "WHERE s2.line = s.line AND s.ok AND s.service_point_id IS NULL AND s.geom IS NOT NULL",
        {"srid": projected},
    )
    _derivable(ctx, projected)
    ctx.problems(
        ENTITY,
        "SELECT line, 'service_point_code', 'no_service_point_within', "
        "CASE WHEN s.attach_m IS NULL THEN 'no service point on the network' "
        "ELSE 'the nearest service point is ' || round(s.attach_m::numeric, 1) "
        "|| ' m away, beyond ' || :max || ' m' END "
        "|| coalesce(', the nearest transformer ' || round(s.derive_m::numeric, 1) "
        "|| ' m away', ', no transformer on the network') "
        f"FROM {ctx.valid(ENTITY)} s WHERE s.geom IS NOT NULL AND s.service_point_code IS NULL "
        "AND s.derive_transformer_id IS NULL "
        "AND (s.service_point_id IS NULL OR s.attach_m > :max)",
        {"max": ctx.settings.attach_max_m},
    )
    found = sql.rows(
        ctx,
        "SELECT line, attach_m, (SELECT code FROM gis_service_point WHERE id = s.service_point_id) "
        f"FROM {ctx.valid(ENTITY)} s WHERE s.attach_m IS NOT NULL ORDER BY line",
    )
    for line, metres, code in found:
        ctx.note(
            Problem(
                ENTITY,
                int(line),
                "service_point_code",
                "attached_to_nearest",
                f"attached to service point {code}, {metres:.1f} m away",
            )
        )
    derived = sql.rows(
        ctx,
        "SELECT line, derive_m, "
        "(SELECT code FROM gis_power_transformer WHERE id = s.derive_transformer_id) "
        f"FROM {ctx.valid(ENTITY)} s WHERE s.derive_transformer_id IS NOT NULL ORDER BY line",
    )
    for line, metres, code in derived:
        ctx.note(
            Problem(
                ENTITY,
                int(line),
                "service_point_code",
                "service_point_derived",
                f"a new service point hanging on transformer {code}, {metres:.1f} m away",
            )
        )


def _derivable(ctx: MigrationContext, projected: int | None) -> None:
    """Rows no service point lies within reach of, but a distribution transformer does:
    a service point is derived from that transformer at the premises when written
    (``derive_transformer_id``, ``derive_m``). Only the nearest transformer, as with
    service points: the customer is most likely supplied from it."""
    staging = ctx.staging(ENTITY)
    sql.add_column(ctx, ENTITY, "derive_transformer_id", "bigint")
    sql.add_column(ctx, ENTITY, "derive_m", "double precision")
    # On s2, the row the lateral measures from: only the few rows beyond reach are measured.
    beyond = (
        "s2.ok AND s2.geom IS NOT NULL AND s2.service_point_code IS NULL "
        "AND (s2.service_point_id IS NULL OR s2.attach_m > :max)"
    )
    sql.execute(
        ctx,
        f"UPDATE {staging} s SET derive_transformer_id = n.id, derive_m = n.metres "
        f"FROM {staging} s2 CROSS JOIN LATERAL ("
        "SELECT c.id, c.metres FROM (SELECT t.id, ST_Distance(ST_Transform(t.geom, :srid), "
        "ST_Transform(s2.geom, :srid)) AS metres FROM gis_power_transformer t "
        "ORDER BY t.geom <-> s2.geom LIMIT 8) c ORDER BY c.metres, c.id LIMIT 1) n "
        f"WHERE s2.line = s.line AND {beyond}",
        {"srid": projected, "max": ctx.settings.attach_max_m},
    )
    # Within reach: derived (the far service point forgotten); beyond: kept for the report.
    sql.execute(
        ctx,
        f"UPDATE {staging} s SET service_point_id = NULL, attach_m = NULL WHERE s.derive_m <= :max",
        {"max": ctx.settings.attach_max_m},
    )
    sql.execute(
        ctx,
        f"UPDATE {staging} s SET derive_transformer_id = NULL WHERE s.derive_m > :max",
        {"max": ctx.settings.attach_max_m},
    )


def validate(ctx: MigrationContext) -> None:
    _placed(ctx)
    _attached(ctx)


def premises_keys() -> str:
    """SQL of ``(id, key)``: the key premises are exported and referenced with (legacy
    key or code)."""
    return sql.keys(ENTITY, "customer_service_location", "t.code")


def _derive(ctx: MigrationContext) -> None:
    """Create the service points checks decided to derive from a transformer, and hang the
    rows on them."""
    rows = sql.rows(
        ctx,
        "SELECT line, derive_transformer_id, ST_X(geom), ST_Y(geom) "
        f"FROM {ctx.valid(ENTITY)} s WHERE s.derive_transformer_id IS NOT NULL "
        "AND s.service_point_id IS NULL",
    )
    if not rows:
        return
    made = derive_service_points(
        ctx.session,
        refs=[int(r[0]) for r in rows],
        transformer_ids=[int(r[1]) for r in rows],
        lons=[float(r[2]) for r in rows],
        lats=[float(r[3]) for r in rows],
    )
    sql.execute(
        ctx,
        f"UPDATE {ctx.staging(ENTITY)} s SET service_point_id = u.sp "
        "FROM unnest(CAST(:lines AS bigint[]), CAST(:sps AS bigint[])) AS u (line, sp) "
        "WHERE s.line = u.line",
        {"lines": list(made), "sps": list(made.values())},
    )


def write(ctx: MigrationContext) -> WriteCounts:
    _derive(ctx)
    ids = sql.assign_ids(ctx, ENTITY, KEY, "customer_service_location")
    inserted, updated = sql.upsert(
        ctx,
        table="customer_service_location",
        source=f"{ctx.valid(ENTITY)} s JOIN {ids} i ON i.key = s.{KEY}",
        values={
            "address_line": "coalesce(s.address_line, '')",
            "unit": "s.unit",
            "district": "s.district",
            "city": "s.city",
            "region": "s.region",
            "postal_code": "s.postal_code",
            "country": "coalesce(s.country, 'BJ')",
            "landmark": "s.landmark",
            "geom": "s.geom",
            "service_point_id": "s.service_point_id",
        },
        insert_only={
            "code": "'PRM-' || lpad(nextval('customer_service_location_code_seq')::text, 8, '0')"
        },
    )
    return sql.counts(ctx, ids, inserted, updated)


EXPORT_SQL = """
SELECT lk.key AS premises_key, l.address_line, l.unit, l.district, l.city, l.region,
       l.postal_code, l.country, l.landmark, ST_X(l.geom) AS lon, ST_Y(l.geom) AS lat,
       NULL AS crs, sp.code AS service_point_code
FROM customer_service_location l
JOIN {keys} lk ON lk.id = l.id
LEFT JOIN gis_service_point sp ON sp.id = l.service_point_id
"""


def export(session: Session) -> Iterable[Mapping[str, Any]]:
    """Every premises in EPSG:4326 with its service point's code."""
    return sql.export_rows(session, EXPORT_SQL.format(keys=premises_keys()), KEY)


PREMISES = register(
    Entity(
        name=ENTITY,
        title="Premises (service locations)",
        key=KEY,
        columns=COLUMNS,
        validate=validate,
        write=write,
        export=export,
        doc=__doc__ or "",
        optional=False,
    )
)
