"""Browse the network's assets as RFC 7946 GeoJSON features: lists with a bounding-box
filter, code-prefix search and keyset pagination, detail by code, all limited to the
caller's territory.

Geometry is stored and returned in EPSG:4326 (lon, lat). What a caller sees is decided by
each model's ``__territory__`` rule (``core.territory``, rendered by ``core.territory.rule_sql``):
an unrestricted caller sees everything.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from core.context import Actor
from core.errors import FieldError, InputInvalidError
from core.territory import rule_sql, visible
from gis.models import Feeder, PowerTransformer, ServicePoint, Substation, Switch

MAX_PAGE = 1000
COORDINATE_DECIMALS = 7  # ~1 cm: more is noise


@dataclass(frozen=True)
class BBox:
    """A lon/lat box in EPSG:4326 degrees."""

    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float

    @classmethod
    def parse(cls, value: str) -> BBox:
        """``minlon,minlat,maxlon,maxlat``; anything else is a 422 with a stable code."""
        parts = value.split(",")
        try:
            numbers = [float(p) for p in parts]
        except ValueError:
            numbers = []
        problem = None
        if len(numbers) != 4 or not all(math.isfinite(n) for n in numbers):
            problem = "expected four numbers: minlon,minlat,maxlon,maxlat (EPSG:4326)"
        else:
            min_lon, min_lat, max_lon, max_lat = numbers
            if not (-180 <= min_lon <= 180 and -180 <= max_lon <= 180):
                problem = "longitudes must lie in [-180, 180]"
            elif not (-90 <= min_lat <= 90 and -90 <= max_lat <= 90):
                problem = "latitudes must lie in [-90, 90]"
            elif min_lon >= max_lon or min_lat >= max_lat:
                problem = "minimums must be smaller than maximums"
        if problem:
            raise InputInvalidError(
                f"bbox is invalid: {problem}",
                errors=[FieldError("bbox", problem, code="bbox_invalid")],
            )
        return cls(*numbers)


@dataclass(frozen=True)
class AssetKind:
    """How one asset table is listed: its alias ``x``, the feature's geometry expression,
    its properties (a jsonb expression) and the joins they need."""

    name: str  # the API's plural, e.g. "service-points"
    model: type[Any]  # its table, and where it lies (``__territory__``)
    geometry: str
    properties: str
    joins: str = ""
    # How "inside the box" is decided (a boolean SQL expression over x).
    bbox: str = "x.geom && {area}"
    detail_properties: str = "'{}'::jsonb"


_FEEDER_JOIN = "LEFT JOIN gis_feeder f ON f.id = x.feeder_id"
_FEEDER_SHAPE = (
    "(SELECT ST_Collect(s.geom ORDER BY s.id) FROM gis_line_segment s "
    "WHERE s.feeder_id = x.id AND s.voltage_level = 'mv')"
)

KINDS: dict[str, AssetKind] = {
    kind.name: kind
    for kind in (
        AssetKind(
            name="substations",
            model=Substation,
            geometry="x.geom",
            properties="jsonb_build_object('code', x.code, 'name', x.name, "
            "'primary_kv', x.primary_kv, 'secondary_kv', x.secondary_kv, 'feeders', "
            "(SELECT coalesce(jsonb_agg(fd.code ORDER BY fd.code), '[]'::jsonb) "
            "FROM gis_feeder fd WHERE fd.substation_id = x.id))",
        ),
        AssetKind(
            name="feeders",
            model=Feeder,
            geometry=_FEEDER_SHAPE,
            properties="jsonb_build_object('code', x.code, 'name', x.name, "
            "'feeder_code', x.code, 'substation_code', sub.code, 'nominal_kv', x.nominal_kv, "
            "'topology_dirty', x.topology_dirty, 'traced_at', x.traced_at)",
            joins="LEFT JOIN gis_substation sub ON sub.id = x.substation_id",
            bbox="x.id IN (SELECT s.feeder_id FROM gis_line_segment s WHERE s.geom && {area})",
            detail_properties="jsonb_build_object("
            "'transformers', (SELECT count(*) FROM gis_power_transformer t WHERE t.feeder_id = x.id), "
            "'service_points', (SELECT count(*) FROM gis_service_point p WHERE p.feeder_id = x.id), "
            "'mv_length_m', (SELECT round(sum(s.length_m)::numeric, 1) FROM gis_line_segment s "
            "WHERE s.feeder_id = x.id AND s.voltage_level = 'mv'))",
        ),
        AssetKind(
            name="transformers",
            model=PowerTransformer,
            geometry="x.geom",
            properties="jsonb_build_object('code', x.code, 'rated_kva', x.rated_kva, "
            "'phases', x.phases, 'primary_kv', x.primary_kv, 'secondary_kv', x.secondary_kv, "
            "'feeder_code', f.code, 'transformer_code', x.code, "
            "'design_load_kva', x.attributes->'design_load_kva')",
            joins=_FEEDER_JOIN,
            detail_properties="jsonb_build_object("
            "'service_points', (SELECT count(*) FROM gis_service_point p "
            "WHERE p.transformer_id = x.id), 'attributes', x.attributes)",
        ),
        AssetKind(
            name="switches",
            model=Switch,
            geometry="x.geom",
            properties="jsonb_build_object('code', x.code, 'kind', x.kind, "
            "'normal_open', x.normal_open, 'is_open', x.is_open, 'feeder_code', f.code)",
            joins=_FEEDER_JOIN,
        ),
        AssetKind(
            name="service-points",
            model=ServicePoint,
            geometry="x.geom",
            properties="jsonb_build_object('code', x.code, 'kind', x.kind, "
            "'location_precision', x.location_precision, 'feeder_code', f.code, "
            "'transformer_code', t.code)",
            joins=_FEEDER_JOIN + " LEFT JOIN gis_power_transformer t ON t.id = x.transformer_id",
            detail_properties="jsonb_build_object('attributes', x.attributes)",
        ),
    )
}


_ENVELOPE = "ST_MakeEnvelope(:min_lon, :min_lat, :max_lon, :max_lat, 4326)"


def _feature(row: Any) -> dict[str, Any]:
    properties = dict(row.properties)
    properties.update(row.detail or {})
    return {"type": "Feature", "id": row.id, "geometry": row.geometry, "properties": properties}


def _select(kind: AssetKind, *, detail: bool, geometry: bool = True) -> str:
    shape = f"ST_AsGeoJSON({kind.geometry}, {COORDINATE_DECIMALS})::json" if geometry else "NULL"
    return (
        f"SELECT x.id, {shape} AS geometry, "
        f"{kind.properties} AS properties, "
        f"{kind.detail_properties if detail else 'NULL::jsonb'} AS detail "
        f"FROM {kind.model.__tablename__} x {kind.joins}"
    )


def _like_prefix(prefix: str) -> str:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def list_assets(
    session: Session,
    kind: AssetKind,
    *,
    bbox: BBox | None = None,
    after: int | None = None,
    limit: int = 100,
    code_prefix: str | None = None,
    asset_id: int | None = None,
    actor: Actor,
    with_geometry: bool = True,
) -> tuple[list[dict[str, Any]], int | None]:
    """One page of the features ``actor`` may see, ordered by id, and the cursor of the
    next page (None = last)."""
    where, params = ["TRUE"], {"limit": min(max(limit, 1), MAX_PAGE) + 1}
    if bbox is not None:
        where.append(kind.bbox.format(area=_ENVELOPE))
        params.update(
            min_lon=bbox.min_lon, min_lat=bbox.min_lat, max_lon=bbox.max_lon, max_lat=bbox.max_lat
        )
    if after is not None:
        where.append("x.id > :after")
        params["after"] = after
    if asset_id is not None:
        where.append("x.id = :asset_id")
        params["asset_id"] = asset_id
    if code_prefix:
        where.append("x.code LIKE :prefix")
        params["prefix"] = _like_prefix(code_prefix)
    inside = rule_sql(actor, kind.model)
    if inside is not None:
        where.append(inside)
    query = _select(kind, detail=False, geometry=with_geometry)
    sql = f"{query} WHERE {' AND '.join(where)} ORDER BY x.id LIMIT :limit"
    rows = session.execute(text(sql), params).all()
    page = rows[: params["limit"] - 1]
    next_cursor = page[-1].id if len(rows) > len(page) else None
    return [_feature(r) for r in page], next_cursor


def get_asset(
    session: Session, kind: AssetKind, code: str, *, actor: Actor
) -> dict[str, Any] | None:
    """The feature with this code, with its detail properties; None when unknown or outside
    the caller's territory (the two are indistinguishable on purpose)."""
    sql = f"{_select(kind, detail=True)} WHERE x.code = :code"
    inside = rule_sql(actor, kind.model)
    if inside is not None:
        sql += f" AND {inside}"
    row = session.execute(text(sql), {"code": code}).first()
    return _feature(row) if row else None


