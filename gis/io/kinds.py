"""The mapping between file kinds (``properties.kind`` in GeoJSON / GeoPackage, the same
vocabulary the OpenDSS reader produces) and the network model. Documented in gis/README.md.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from gis.enums import SegmentKind, ServicePointKind, SwitchKind, VoltageLevel


@dataclass(frozen=True)
class KindSpec:
    table: str  # feeder | node | segment | switch | transformer | service_point
    buses: tuple[str, ...]  # properties naming nodes, in model order (from, to)
    required: tuple[str, ...]  # other properties that must be present
    geometries: tuple[str, ...]  # accepted geometry types (null is accepted too)
    model_kind: str | None = None
    voltage_level: str | None = None


_EDGE = ("bus1", "bus2")
_LINE = ("LineString",)
_POINT = ("Point",)
_SP_REQUIRED = ("bus",)

KINDS: dict[str, KindSpec] = {
    "feeder_head": KindSpec("feeder", ("bus",), (), _POINT),
    "node": KindSpec("node", (), (), _POINT),
    "mv_segment": KindSpec("segment", _EDGE, (), _LINE, SegmentKind.UNKNOWN, VoltageLevel.MV),
    "lv_segment": KindSpec("segment", _EDGE, (), _LINE, SegmentKind.UNKNOWN, VoltageLevel.LV),
    "service_drop": KindSpec(
        "segment", _EDGE, (), _LINE, SegmentKind.SERVICE_DROP, VoltageLevel.LV
    ),
    "voltage_regulator": KindSpec(
        "segment", _EDGE, (), (*_POINT, *_LINE), SegmentKind.REGULATOR, VoltageLevel.MV
    ),
    "switch": KindSpec("switch", _EDGE, (), (*_POINT, *_LINE)),
    "distribution_transformer": KindSpec("transformer", ("hv_bus", "lv_bus"), ("kva",), _POINT),
    "lv_consumer_unit": KindSpec(
        "service_point", (), _SP_REQUIRED, _POINT, ServicePointKind.CONNECTION
    ),
    "mv_consumer_unit": KindSpec(
        "service_point", (), _SP_REQUIRED, _POINT, ServicePointKind.MV_CONNECTION
    ),
    "public_lighting": KindSpec(
        "service_point", (), _SP_REQUIRED, _POINT, ServicePointKind.PUBLIC_LIGHTING
    ),
    "pv_system": KindSpec("service_point", (), _SP_REQUIRED, _POINT, ServicePointKind.GENERATION),
    "pole": KindSpec("service_point", (), _SP_REQUIRED, _POINT, ServicePointKind.POLE),
    "cabinet": KindSpec("service_point", (), _SP_REQUIRED, _POINT, ServicePointKind.CABINET),
}

# Export: model kind -> file kind.
SERVICE_POINT_FILE_KIND = {
    spec.model_kind: kind for kind, spec in KINDS.items() if spec.table == "service_point"
}

# Properties that are not kept in ``attributes`` (they are columns, or structure).
STRUCTURAL = frozenset(
    {
        "kind",
        "code",
        "name",
        "bus",
        "bus1",
        "bus2",
        "hv_bus",
        "lv_bus",
        "location_precision",
        "geometry",
        "id",
    }
)


def bus_properties(kind: str) -> tuple[str, ...]:
    spec = KINDS[kind]
    return ("bus",) if spec.table == "service_point" else spec.buses


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def switch_kind_from(device: Any) -> str:
    """The kind of switch from a free-text device description (BDGD: ``unid=22=Chave
    Fusivel``), or a SwitchKind value given as such."""
    if device is None:
        return SwitchKind.DISCONNECTOR
    folded = _fold(str(device))
    if folded in {k.value for k in SwitchKind}:
        return folded
    for words, kind in (
        (("fusivel", "fuse"), SwitchKind.FUSE),
        (("religador", "recloser"), SwitchKind.RECLOSER),
        (("disjuntor", "breaker"), SwitchKind.BREAKER),
        (("carga", "oleo", "seccionalizador", "load"), SwitchKind.LOAD_BREAK),
    ):
        if any(w in folded for w in words):
            return kind
    return SwitchKind.DISCONNECTOR
