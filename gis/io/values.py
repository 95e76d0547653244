"""Turn one file record's properties into model values, naming what is wrong."""

from __future__ import annotations

import math
from typing import Any

import shapely
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from gis.enums import LocationPrecision, SegmentKind
from gis.io.bundle import Bundle, Record, clean
from gis.io.kinds import KINDS, STRUCTURAL, bus_properties, switch_kind_from


class BadValue(ValueError):
    pass


def number(props: dict[str, Any], *names: str, required: bool = False) -> float | None:
    for name in names:
        value = clean(props.get(name))
        if value is None:
            continue
        try:
            result = float(value)
        except (TypeError, ValueError):
            raise BadValue(f"property {name!r} is not a number: {value!r}") from None
        if not math.isfinite(result):
            raise BadValue(f"property {name!r} is not a finite number")
        return result
    if required:
        raise BadValue(f"missing property {names[0]!r}")
    return None


def integer(props: dict[str, Any], *names: str) -> int | None:
    value = number(props, *names)
    return None if value is None else int(value)


def flag(props: dict[str, Any], name: str) -> bool | None:
    value = clean(props.get(name))
    if value is None:
        return None
    if isinstance(value, str):
        folded = value.strip().lower()
        if folded in {"true", "t", "yes", "y", "1"}:
            return True
        if folded in {"false", "f", "no", "n", "0"}:
            return False
        raise BadValue(f"property {name!r} is not a boolean: {value!r}")
    return bool(value)


def _geometry(bundle: Bundle, kind: str, ref: str, geom: BaseGeometry | None) -> Any:
    """Check a geometry (already in EPSG:4326); returns it, None, or False when bad."""
    spec = KINDS[kind]
    if geom is None or geom.is_empty:
        return None
    if geom.geom_type not in spec.geometries:
        bundle.problem(
            kind,
            ref,
            f"geometry must be {' or '.join(spec.geometries)}, not {geom.geom_type}",
            "invalid_geometry",
        )
        return False
    coords = shapely.get_coordinates(geom)
    if not math.isfinite(float(coords.sum())):
        bundle.problem(kind, ref, "geometry has non-finite coordinates", "invalid_geometry")
        return False
    if (abs(coords[:, 0]) > 180).any() or (abs(coords[:, 1]) > 90).any():
        bundle.problem(
            kind,
            ref,
            "geometry is outside lon/lat bounds once in EPSG:4326 (wrong CRS?)",
            "invalid_geometry",
        )
        return False
    if spec.table in {"switch"} or kind == "voltage_regulator":
        # Devices are points; BDGD draws them as zero-length lines.
        return Point(coords[0])
    if geom.geom_type == "LineString" and len({tuple(c) for c in coords.tolist()}) < 2:
        bundle.warnings.append(f"{kind}:{ref}: zero-length line, its geometry is derived")
        return None
    if not geom.is_valid:
        bundle.problem(
            kind, ref, f"invalid geometry: {shapely.is_valid_reason(geom)}", "invalid_geometry"
        )
        return False
    return geom


def record_from(
    bundle: Bundle, index: int, props: dict[str, Any], geom: BaseGeometry | None
) -> Record | None:
    """A Record from a GeoJSON-like feature, or None (problems added to ``bundle``)."""
    kind = clean(props.get("kind"))
    code = clean(props.get("code"))
    if code is None:
        code = clean(props.get("name"))
    ref = f"#{index}" if code is None else str(code)
    if kind is None:
        bundle.problem("unknown", ref, "missing property 'kind'", "missing_property")
        return None
    kind = str(kind)
    if kind not in KINDS:
        bundle.problem(kind, ref, f"unknown kind {kind!r}", "unknown_kind")
        return None
    spec = KINDS[kind]
    ok = True
    if code is None:
        bundle.problem(kind, ref, "missing property 'code' (or 'name')", "missing_property")
        ok = False
    buses: list[str] = []
    for name in bus_properties(kind):
        bus = clean(props.get(name))
        if bus is None:
            bundle.problem(kind, ref, f"missing property {name!r}", "missing_property")
            ok = False
        else:
            buses.append(str(bus).strip().lower())  # bus names are case-insensitive
    for name in spec.required:
        if clean(props.get(name)) is None:
            bundle.problem(kind, ref, f"missing property {name!r}", "missing_property")
            ok = False
    if len(buses) == 2 and buses[0] == buses[1]:
        bundle.problem(kind, ref, f"connects node {buses[0]!r} to itself", "invalid_topology")
        ok = False
    checked = _geometry(bundle, kind, ref, geom)
    if checked is False or not ok:
        return None
    try:
        values = _values(kind, props)
    except BadValue as exc:
        bundle.problem(kind, ref, str(exc), "invalid_value")
        return None
    precision = clean(props.get("location_precision"))
    if precision not in (None, *[p.value for p in LocationPrecision]):
        precision = None
    used = STRUCTURAL | set(values.pop("_used", ()))
    attributes = {k: clean(v) for k, v in props.items() if k not in used}
    return Record(
        kind=kind,
        code=str(code),
        ref=ref,
        buses=tuple(buses),
        geom=checked,
        precision=precision,
        values=values,
        attributes={k: v for k, v in attributes.items() if v is not None},
    )


def _values(kind: str, props: dict[str, Any]) -> dict[str, Any]:
    spec = KINDS[kind]
    if spec.table == "feeder":
        return {
            "name": clean(props.get("feeder_name")) or "",
            "nominal_kv": number(props, "nominal_kv", "kv"),
            "_used": ("feeder_name", "nominal_kv", "kv"),
        }
    if spec.table == "segment":
        length_m = number(props, "length_m")
        if length_m is None:
            km = number(props, "length_km")
            length_m = None if km is None else km * 1000.0
        construction = clean(props.get("construction"))
        seg_kind = spec.model_kind
        if construction in (SegmentKind.OVERHEAD, SegmentKind.UNDERGROUND):
            seg_kind = construction
        return {
            "kind": seg_kind,
            "voltage_level": spec.voltage_level,
            "phases": integer(props, "phases"),
            "conductor": clean(props.get("conductor")) or clean(props.get("linecode")),
            "length_m": length_m,
            "_used": ("phases", "conductor", "linecode", "length_m", "length_km", "construction"),
        }
    if spec.table == "switch":
        is_open = flag(props, "is_open")
        if is_open is None:
            closed = flag(props, "enabled_closed")
            is_open = False if closed is None else not closed
        normal_open = flag(props, "normal_open")
        device = clean(props.get("switch_kind")) or clean(props.get("device"))
        return {
            "is_open": is_open,
            "normal_open": is_open if normal_open is None else normal_open,
            "kind": switch_kind_from(device),
            "_used": ("is_open", "enabled_closed", "normal_open", "switch_kind", "is_switch"),
        }
    if spec.table == "transformer":
        return {
            "rated_kva": number(props, "kva", required=True),
            "phases": integer(props, "phases") or 3,
            "primary_kv": number(props, "kv_hv"),
            "secondary_kv": number(props, "kv_lv"),
            "_used": ("kva", "phases", "kv_hv", "kv_lv"),
        }
    if spec.table == "service_point":
        return {"kind": spec.model_kind}
    return {}
