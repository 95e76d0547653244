"""Write a ``NetworkPlan`` with PostgreSQL COPY (psycopg 3), inside the caller's transaction.

Ids are reserved up front from each table's sequence, so foreign keys are known before a
row is sent and every table goes in with a single COPY. Geometry travels as hex EWKB in
EPSG:4326, transformed from the projected CRS with pyproj.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer
from sqlalchemy import text
from sqlalchemy.orm import Session

from core.bulk import TEXT_NULL, copy_columns, reserve_block
from gis.enums import LocationPrecision, ServicePointKind, VoltageLevel
from gis.generator.layout import CATEGORIES
from gis.generator.plan import SWITCH_KINDS, NetworkPlan, Progress

MV_KV, LV_KV, HV_KV = 20.0, 0.4, 63.0

# Parents before children: foreign keys are checked row by row during COPY.
TABLES = (
    "gis_substation",
    "gis_feeder",
    "gis_network_node",
    "gis_power_transformer",
    "gis_line_segment",
    "gis_switch",
    "gis_service_point",
)


@dataclass(frozen=True)
class WrittenIds:
    """First id reserved in each table (rows got consecutive ids from there)."""

    first: dict[str, int]


def _reserve_ids(session: Session, counts: dict[str, int]) -> WrittenIds:
    # The generator holds EXCLUSIVE locks on the network tables (readers go on), so nobody
    # else can draw from these sequences meanwhile: each table's ids are one block.
    session.execute(text(f"LOCK TABLE {', '.join(TABLES)} IN EXCLUSIVE MODE"))
    return WrittenIds(
        first={table: reserve_block(session, table, count) for table, count in counts.items()}
    )


def _ints(values: np.ndarray, base: int = 0) -> list[str]:
    """Integer column (negative = NULL) shifted by ``base`` (a table's first id)."""
    values = np.asarray(values, dtype=np.int64)
    out = (values + base).astype(str)
    out[values < 0] = TEXT_NULL
    return out.tolist()


def _floats(values: np.ndarray, decimals: int = 2) -> list[str]:
    return np.round(np.asarray(values, dtype=np.float64), decimals).astype(str).tolist()


def _bools(values: np.ndarray) -> list[str]:
    return np.where(np.asarray(values, dtype=bool), "t", "f").tolist()


def _const(value: str, count: int) -> list[str]:
    return [value] * count


def _codes(prefix: str, count: int, width: int) -> list[str]:
    width = max(width, len(str(count)))
    return [f"{prefix}{i:0{width}d}" for i in range(1, count + 1)]


def _hex(geoms: np.ndarray) -> list[str]:
    return shapely.to_wkb(shapely.set_srid(geoms, 4326), hex=True, include_srid=True).tolist()


def _copy(
    session: Session, table: str, columns: dict[str, Sequence[str]], progress: Progress
) -> int:
    return copy_columns(session, table, columns, progress, f"write {table}")


def write_plan(
    session: Session,
    plan: NetworkPlan,
    *,
    prefix: str,
    projected_crs: str,
    attributes: dict[str, Any],
    progress: Progress,
) -> WrittenIds:
    """COPY every table of ``plan``; codes are ``prefix`` + a letter + a running number.
    Electrical addresses (feeder, transformer) are written as designed: the generator
    knows its trees, so no trace is needed to materialise them."""
    import json

    counts = plan.counts
    ids = _reserve_ids(
        session,
        {
            "gis_substation": counts["substations"],
            "gis_feeder": counts["feeders"],
            "gis_network_node": counts["nodes"],
            "gis_power_transformer": counts["transformers"],
            "gis_line_segment": counts["line_segments"],
            "gis_switch": counts["switches"],
            "gis_service_point": counts["service_points"],
        },
    )
    first = ids.first
    to_wgs84 = Transformer.from_crs(projected_crs, "EPSG:4326", always_xy=True)
    lon, lat = to_wgs84.transform(plan.node_xy[:, 0], plan.node_xy[:, 1])
    node_lonlat = np.column_stack([lon, lat])
    node_points = shapely.points(node_lonlat)
    slon, slat = to_wgs84.transform(plan.substation_xy[:, 0], plan.substation_xy[:, 1])
    feeder_id, node_id = first["gis_feeder"], first["gis_network_node"]
    transformer_id = first["gis_power_transformer"]
    extra = json.dumps(attributes)[1:-1]

    n_sub = counts["substations"]
    _copy(
        session,
        "gis_substation",
        {
            "id": _ints(np.arange(n_sub), first["gis_substation"]),
            "code": _codes(f"{prefix}S", n_sub, 2),
            "name": [f"Substation {i}" for i in range(1, n_sub + 1)],
            "primary_kv": _const(str(HV_KV), n_sub),
            "secondary_kv": _const(str(MV_KV), n_sub),
            "geom": _hex(shapely.points(np.column_stack([slon, slat]))),
        },
        progress,
    )

    n_f = counts["feeders"]
    _copy(
        session,
        "gis_feeder",
        {
            "id": _ints(np.arange(n_f), feeder_id),
            "code": _codes(f"{prefix}F", n_f, 3),
            "name": [f"Feeder {i}" for i in range(1, n_f + 1)],
            "substation_id": _ints(plan.feeder_substation, first["gis_substation"]),
            "nominal_kv": _const(str(MV_KV), n_f),
            "topology_dirty": _const("f", n_f),
            "traced_at": _const("now", n_f),
            "attributes": _const(json.dumps(attributes), n_f),
        },
        progress,
    )

    n_nodes = counts["nodes"]
    _copy(
        session,
        "gis_network_node",
        {
            "id": _ints(np.arange(n_nodes), node_id),
            "code": _codes(f"{prefix}N", n_nodes, 7),
            "geom": _hex(node_points),
            "location_precision": _const(LocationPrecision.SURVEYED.value, n_nodes),
            "feeder_id": _ints(plan.node_feeder, feeder_id),
            "home_feeder_id": _ints(plan.node_feeder, feeder_id),
        },
        progress,
    )
    session.execute(
        text(
            "UPDATE gis_feeder f SET head_node_id = v.head FROM "
            "unnest(CAST(:ids AS bigint[]), CAST(:heads AS bigint[])) AS v(id, head) "
            "WHERE f.id = v.id"
        ),
        {
            "ids": (np.arange(n_f) + feeder_id).tolist(),
            "heads": (plan.feeder_head + node_id).tolist(),
        },
    )

    n_t = counts["transformers"]
    t_attrs = [
        f'{{"design_load_kva": {load:.2f}, "connected_kva": {conn:.1f}, '
        f'"customers": {cust}, {extra}}}'
        for load, conn, cust in zip(
            plan.design_load_kva.tolist(),
            plan.connected_kva.tolist(),
            plan.customers.tolist(),
            strict=True,
        )
    ]
    _copy(
        session,
        "gis_power_transformer",
        {
            "id": _ints(np.arange(n_t), transformer_id),
            "code": _codes(f"{prefix}T", n_t, 5),
            "rated_kva": _floats(plan.rated_kva, 1),
            "phases": _const("3", n_t),
            "primary_kv": _const(str(MV_KV), n_t),
            "secondary_kv": _const(str(LV_KV), n_t),
            "hv_node_id": _ints(plan.transformer_hv, node_id),
            "lv_node_id": _ints(plan.transformer_lv, node_id),
            "geom": _hex(node_points[plan.transformer_hv]),
            "location_precision": _const(LocationPrecision.SURVEYED.value, n_t),
            "feeder_id": _ints(plan.transformer_feeder, feeder_id),
            "home_feeder_id": _ints(plan.transformer_feeder, feeder_id),
            "attributes": t_attrs,
        },
        progress,
    )

    n_l = counts["line_segments"]
    ends = np.stack([node_lonlat[plan.segment_from], node_lonlat[plan.segment_to]], axis=1)
    length = np.linalg.norm(plan.node_xy[plan.segment_to] - plan.node_xy[plan.segment_from], axis=1)
    _copy(
        session,
        "gis_line_segment",
        {
            "id": _ints(np.arange(n_l), first["gis_line_segment"]),
            "code": _codes(f"{prefix}L", n_l, 7),
            "voltage_level": np.where(
                plan.segment_lv, VoltageLevel.LV.value, VoltageLevel.MV.value
            ).tolist(),
            "kind": plan.segment_kind.tolist(),
            "conductor": plan.segment_conductor.tolist(),
            "phases": _const("3", n_l),
            "length_m": _floats(length, 2),
            "from_node_id": _ints(plan.segment_from, node_id),
            "to_node_id": _ints(plan.segment_to, node_id),
            "geom": _hex(shapely.linestrings(ends)),
            "location_precision": _const(LocationPrecision.SURVEYED.value, n_l),
            "feeder_id": _ints(plan.segment_feeder, feeder_id),
            "home_feeder_id": _ints(plan.segment_feeder, feeder_id),
            "transformer_id": _ints(plan.segment_transformer, transformer_id),
        },
        progress,
    )

    n_sw = counts["switches"]
    kinds = np.array([k.value for k in SWITCH_KINDS], dtype=object)
    _copy(
        session,
        "gis_switch",
        {
            "id": _ints(np.arange(n_sw), first["gis_switch"]),
            "code": _codes(f"{prefix}SW", n_sw, 4),
            "kind": kinds[plan.switch_kind].tolist(),
            "from_node_id": _ints(plan.switch_from, node_id),
            "to_node_id": _ints(plan.switch_to, node_id),
            "normal_open": _bools(plan.switch_open),
            "is_open": _bools(plan.switch_open),
            "geom": _hex(node_points[plan.switch_to]),
            "feeder_id": _ints(plan.switch_feeder, feeder_id),
            "home_feeder_id": _ints(plan.switch_feeder, feeder_id),
        },
        progress,
    )

    n_sp = counts["service_points"]
    names = np.array(CATEGORIES, dtype=object)[plan.sp_category].tolist()
    sp_attrs = [
        f'{{"category": "{cat}", "demand_kva": {kva}, {extra}}}'
        for cat, kva in zip(names, plan.sp_demand_kva.tolist(), strict=True)
    ]
    _copy(
        session,
        "gis_service_point",
        {
            "id": _ints(np.arange(n_sp), first["gis_service_point"]),
            "code": _codes(f"{prefix}SP", n_sp, 7),
            "kind": _const(ServicePointKind.CONNECTION.value, n_sp),
            "node_id": _ints(plan.sp_node, node_id),
            "geom": _hex(node_points[plan.sp_node]),
            "location_precision": _const(LocationPrecision.SURVEYED.value, n_sp),
            "feeder_id": _ints(plan.sp_feeder, feeder_id),
            "home_feeder_id": _ints(plan.sp_feeder, feeder_id),
            "transformer_id": _ints(plan.sp_transformer, transformer_id),
            "attributes": sp_attrs,
        },
        progress,
    )
    return ids