def search_assets(
    session: Session, code_prefix: str, *, actor: Actor, limit: int = 10
) -> list[dict[str, Any]]:
    """Assets of every kind whose code starts with ``code_prefix`` (exact matches first),
    each feature's properties naming its ``asset`` kind."""
    found: list[dict[str, Any]] = []
    for kind in KINDS.values():
        features, _next = list_assets(
            session, kind, code_prefix=code_prefix, limit=limit, actor=actor
        )
        for feature in features:
            feature["properties"]["asset"] = kind.name
        found.extend(features)
    found.sort(
        key=lambda f: (
            f["properties"]["code"] != code_prefix,
            len(f["properties"]["code"]),
            f["properties"]["code"],
        )
    )
    return found[:limit]


def is_visible(session: Session, model: type[Any], code: str, *, actor: Actor) -> bool:
    """Whether the asset of ``model`` with this code exists inside the caller's territory
    (for an unrestricted caller: whether it exists)."""
    found = session.scalar(select(model.id).where(model.code == code, visible(actor, model)))
    return found is not None


def service_point_code(session: Session, reference: str) -> str | None:
    """The code of the service point ``reference`` designates: the one with that code, else
    (a reference of digits only, and no service point has it as code) the one with that
    database id. None when neither exists."""
    if session.execute(
        text("SELECT 1 FROM gis_service_point WHERE code = :c"), {"c": reference}
    ).first():
        return reference
    if not reference.isascii() or not reference.isdigit() or int(reference) > 2**63 - 1:
        return None
    return session.execute(
        text("SELECT code FROM gis_service_point WHERE id = :id"), {"id": int(reference)}
    ).scalar()
