"""Check a bundle's topology, then give every node and asset a position.

Positions from the file are *surveyed*. Nodes without one (BDGD's LV buses) are placed at
the transformer that feeds their LV zone (components of the graph without transformers),
else at a positioned node of their component, else at the feeder head: *derived*. Assets
without a geometry take their node's position; lines without one are drawn between their
nodes' positions (none when both ends coincide).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from pyproj import Geod
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from shapely.geometry import LineString, Point

from gis.enums import LocationPrecision
from gis.io.bundle import Bundle, Record
from gis.io.kinds import KINDS

SURVEYED = LocationPrecision.SURVEYED.value
DERIVED = LocationPrecision.DERIVED.value
_GEOD = Geod(ellps="WGS84")

# A code is unique per table; the feeder head names its feeder.
_TABLE_LABEL = {
    "feeder": "feeder",
    "segment": "segment",
    "switch": "switch",
    "transformer": "transformer",
    "service_point": "service point",
}


@dataclass
class Placed:
    """Node positions (lon, lat, precision) and per-record (geometry, precision)."""

    nodes: dict[str, tuple[float | None, float | None, str]] = field(default_factory=dict)
    derived_nodes: int = 0


def table_of(record: Record) -> str:
    return KINDS[record.kind].table


def check(bundle: Bundle) -> None:
    """Duplicates, a missing feeder head and (when the file lists its nodes) references to
    nodes that do not exist become problems."""
    seen: dict[tuple[str, str], str] = {}
    for record in bundle.records:
        key = (table_of(record), record.code)
        if key in seen:
            bundle.problem(
                record.kind,
                record.ref,
                f"duplicate {_TABLE_LABEL[key[0]]} code {record.code!r} (first at {seen[key]})",
                "duplicate_code",
            )
        else:
            seen[key] = record.ref
    heads = [r for r in bundle.records if r.kind == "feeder_head"]
    if not heads and not bundle.problems:
        bundle.problem(
            "file",
            bundle.source,
            "no feeder_head feature: a file must name the feeder it holds and its head node",
            "missing_feeder",
        )
    if bundle.nodes is not None:
        known = set(bundle.nodes)
        for record in bundle.records:
            for bus in record.buses:
                if bus not in known:
                    bundle.problem(
                        record.kind,
                        record.ref,
                        f"names node {bus!r} that does not exist",
                        "dangling_node",
                    )
        return
    # Implied nodes: the ends of edges. A point asset on a node no edge reaches is kept,
    # isolated (real BDGD files have a few such lighting points): the topology report
    # counts it as an island.
    ends = {
        b
        for r in bundle.records
        if table_of(r) in {"segment", "switch", "transformer"}
        for b in r.buses
    }
    for record in bundle.records:
        if table_of(record) in {"service_point", "feeder"}:
            for bus in record.buses:
                if bus not in ends:
                    bundle.warnings.append(
                        f"{record.kind}:{record.ref}: node {bus!r} is reached by no line: isolated"
                    )


def _surveyed_positions(bundle: Bundle) -> dict[str, tuple[float, float]]:
    pos: dict[str, tuple[float, float]] = {}
    for code, xy in (bundle.nodes or {}).items():
        if xy is not None:
            pos[code] = xy

    def put(bus: str, xy: tuple[float, float]) -> None:
        pos.setdefault(bus, (float(xy[0]), float(xy[1])))

    by_priority = ("feeder", "segment", "switch", "transformer", "service_point")
    for table in by_priority:
        for record in bundle.records:
            if table_of(record) != table or record.geom is None:
                continue
            geom = record.geom
            if isinstance(geom, LineString):
                put(record.buses[0], geom.coords[0])
                put(record.buses[1], geom.coords[-1])
            elif isinstance(geom, Point):
                targets = record.buses[:1] if table == "transformer" else record.buses
                for bus in targets:
                    put(bus, (geom.x, geom.y))
    return pos


def place(bundle: Bundle) -> Placed:
    """Positions for every node (see module doc); records get ``geom``/``precision`` set."""
    surveyed = _surveyed_positions(bundle)
    names = sorted(set(bundle.nodes or {}) | {b for r in bundle.records for b in r.buses})
    index = {code: i for i, code in enumerate(names)}
    n = len(names)
    rows, cols = [], []
    for record in bundle.records:
        if table_of(record) in {"segment", "switch"}:
            rows.append(index[record.buses[0]])
            cols.append(index[record.buses[1]])
    graph = coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    _count, label = connected_components(graph, directed=False)
    anchor: dict[int, tuple[float, float]] = {}
    transformers = sorted(
        (r for r in bundle.records if r.kind == "distribution_transformer"), key=lambda r: r.code
    )
    for tx in transformers:
        where = (tx.geom.x, tx.geom.y) if isinstance(tx.geom, Point) else surveyed.get(tx.buses[0])
        if where is not None:
            anchor.setdefault(int(label[index[tx.buses[1]]]), where)
    for code in names:
        if code in surveyed:
            anchor.setdefault(int(label[index[code]]), surveyed[code])
    head = next((r for r in bundle.records if r.kind == "feeder_head"), None)
    fallback = surveyed.get(head.buses[0]) if head else None
    placed = Placed()
    for code in names:
        if code in surveyed:
            placed.nodes[code] = (*surveyed[code], SURVEYED)
            continue
        where = anchor.get(int(label[index[code]]), fallback)
        placed.derived_nodes += 1
        placed.nodes[code] = (None, None, DERIVED) if where is None else (*where, DERIVED)
    _place_records(bundle, placed)
    return placed


def _node_point(placed: Placed, bus: str) -> tuple[Point | None, str]:
    lon, lat, precision = placed.nodes[bus]
    return (None if lon is None else Point(lon, lat)), precision


def _place_records(bundle: Bundle, placed: Placed) -> None:
    unplaced: dict[str, list[str]] = defaultdict(list)
    for record in bundle.records:
        table = table_of(record)
        declared = record.precision
        if table == "segment":
            geom = record.geom if isinstance(record.geom, LineString) else None
            precision = SURVEYED
            if geom is None:
                a, pa = _node_point(placed, record.buses[0])
                b, pb = _node_point(placed, record.buses[1])
                if a is not None and b is not None and not a.equals(b):
                    geom = LineString([a, b])
                precision = SURVEYED if (geom is not None and pa == pb == SURVEYED) else DERIVED
            if record.values.get("length_m") is None and geom is not None:
                record.values["length_m"] = float(_GEOD.geometry_length(geom))
        elif table in {"switch", "transformer", "service_point"}:
            geom = record.geom if isinstance(record.geom, Point) else None
            precision = SURVEYED
            if geom is None:
                geom, precision = _node_point(placed, record.buses[0])
            if geom is None and table != "switch":
                unplaced[record.kind].append(record.ref)
        else:
            continue
        record.geom = geom
        record.precision = declared or precision
    for kind, refs in unplaced.items():
        for ref in refs:
            bundle.problem(
                kind,
                ref,
                "cannot be placed: no position for its node, its transformer or the feeder head",
                "unplaceable",
            )
