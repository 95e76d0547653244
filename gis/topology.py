"""Traces (downstream, upstream, connected) on the cached in-memory network graph.

The graph (``gis.graph``) is loaded set-based from the edge tables and cached per process,
keyed by the database and the network version (``gis_network_state.version``: a trigger
changes it with every statement that changes the graph, from a sequence so a number is
never reused). A trace costs one primary-key read of the version plus array slices: a
full-feeder trace is independent of the size of the rest of the network.

Traces honour switches that are open now (``is_open``); they do not cross them. Islands
(nodes no feeder head reaches) and loops (closed edges that close a cycle) are reported by
``topology_report``, never an error.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
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


def network_version(session: Session) -> int:
    return int(
        session.execute(text("SELECT version FROM gis_network_state WHERE id = 1")).scalar_one()
    )


def _database_key(session: Session) -> str:
    bind = session.get_bind()
    return str(bind.engine.url)


def _column(session: Session, sql: str, width: int) -> list[np.ndarray]:
    rows = session.execute(text(sql)).fetchall()
    if not rows:
        return [_EMPTY.copy() for _ in range(width)]
    array = np.asarray(rows, dtype=np.int64)
    return [array[:, i] for i in range(width)]


def _load_input(session: Session) -> GraphInput:
    (node_ids,) = _column(session, "SELECT id FROM gis_network_node", 1)
    seg = _column(
        session, "SELECT id, from_node_id, to_node_id FROM gis_line_segment ORDER BY id", 3
    )
    sw = _column(
        session, "SELECT id, from_node_id, to_node_id, is_open::int FROM gis_switch ORDER BY id", 4
    )
    tx = _column(
        session, "SELECT id, hv_node_id, lv_node_id FROM gis_power_transformer ORDER BY id", 3
    )
    sp = _column(session, "SELECT id, node_id FROM gis_service_point", 2)
    fd = _column(session, "SELECT id, coalesce(head_node_id, -1) FROM gis_feeder ORDER BY id", 2)
    return GraphInput(
        node_ids=node_ids,
        segment_ids=seg[0], segment_from=seg[1], segment_to=seg[2],
        switch_ids=sw[0], switch_from=sw[1], switch_to=sw[2], switch_open=sw[3].astype(bool),
        transformer_ids=tx[0], transformer_hv=tx[1], transformer_lv=tx[2],
        service_point_ids=sp[0], service_point_node=sp[1],
        feeder_ids=fd[0], feeder_head=fd[1],
    )  # fmt: skip


def get_graph(session: Session) -> NetworkGraph:
    """The oriented graph at the network version visible to ``session`` (cached)."""
    database = _database_key(session)
    version = network_version(session)
    key = (database, version)
    graph = _cache.get(key)
    if graph is not None:
        return graph
    with _lock:
        graph = _cache.get(key)
        if graph is not None:
            return graph
        for _attempt in range(5):
            data = _load_input(session)
            after = network_version(session)
            if after == version:
                break
            # A writer committed while we read (READ COMMITTED): read again.
            version, key = after, (database, after)
        graph = build_graph(data, version)
        _cache[key] = graph
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
        return graph


def clear_cache() -> None:
    with _lock:
        _cache.clear()


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
            [session.execute(
                text("SELECT id FROM gis_service_point WHERE code = :code"), {"code": code}
            ).scalar_one()], np.int64)  # fmt: skip
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
