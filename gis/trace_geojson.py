"""A trace result as an RFC 7946 FeatureCollection (EPSG:4326 geometry, one query per
asset table), with the counts a trace reports.

For staff whose agency has a territory the trace is first limited to the assets inside it
(``within_territory``): features and counts are then those of what the caller sees, and
``territory_limited`` says so."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
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


_TABLE_OF_RESULT = {
    "node_ids": "gis_network_node",
    "segment_ids": "gis_line_segment",
    "switch_ids": "gis_switch",
    "transformer_ids": "gis_power_transformer",
    "service_point_ids": "gis_service_point",
    "open_switch_ids": "gis_switch",
}
_INSIDE_SQL = """SELECT coalesce(array_agg(x.id ORDER BY x.id), '{{}}') FROM {table} x
    WHERE x.id = ANY(:ids) AND ST_Intersects(x.geom,
        (SELECT a.territory FROM core_agency a WHERE a.id = :agency))"""


def within_territory(session: Session, result: TraceResult, agency_id: int) -> TraceResult:
    """The part of ``result`` inside agency ``agency_id``'s territory (ids stay sorted)."""
    limited: dict[str, np.ndarray] = {}
    for name, table in _TABLE_OF_RESULT.items():
        ids = getattr(result, name)
        if not len(ids):
            continue
        inside = session.execute(
            text(_INSIDE_SQL.format(table=table)), {"ids": ids.tolist(), "agency": agency_id}
        ).scalar_one()
        limited[name] = np.asarray(inside, dtype=np.int64)
    return replace(result, **limited)


def trace_feature_collection(
    session: Session, result: TraceResult, about: dict[str, Any], *, agency_id: int | None = None
) -> dict[str, Any]:
    """``agency_id``: the territory-limiting agency (``catalogue.territory_agency``), or
    None for a caller who sees the whole network."""
    if agency_id is not None:
        result = within_territory(session, result, agency_id)
    features: list[dict[str, Any]] = []
    groups = (
        ("segment", result.segment_ids, False),
        ("switch", result.switch_ids, False),
        ("switch", result.open_switch_ids, True),
        ("transformer", result.transformer_ids, False),
        ("service_point", result.service_point_ids, False),
    )
    for asset, ids, stops in groups:
        if not len(ids):
            continue
        for row in session.execute(text(_FEATURE_SQL[asset]), {"ids": ids.tolist()}):
            props = dict(row.p)
            if stops:
                props["stops_trace"] = True
            features.append(
                {
                    "type": "Feature",
                    "id": f"{asset}:{row.id}",
                    "geometry": row.g,
                    "properties": props,
                }
            )
    feeder = None
    if result.feeder_id is not None:
        feeder = session.execute(
            text("SELECT code FROM gis_feeder WHERE id = :id"), {"id": result.feeder_id}
        ).scalar()
    counts = result.counts
    limited = agency_id is not None
    properties = {
        **about,
        "direction": result.direction,
        "feeder": feeder,
        "counts": counts,
        "territory_limited": limited,
    }
    return {
        "type": "FeatureCollection",
        "features": features,
        "properties": properties,
        "counts": counts,
        "territory_limited": limited,
    }
