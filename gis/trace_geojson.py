"""A trace result as an RFC 7946 FeatureCollection (EPSG:4326 geometry, one query per
asset table), with the counts a trace reports.

For staff bound to a territory the trace is first limited to the assets they may see
(``within_territory``, each model's ``__territory__`` rule): features and counts are then
those of what the caller sees, and ``territory_limited`` says so."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from core.context import Actor
from core.territory import scope_of, visible
from gis.models import Feeder, LineSegment, NetworkNode, PowerTransformer, ServicePoint, Switch
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


_MODEL_OF_RESULT: dict[str, type[Any]] = {
    "node_ids": NetworkNode,
    "segment_ids": LineSegment,
    "switch_ids": Switch,
    "transformer_ids": PowerTransformer,
    "service_point_ids": ServicePoint,
    "open_switch_ids": Switch,
}


def within_territory(session: Session, result: TraceResult, actor: Actor) -> TraceResult:
    """The part of ``result`` that ``actor`` may see (ids stay sorted)."""
    limited: dict[str, np.ndarray] = {}
    for name, model in _MODEL_OF_RESULT.items():
        ids = getattr(result, name)
        if not len(ids):
            continue
        inside = session.scalars(
            select(model.id)
            .where(model.id.in_(ids.tolist()), visible(actor, model))
            .order_by(model.id)
        ).all()
        limited[name] = np.asarray(inside, dtype=np.int64)
    return replace(result, **limited)


def trace_feature_collection(
    session: Session, result: TraceResult, about: dict[str, Any], *, actor: Actor
) -> dict[str, Any]:
    """The part of ``result`` that ``actor`` sees, as a FeatureCollection with counts."""
    limited = scope_of(actor) is not None
    if limited:
        result = within_territory(session, result, actor)
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
        feeder = session.scalar(
            select(Feeder.code).where(Feeder.id == result.feeder_id, visible(actor, Feeder))
        )
    counts = result.counts
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
