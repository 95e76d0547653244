"""Export one feeder as GeoJSON (RFC 7946) or GeoPackage in EPSG:4326, with the same kinds
and properties the importer reads, so that export -> import keeps every code and count.

A feeder's assets are those its import (or the generator) brought (``home_feeder_id``),
plus, for assets with no home, those the trace assigns to it now.

Territory (``core.territory``): staff bound to a territory get 404 for a feeder they may
not see (none of its lines crosses their territory), and for a feeder crossing it the part
inside only: the assets each model's rule places inside, and the feeder head without its
position when the head lies outside. Such a file says so (``territory_limited: true`` in
the GeoJSON; the route also sets a header). It stays importable, by its own agency."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from core.context import Actor
from core.territory import rule_sql, scope_of
from gis.catalogue import is_visible
from gis.errors import FeederNotFoundError, NetworkFormatUnsupportedError
from gis.io.kinds import SERVICE_POINT_FILE_KIND
from gis.models import Feeder, LineSegment, NetworkNode, PowerTransformer, ServicePoint, Switch

EXPORT_FORMATS = {"geojson": "application/geo+json", "gpkg": "application/geopackage+sqlite3"}

_MINE = "(x.home_feeder_id = :f OR (x.home_feeder_id IS NULL AND x.feeder_id = :f))"
_GEOM = "ST_AsGeoJSON(x.geom, 9)::jsonb"

_QUERIES = {
    "segment": f"""
        SELECT x.code, x.kind, x.voltage_level, x.conductor, x.phases, x.length_m,
               x.location_precision, x.attributes, a.code AS bus1, b.code AS bus2, {_GEOM} AS g
        FROM gis_line_segment x JOIN gis_network_node a ON a.id = x.from_node_id
        JOIN gis_network_node b ON b.id = x.to_node_id WHERE {_MINE} {{inside}} ORDER BY x.code""",
    "switch": f"""
        SELECT x.code, x.kind, x.is_open, x.normal_open, x.attributes,
               a.code AS bus1, b.code AS bus2, {_GEOM} AS g
        FROM gis_switch x JOIN gis_network_node a ON a.id = x.from_node_id
        JOIN gis_network_node b ON b.id = x.to_node_id WHERE {_MINE} {{inside}} ORDER BY x.code""",
    "transformer": f"""
        SELECT x.code, x.rated_kva, x.phases, x.primary_kv, x.secondary_kv,
               x.location_precision, x.attributes, a.code AS hv_bus, b.code AS lv_bus,
               {_GEOM} AS g
        FROM gis_power_transformer x JOIN gis_network_node a ON a.id = x.hv_node_id
        JOIN gis_network_node b ON b.id = x.lv_node_id WHERE {_MINE} {{inside}} ORDER BY x.code""",
    "service_point": f"""
        SELECT x.code, x.kind, x.location_precision, x.attributes, n.code AS bus, {_GEOM} AS g
        FROM gis_service_point x JOIN gis_network_node n ON n.id = x.node_id
        WHERE {_MINE} {{inside}} ORDER BY x.code""",
}
_MODELS: dict[str, type[Any]] = {
    "segment": LineSegment,
    "switch": Switch,
    "transformer": PowerTransformer,
    "service_point": ServicePoint,
}


def _rows(session: Session, asset: str, actor: Actor, feeder_id: int) -> Any:
    """The feeder's assets of one kind that ``actor`` may see."""
    inside = rule_sql(actor, _MODELS[asset])
    sql = _QUERIES[asset].format(inside=f"AND {inside}" if inside else "")
    return session.execute(text(sql), {"f": feeder_id})


def _feature(geometry: Any, props: dict[str, Any], attributes: dict[str, Any]) -> dict[str, Any]:
    merged = {**(attributes or {}), **{k: v for k, v in props.items() if v is not None}}
    return {"type": "Feature", "geometry": geometry, "properties": merged}


def _segment_kind(row: Any) -> tuple[str, dict[str, Any]]:
    if row.kind == "regulator":
        return "voltage_regulator", {}
    if row.kind == "service_drop":
        return "service_drop", {}
    extra = {"construction": row.kind} if row.kind in ("overhead", "underground") else {}
    return ("mv_segment" if row.voltage_level == "mv" else "lv_segment"), extra


