"""Hand-made networks whose traces are known by heart, written as GeoJSON files.

Feeder F1 (head h1) and feeder F2 (head h2), MV positions surveyed, LV ones derived::

    h1 --m1-- a --m2-- b --S1-- c --m3-- d          h2 --m5-- g
              |        |                 |                    :
              m4       T1                T2         g ..S3 (open).. c
              |        |                 |
              e        bl --l1-- x1 --l2-- x2       dl --l3-- y1
              |                                     |
              T3       SP B1 at x1, B2 at x2        SP D2 at dl, D1 at y1
              |
              el --l4-- z1     SP E1 at z1

Opening S1 de-energises exactly D1 and D2 (and T2); closing the tie S3 then feeds them
from F2.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

MV = {
    "h1": (2.40, 6.40),
    "a": (2.41, 6.40),
    "b": (2.42, 6.40),
    "c": (2.43, 6.40),
    "d": (2.44, 6.40),
    "e": (2.41, 6.39),
    "h2": (2.45, 6.42),
    "g": (2.44, 6.41),
}


def feature(kind: str, geometry: dict[str, Any] | None = None, **props: Any) -> dict[str, Any]:
    return {"type": "Feature", "geometry": geometry, "properties": {"kind": kind, **props}}


def point(xy: tuple[float, float]) -> dict[str, Any]:
    return {"type": "Point", "coordinates": list(xy)}


def line(a: str, b: str) -> dict[str, Any]:
    return {"type": "LineString", "coordinates": [list(MV[a]), list(MV[b])]}


def mv(code: str, a: str, b: str) -> dict[str, Any]:
    return feature("mv_segment", line(a, b), code=code, bus1=a, bus2=b, phases=3)


def lv(code: str, a: str, b: str, kind: str = "lv_segment") -> dict[str, Any]:
    return feature(kind, None, code=code, bus1=a, bus2=b, phases=3)


def transformer(code: str, hv: str, lv_bus: str, kva: float = 100) -> dict[str, Any]:
    return feature(
        "distribution_transformer",
        point(MV[hv]),
        code=code,
        hv_bus=hv,
        lv_bus=lv_bus,
        kva=kva,
        phases=3,
        kv_hv=13.8,
        kv_lv=0.22,
    )


def consumer(code: str, bus: str) -> dict[str, Any]:
    return feature("lv_consumer_unit", None, code=code, bus=bus, phases=1, kw_avg=0.5)


def small_network(prefix: str = "") -> list[dict[str, Any]]:
    """The two-feeder network drawn in the module doc; codes get ``prefix``."""
    p = prefix
    return [
        feature("feeder_head", point(MV["h1"]), code=f"{p}F1", bus="h1", nominal_kv=13.8),
        feature("feeder_head", point(MV["h2"]), code=f"{p}F2", bus="h2", nominal_kv=13.8),
        mv(f"{p}m1", "h1", "a"),
        mv(f"{p}m2", "a", "b"),
        mv(f"{p}m3", "c", "d"),
        mv(f"{p}m4", "a", "e"),
        mv(f"{p}m5", "h2", "g"),
        feature(
            "switch",
            point(MV["b"]),
            code=f"{p}S1",
            bus1="b",
            bus2="c",
            enabled_closed=True,
            device="Chave Faca",
        ),
        feature(
            "switch",
            point(MV["g"]),
            code=f"{p}S3",
            bus1="g",
            bus2="c",
            enabled_closed=False,
            device="Religador",
        ),
        transformer(f"{p}T1", "b", "bl"),
        transformer(f"{p}T2", "d", "dl"),
        transformer(f"{p}T3", "e", "el"),
        lv(f"{p}l1", "bl", "x1"),
        lv(f"{p}l2", "x1", "x2"),
        lv(f"{p}l3", "dl", "y1"),
        lv(f"{p}l4", "el", "z1"),
        consumer(f"{p}B1", "x1"),
        consumer(f"{p}B2", "x2"),
        consumer(f"{p}D1", "y1"),
        consumer(f"{p}D2", "dl"),
        consumer(f"{p}E1", "z1"),
    ]


def with_buses_prefixed(features: list[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    """Same network on other node codes (so it can sit beside another copy)."""
    out = []
    for f in features:
        props = dict(f["properties"])
        for key in ("bus", "bus1", "bus2", "hv_bus", "lv_bus"):
            if key in props:
                props[key] = prefix + props[key]
        out.append({**f, "properties": props})
    return out


def write(path: Path, features: list[dict[str, Any]], **extra: Any) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features, **extra}))
    return path
