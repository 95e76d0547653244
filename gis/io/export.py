"""Export one feeder as GeoJSON (RFC 7946) or GeoPackage in EPSG:4326, with the same kinds
and properties the importer reads, so that export -> import keeps every code and count.

A feeder's assets are those its import (or the generator) brought (``home_feeder_id``),
plus, for assets with no home, those the trace assigns to it now."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.errors import FeederNotFoundError, NetworkFormatUnsupportedError
from gis.io.kinds import SERVICE_POINT_FILE_KIND

EXPORT_FORMATS = {"geojson": "application/geo+json", "gpkg": "application/geopackage+sqlite3"}

_MINE = "(x.home_feeder_id = :f OR (x.home_feeder_id IS NULL AND x.feeder_id = :f))"
_GEOM = "ST_AsGeoJSON(x.geom, 9)::jsonb"

_QUERIES = {
    "segment": f"""
        SELECT x.code, x.kind, x.voltage_level, x.conductor, x.phases, x.length_m,
               x.location_precision, x.attributes, a.code AS bus1, b.code AS bus2, {_GEOM} AS g
        FROM gis_line_segment x JOIN gis_network_node a ON a.id = x.from_node_id
        JOIN gis_network_node b ON b.id = x.to_node_id WHERE {_MINE} ORDER BY x.code""",
    "switch": f"""
        SELECT x.code, x.kind, x.is_open, x.normal_open, x.attributes,
               a.code AS bus1, b.code AS bus2, {_GEOM} AS g
        FROM gis_switch x JOIN gis_network_node a ON a.id = x.from_node_id
        JOIN gis_network_node b ON b.id = x.to_node_id WHERE {_MINE} ORDER BY x.code""",
    "transformer": f"""
        SELECT x.code, x.rated_kva, x.phases, x.primary_kv, x.secondary_kv,
               x.location_precision, x.attributes, a.code AS hv_bus, b.code AS lv_bus,
               {_GEOM} AS g
        FROM gis_power_transformer x JOIN gis_network_node a ON a.id = x.hv_node_id
        JOIN gis_network_node b ON b.id = x.lv_node_id WHERE {_MINE} ORDER BY x.code""",
    "service_point": f"""
        SELECT x.code, x.kind, x.location_precision, x.attributes, n.code AS bus, {_GEOM} AS g
        FROM gis_service_point x JOIN gis_network_node n ON n.id = x.node_id
        WHERE {_MINE} ORDER BY x.code""",
}


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


def feeder_features(session: Session, code: str) -> list[dict[str, Any]]:
    feeder = session.execute(
        text(
            "SELECT f.id, f.code, f.name, f.nominal_kv, f.attributes, n.code AS bus, "
            "ST_AsGeoJSON(n.geom, 9)::jsonb AS g FROM gis_feeder f "
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
    params = {"f": feeder.id}
    for row in session.execute(text(_QUERIES["segment"]), params):
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
    for row in session.execute(text(_QUERIES["switch"]), params):
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
    for row in session.execute(text(_QUERIES["transformer"]), params):
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
    for row in session.execute(text(_QUERIES["service_point"]), params):
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


def export_feeder(session: Session, *, code: str, format: str) -> bytes:
    """The feeder's file bytes (``format``: geojson | gpkg)."""
    if format not in EXPORT_FORMATS:
        raise NetworkFormatUnsupportedError(
            f"unknown export format {format!r}: expected {', '.join(EXPORT_FORMATS)}"
        )
    features = feeder_features(session, code)
    if format == "gpkg":
        return _gpkg(features, code)
    collection = {"type": "FeatureCollection", "name": code, "features": features}
    return json.dumps(collection, separators=(",", ":"), default=str).encode()