def feeder_features(session: Session, code: str, *, actor: Actor) -> list[dict[str, Any]]:
    """The feeder's features that ``actor`` may see (see module doc); 404 for a feeder the
    caller may not see at all."""
    if not is_visible(session, Feeder, code, actor=actor):
        raise FeederNotFoundError(f"no feeder with code {code!r}")
    head_inside = rule_sql(actor, NetworkNode, alias="n") or "true"
    feeder = session.execute(
        text(
            "SELECT f.id, f.code, f.name, f.nominal_kv, f.attributes, n.code AS bus, "
            f"CASE WHEN {head_inside} THEN ST_AsGeoJSON(n.geom, 9)::jsonb END AS g "
            "FROM gis_feeder f "
            "LEFT JOIN gis_network_node n ON n.id = f.head_node_id WHERE f.code = :code"
        ),
        {"code": code},
    ).first()
    if feeder is None:
        raise FeederNotFoundError(f"no feeder with code {code!r}")
    features = [
        _feature(
            feeder.g,
            {
                "kind": "feeder_head",
                "code": feeder.code,
                "bus": feeder.bus,
                "feeder_name": feeder.name or None,
                "nominal_kv": feeder.nominal_kv,
            },
            feeder.attributes,
        )
    ]
    for row in _rows(session, "segment", actor, feeder.id):
        kind, extra = _segment_kind(row)
        features.append(
            _feature(
                row.g,
                {
                    "kind": kind,
                    "code": row.code,
                    "bus1": row.bus1,
                    "bus2": row.bus2,
                    "phases": row.phases,
                    "conductor": row.conductor,
                    "length_m": row.length_m,
                    "location_precision": row.location_precision,
                    **extra,
                },
                row.attributes,
            )
        )
    for row in _rows(session, "switch", actor, feeder.id):
        features.append(
            _feature(
                row.g,
                {
                    "kind": "switch",
                    "code": row.code,
                    "bus1": row.bus1,
                    "bus2": row.bus2,
                    "is_open": row.is_open,
                    "normal_open": row.normal_open,
                    "switch_kind": row.kind,
                },
                row.attributes,
            )
        )
    for row in _rows(session, "transformer", actor, feeder.id):
        features.append(
            _feature(
                row.g,
                {
                    "kind": "distribution_transformer",
                    "code": row.code,
                    "hv_bus": row.hv_bus,
                    "lv_bus": row.lv_bus,
                    "kva": row.rated_kva,
                    "phases": row.phases,
                    "kv_hv": row.primary_kv,
                    "kv_lv": row.secondary_kv,
                    "location_precision": row.location_precision,
                },
                row.attributes,
            )
        )
    for row in _rows(session, "service_point", actor, feeder.id):
        features.append(
            _feature(
                row.g,
                {
                    "kind": SERVICE_POINT_FILE_KIND.get(row.kind, row.kind),
                    "code": row.code,
                    "bus": row.bus,
                    "location_precision": row.location_precision,
                },
                row.attributes,
            )
        )
    return features


def _gpkg(features: list[dict[str, Any]], layer: str) -> bytes:
    import geopandas as gpd
    from shapely.geometry import shape

    rows = []
    for feature in features:
        props = {
            k: (json.dumps(v) if isinstance(v, (dict, list)) else None if v is None else str(v))
            for k, v in feature["properties"].items()
        }
        rows.append(props)
    geoms = [shape(f["geometry"]) if f["geometry"] else None for f in features]
    frame = gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326")
    with tempfile.TemporaryDirectory(prefix="kw-export-") as tmp:
        path = Path(tmp) / f"{layer}.gpkg"
        frame.to_file(path, layer=layer, driver="GPKG", engine="pyogrio", geometry_type="Unknown")
        return path.read_bytes()


def export_feeder(session: Session, *, actor: Actor, code: str, format: str) -> bytes:
    """The feeder's file bytes (``format``: geojson | gpkg), limited to what ``actor`` may
    see (see module doc)."""
    if format not in EXPORT_FORMATS:
        raise NetworkFormatUnsupportedError(
            f"unknown export format {format!r}: expected {', '.join(EXPORT_FORMATS)}"
        )
    features = feeder_features(session, code, actor=actor)
    if format == "gpkg":
        return _gpkg(features, code)
    collection: dict[str, Any] = {"type": "FeatureCollection", "name": code}
    if scope_of(actor) is not None:
        collection["territory_limited"] = True
    collection["features"] = features
    return json.dumps(collection, separators=(",", ":"), default=str).encode()
