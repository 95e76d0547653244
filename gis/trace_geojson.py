"""A trace result as an RFC 7946 FeatureCollection (EPSG:4326 geometry, one query per
asset table), with the counts a trace reports."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.topology import TraceResult

_FEATURE_SQL = {
    "segment": """SELECT id, ST_AsGeoJSON(geom, 7)::jsonb AS g, jsonb_build_object(
        'asset', 'segment', 'code', code, 'voltage_level', voltage_level, 'kind', kind,
        'length_m', length_m, 'location_precision', location_precision) AS p
        FROM gis_line_segment WHERE id = ANY(:ids) ORDER BY id""",
    "switch": """SELECT id, ST_AsGeoJSON(geom, 7)::jsonb AS g, jsonb_build_object(
        'asset', 'switch', 'code', code, 'kind', kind, 'is_open', is_open,
        'normal_open', normal_open) AS p FROM gis_switch WHERE id = ANY(:ids) ORDER BY id""",
    "transformer": """SELECT id, ST_AsGeoJSON(geom, 7)::jsonb AS g, jsonb_build_object(
        'asset', 'transformer', 'code', code, 'rated_kva', rated_kva, 'phases', phases,
        'location_precision', location_precision) AS p
        FROM gis_power_transformer WHERE id = ANY(:ids) ORDER BY id""",
    "service_point": """SELECT id, ST_AsGeoJSON(geom, 7)::jsonb AS g, jsonb_build_object(
        'asset', 'service_point', 'code', code, 'kind', kind,
        'location_precision', location_precision) AS p
        FROM gis_service_point WHERE id = ANY(:ids) ORDER BY id""",
}


def trace_feature_collection(
    session: Session, result: TraceResult, about: dict[str, Any]
) -> dict[str, Any]:
    features: list[dict[str, Any]] = []
    groups = (("segment", result.segment_ids, False), ("switch", result.switch_ids, False),
              ("switch", result.open_switch_ids, True),
              ("transformer", result.transformer_ids, False),
              ("service_point", result.service_point_ids, False))  # fmt: skip
    for asset, ids, stops in groups:
        if not len(ids):
            continue
        for row in session.execute(text(_FEATURE_SQL[asset]), {"ids": ids.tolist()}):
            props = dict(row.p)
            if stops:
                props["stops_trace"] = True
            features.append({"type": "Feature", "id": f"{asset}:{row.id}",
                             "geometry": row.g, "properties": props})  # fmt: skip
    feeder = None
    if result.feeder_id is not None:
        feeder = session.execute(
            text("SELECT code FROM gis_feeder WHERE id = :id"), {"id": result.feeder_id}
        ).scalar()
    counts = result.counts
    properties = {**about, "direction": result.direction, "feeder": feeder, "counts": counts}
    return {"type": "FeatureCollection", "features": features, "properties": properties,
            "counts": counts}  # fmt: skip
