"""Traces (downstream, upstream, connected) on the cached in-memory network graph.

The graph (``gis.graph``) is loaded set-based from the edge tables (binary COPY into numpy,
``gis.graph_source``) and cached per process, keyed by the database and the two network
versions of ``gis_network_state`` (triggers change them with every statement that changes
the graph, from a sequence so a number is never reused): ``version`` for the structure and
``switch_version`` for switch states. Operating a switch bumps only the latter: the cached
structure is kept, only the switch states (one row per switch) are read again and only
the components those switches touch are re-oriented (``gis.graph_update``). A trace costs
one primary-key read of the versions plus array slices: a full-feeder trace is independent
of the size of the rest of the network.

Traces honour switches that are open now (``is_open``); they do not cross them. Islands
(nodes no feeder head reaches) and loops (closed edges that close a cycle) are reported by
``topology_report``, never an error.
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.errors import AssetNotFoundError, FeederNotFoundError, TraceStartInvalidError
from gis.graph import (
    EDGE_SEGMENT,
    EDGE_SWITCH,
    EDGE_TRANSFORMER,
    NONE,
    GraphInput,
    NetworkGraph,
    build_graph,
)
from gis.graph_source import load_input, load_switch_states
from gis.graph_update import reorient_switches

Direction = Literal["downstream", "upstream", "connected"]
START_KINDS = ("service_point", "node", "transformer", "segment", "switch", "feeder")
_CACHE_SIZE = 2
_cache: OrderedDict[tuple[str, int], NetworkGraph] = OrderedDict()
_lock = threading.Lock()
_EMPTY = np.zeros(0, np.int64)


@dataclass
class TraceResult:
    """What a trace reached: database ids per asset table (sorted numpy int64 arrays).

    ``open_switch_ids`` are the open switches where the trace stopped (not crossed)."""

    direction: Direction
    feeder_id: int | None
    start: tuple[str, str] | None
    node_ids: np.ndarray = field(default_factory=lambda: _EMPTY)
    segment_ids: np.ndarray = field(default_factory=lambda: _EMPTY)
    switch_ids: np.ndarray = field(default_factory=lambda: _EMPTY)
    transformer_ids: np.ndarray = field(default_factory=lambda: _EMPTY)
    service_point_ids: np.ndarray = field(default_factory=lambda: _EMPTY)
    open_switch_ids: np.ndarray = field(default_factory=lambda: _EMPTY)

    @property
    def counts(self) -> dict[str, int]:
        return {
            "nodes": int(self.node_ids.size),
            "segments": int(self.segment_ids.size),
            "switches": int(self.switch_ids.size),
            "transformers": int(self.transformer_ids.size),
            "service_points": int(self.service_point_ids.size),
            "open_switches": int(self.open_switch_ids.size),
        }


@dataclass
class TopologyReport:
    """The health of the network graph: islands and loops are facts to fix, not errors."""

    version: int
    feeders: int
    nodes: int
    energised_nodes: int
    island_nodes: int
    island_components: int
    service_points: int
    energised_service_points: int
    island_service_points: int
    loops: int
    open_switches: int
    loop_examples: list[str] = field(default_factory=list)
    island_examples: list[str] = field(default_factory=list)
    joined_feeders: list[list[str]] = field(default_factory=list)
    retraced_feeders: list[str] = field(default_factory=list)
    updated_rows: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


# -- the cached graph ----------------------------------------------------------------------


@dataclass(frozen=True)
class NetworkVersions:
    """``structure`` changes with nodes, edges, attachments and feeder heads; ``switches``
    with switch states only (both from one sequence: never reused, ever increasing)."""

    structure: int
    switches: int

    @property
    def latest(self) -> int:
        return max(self.structure, self.switches)


def network_versions(session: Session) -> NetworkVersions:
    structure, switches = session.execute(
        text("SELECT version, switch_version FROM gis_network_state WHERE id = 1")
    ).one()
    return NetworkVersions(int(structure), int(switches))


def network_version(session: Session) -> int:
    """One number that changes with any change of the graph (structure or switch state)."""
    return network_versions(session).latest


def _database_key(session: Session) -> str:
    bind = session.get_bind()
    return str(bind.engine.url)


# Per process: the raw structure rows per (database, structure version), and the oriented
# graphs per (database, structure version, switch version). A switching operation only
# bumps the switch version: the structure stays cached and only the switch states are read.
_structures: OrderedDict[tuple[str, int], GraphInput] = OrderedDict()
_cache: OrderedDict[tuple[str, int, int], NetworkGraph] = OrderedDict()
_loads: Counter[str] = Counter()


def graph_loads() -> dict[str, int]:
    """How often this process read the network: ``structure`` (every row of the graph),
    ``switch_states`` (only the switches' is_open), ``builds`` (whole orientations) and
    ``reorientations`` (of the part switching changed)."""
    return {key: _loads[key] for key in ("structure", "switch_states", "builds", "reorientations")}


def _remember(cache: OrderedDict, key: Any, value: Any) -> None:
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > _CACHE_SIZE:
        cache.popitem(last=False)


def _read_consistently(session: Session, versions: NetworkVersions, read: Any) -> Any:
    """``read(session)`` while the versions stay what they were before it (a writer that
    commits meanwhile is visible to READ COMMITTED reads: read again)."""
    for _attempt in range(5):
        data = read(session)
        after = network_versions(session)
        if after == versions:
            return data, versions
        versions = after
    return read(session), network_versions(session)


def _with_switch_states(session: Session, database: str, versions: NetworkVersions):
    """The structure at ``versions.structure`` with the switch states of now."""
    structure = _structures.get((database, versions.structure))
    if structure is None:
        data, versions = _read_consistently(session, versions, load_input)
        _loads["structure"] += 1
        _remember(_structures, (database, versions.structure), data)
        return data, versions
    (ids, is_open), after = _read_consistently(session, versions, load_switch_states)
    if after.structure != versions.structure or not np.array_equal(ids, structure.switch_ids):
        return _with_switch_states(session, database, after)
    _loads["switch_states"] += 1
    return replace(structure, switch_open=is_open), after


def _same_structure(key: tuple[str, int, int]) -> NetworkGraph | None:
    """The most recent cached graph of the same structure (other switch states)."""
    for (database, structure, _switches), graph in reversed(_cache.items()):
        if (database, structure) == key[:2]:
            return graph
    return None


def get_graph(session: Session) -> NetworkGraph:
    """The oriented graph at the network versions visible to ``session`` (cached)."""
    database = _database_key(session)
    versions = network_versions(session)
    key = (database, versions.structure, versions.switches)
    graph = _cache.get(key)
    if graph is not None:
        return graph
    with _lock:
        graph = _cache.get(key)
        if graph is not None:
            return graph
        data, versions = _with_switch_states(session, database, versions)
        key = (database, versions.structure, versions.switches)
        previous = _same_structure(key)
        if previous is not None:  # switching only: re-orient what the switches changed
            graph = reorient_switches(previous, data, versions.latest)
            _loads["reorientations"] += 1
        else:
            graph = build_graph(data, versions.latest)
            _loads["builds"] += 1
        _remember(_cache, key, graph)
        return graph


def clear_cache() -> None:
    with _lock:
        _cache.clear()
        _structures.clear()


# -- traces --------------------------------------------------------------------------------

_START_SQL = {
    "service_point": "SELECT node_id, node_id, NULL::bigint FROM gis_service_point WHERE code = :code",
    "node": "SELECT id, id, NULL::bigint FROM gis_network_node WHERE code = :code",
    "transformer": "SELECT hv_node_id, lv_node_id, id FROM gis_power_transformer WHERE code = :code",
    "segment": "SELECT from_node_id, to_node_id, id FROM gis_line_segment WHERE code = :code",
    "switch": "SELECT from_node_id, to_node_id, id FROM gis_switch WHERE code = :code",
    "feeder": "SELECT head_node_id, head_node_id, NULL::bigint FROM gis_feeder WHERE code = :code",
}
_EDGE_KIND_OF_START = {
    "transformer": EDGE_TRANSFORMER,
    "segment": EDGE_SEGMENT,
    "switch": EDGE_SWITCH,
}


def _result(
    graph: NetworkGraph,
    direction: Direction,
    feeder_id: int | None,
    start: tuple[str, str] | None,
    nodes: np.ndarray,
    edges: np.ndarray,
    service_points: np.ndarray,
    open_edges: np.ndarray,
) -> TraceResult:
    split = graph.split_edges(edges)
    return TraceResult(
        direction=direction,
        feeder_id=feeder_id,
        start=start,
        node_ids=np.sort(graph.node_ids[nodes]),
        segment_ids=split[EDGE_SEGMENT],
        switch_ids=split[EDGE_SWITCH],
        transformer_ids=split[EDGE_TRANSFORMER],
        service_point_ids=np.sort(service_points),
        open_switch_ids=np.sort(graph.edge_id[open_edges]),
    )


def _downstream(graph: NetworkGraph, v: int) -> tuple[np.ndarray, ...]:
    return (
        graph.subtree_nodes(v),
        graph.subtree_edges(v),
        graph.subtree_service_points(v),
        graph.boundary_open_edges(v),
    )


def trace(
    session: Session,
    *,
    feeder_code: str | None = None,
    start: tuple[str, str] | None = None,
    direction: Direction,
) -> TraceResult:
    """Trace from a feeder's head or from an asset ``start = (kind, code)``.

    ``downstream``: everything the start feeds (through closed switches); ``upstream``:
    the supply path back to the feeder head; ``connected``: the whole energised island the
    start belongs to. Raises FeederNotFoundError / AssetNotFoundError for unknown codes."""
    if direction not in ("downstream", "upstream", "connected"):
        raise TraceStartInvalidError(f"unknown trace direction {direction!r}")
    if (feeder_code is None) == (start is None):
        raise TraceStartInvalidError("give either a feeder code or a start asset, not both")
    if feeder_code is not None:
        start_kind, code = "feeder", feeder_code
    else:
        assert start is not None
        start_kind, code = start
        if start_kind not in START_KINDS:
            raise TraceStartInvalidError(
                f"unknown start kind {start_kind!r}; expected one of {', '.join(START_KINDS)}"
            )
    row = session.execute(text(_START_SQL[start_kind]), {"code": code}).first()
    if row is None:
        if start_kind == "feeder":
            raise FeederNotFoundError(f"no feeder with code {code!r}")
        raise AssetNotFoundError(f"no {start_kind.replace('_', ' ')} with code {code!r}")
    graph = get_graph(session)
    first_node, second_node, asset_id = row
    if first_node is None:  # a feeder without a head: nothing to trace
        return TraceResult(direction=direction, feeder_id=None, start=start)
    edge = NONE
    if start_kind in _EDGE_KIND_OF_START:
        edge = graph.edge_index(_EDGE_KIND_OF_START[start_kind], int(asset_id))
    if edge != NONE:
        v = graph.parent_end(edge) if direction == "upstream" else graph.child_end(edge)
    else:
        v = graph.index_of(int(second_node if direction != "upstream" else first_node))
    if v == NONE:
        return TraceResult(direction=direction, feeder_id=None, start=start)
    feeder_id = int(graph.node_feeder[v]) or None
    start_sps = _EMPTY
    if start_kind == "service_point":
        start_sps = np.asarray(
            [
                session.execute(
                    text("SELECT id FROM gis_service_point WHERE code = :code"), {"code": code}
                ).scalar_one()
            ],
            np.int64,
        )
    if direction == "upstream":
        nodes, edges = graph.path_to_root(v)
        sps, open_edges = start_sps, _EMPTY
    elif direction == "connected":
        nodes, edges, sps, open_edges = _downstream(graph, int(graph.root[v]))
    else:
        nodes, edges, sps, open_edges = _downstream(graph, v)
    if edge != NONE:
        if graph.edge_open[edge]:
            open_edges = np.union1d(open_edges, [edge])
        else:
            edges = np.union1d(edges, [edge])
    return _result(graph, direction, feeder_id, start, nodes, edges, sps, open_edges)


# -- report --------------------------------------------------------------------------------

_EDGE_TABLE = {
    EDGE_SEGMENT: ("segment", "gis_line_segment"),
    EDGE_SWITCH: ("switch", "gis_switch"),
    EDGE_TRANSFORMER: ("transformer", "gis_power_transformer"),
}


def _codes(session: Session, table: str, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(
        text(f"SELECT id, code FROM {table} WHERE id = ANY(:ids)"), {"ids": ids}
    ).all()
    return {int(i): c for i, c in rows}


def topology_report(session: Session, graph: NetworkGraph, examples: int = 10) -> TopologyReport:
    """Counts of energised and isolated parts, loops, and a few named examples of each."""
    energised = graph.node_feeder != 0
    island_nodes = np.nonzero(~energised)[0]
    island_roots = np.unique(graph.root[island_nodes]) if island_nodes.size else _EMPTY
    sp_energised = int(energised[graph.sp_node].sum()) if graph.sp_node.size else 0
    loop_examples: list[str] = []
    for edge in graph.closing_edges[:examples].tolist():
        label, table = _EDGE_TABLE[int(graph.edge_kind[edge])]
        eid = int(graph.edge_id[edge])
        loop_examples.append(f"{label}:{_codes(session, table, [eid]).get(eid, eid)}")
    island_codes = _codes(
        session, "gis_network_node", graph.node_ids[island_nodes[:examples]].tolist()
    )
    feeder_codes = _codes(
        session, "gis_feeder", sorted({f for p in graph.joined_feeders for f in p})
    )
    return TopologyReport(
        version=graph.version,
        feeders=len(graph.feeder_head),
        nodes=graph.node_count,
        energised_nodes=int(energised.sum()),
        island_nodes=int(island_nodes.size),
        island_components=int(island_roots.size),
        service_points=int(graph.sp_ids.size),
        energised_service_points=sp_energised,
        island_service_points=int(graph.sp_ids.size) - sp_energised,
        loops=int(graph.closing_edges.size),
        open_switches=int(graph.open_edges.size),
        loop_examples=loop_examples,
        island_examples=sorted(island_codes.values()),
        joined_feeders=[[feeder_codes[a], feeder_codes[b]] for a, b in graph.joined_feeders],
    )
