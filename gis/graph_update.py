"""Re-orienting only what switching changed, in an oriented graph of the same structure.

Only the components (of the old graph) that touch a switch whose state changed can change:
any other edge keeps its state, and an edge joining a node outside them to one inside would
have put both in one old component. So those components (the *region*) are oriented again
alone, with ``build_graph`` and the same rules (first feeder head by id, else an island's
transformer HV end, else its lowest node), which gives every node the same parent, depth,
feeder and transformer zone as a full build. The region is then moved to the end of the
preorder: every other subtree stays a contiguous range, shifted left. Cost: the region's
size plus a few vectorised passes over the arrays, instead of a whole re-orientation.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from gis.graph import EDGE_SEGMENT, EDGE_SWITCH, EDGE_TRANSFORMER, NONE, GraphInput, NetworkGraph
from gis.graph import build_graph as _build_graph

# Past this share of the nodes a full build is as cheap as the splice.
MAX_REGION_SHARE = 0.5


def _region_input(
    graph: NetworkGraph, data: GraphInput, nodes: np.ndarray, edges: np.ndarray
) -> GraphInput:
    """The raw rows of the region (its nodes, the edges with both ends in it)."""
    kind, ids = graph.edge_kind[edges], graph.edge_id[edges]
    ends_from = graph.node_ids[graph.edge_from[edges]]
    ends_to = graph.node_ids[graph.edge_to[edges]]
    open_now = np.zeros(graph.edge_kind.size, bool)
    lo, hi = graph.edge_offsets[EDGE_SWITCH], graph.edge_offsets[EDGE_SWITCH + 1]
    open_now[lo:hi] = data.switch_open
    is_open = open_now[edges]
    seg, sw, tx = (kind == EDGE_SEGMENT), (kind == EDGE_SWITCH), (kind == EDGE_TRANSFORMER)
    in_region = np.zeros(graph.node_count, bool)
    in_region[nodes] = True
    sp_mask = in_region[graph.sp_node]
    heads = np.asarray(data.feeder_head, np.int64)
    head_index = graph.indexes_of(heads)
    own = (heads != NONE) & (head_index != NONE)
    own[own] = in_region[head_index[own]]
    return GraphInput(
        node_ids=graph.node_ids[nodes],
        segment_ids=ids[seg],
        segment_from=ends_from[seg],
        segment_to=ends_to[seg],
        switch_ids=ids[sw],
        switch_from=ends_from[sw],
        switch_to=ends_to[sw],
        switch_open=is_open[sw],
        transformer_ids=ids[tx],
        transformer_hv=ends_from[tx],
        transformer_lv=ends_to[tx],
        service_point_ids=graph.sp_ids[sp_mask],
        service_point_node=graph.node_ids[graph.sp_node[sp_mask]],
        feeder_ids=np.asarray(data.feeder_ids, np.int64)[own],
        feeder_head=heads[own],
    )


def _lift(local: np.ndarray, mapping: np.ndarray) -> np.ndarray:
    """Local indexes to global ones (NONE stays NONE)."""
    return np.where(local == NONE, NONE, mapping[np.maximum(local, 0)])


def reorient_switches(graph: NetworkGraph, data: GraphInput, version: int) -> NetworkGraph:
    """``graph`` with the switch states of ``data`` (same structure), re-oriented where they
    changed; a full ``build_graph`` when the changed part is most of the network."""
    lo, hi = graph.edge_offsets[EDGE_SWITCH], graph.edge_offsets[EDGE_SWITCH + 1]
    new_open = np.asarray(data.switch_open, bool)
    changed = lo + np.nonzero(graph.edge_open[lo:hi] != new_open)[0]
    if not changed.size:
        return replace(graph, version=version)
    touched = np.unique(
        graph.root[np.concatenate([graph.edge_from[changed], graph.edge_to[changed]])]
    )
    in_region = np.isin(graph.root, touched)
    nodes = np.nonzero(in_region)[0]
    if nodes.size > MAX_REGION_SHARE * max(graph.node_count, 1):
        return _build_graph(data, version)
    edges = np.nonzero(in_region[graph.edge_from] & in_region[graph.edge_to])[0]
    local = _build_graph(_region_input(graph, data, nodes, edges), version)

    kept = graph.order[~in_region[graph.order]]
    order = np.concatenate([kept, nodes[local.order]])
    pos = np.empty_like(graph.pos)
    pos[order] = np.arange(order.size)
    size = graph.end - graph.pos
    size[nodes] = local.end - local.pos
    parent, parent_edge = graph.parent.copy(), graph.parent_edge.copy()
    parent[nodes] = _lift(local.parent, nodes)
    parent_edge[nodes] = _lift(local.parent_edge, edges)
    depth, root = graph.depth.copy(), graph.root.copy()
    depth[nodes], root[nodes] = local.depth, nodes[local.root]
    node_feeder, node_transformer = graph.node_feeder.copy(), graph.node_transformer.copy()
    node_feeder[nodes], node_transformer[nodes] = local.node_feeder, local.node_transformer
    edge_open = graph.edge_open.copy()
    edge_open[lo:hi] = new_open
    old_closing = graph.closing_edges[~in_region[graph.edge_from[graph.closing_edges]]]
    closing = np.sort(np.concatenate([old_closing, edges[local.closing_edges]]))
    kept_sp = ~in_region[graph.sp_node]
    sp_node = np.concatenate([graph.sp_node[kept_sp], nodes[local.sp_node]])
    region_feeders = set(local.feeder_head)
    joined = [pair for pair in graph.joined_feeders if not region_feeders.intersection(pair)]
    return replace(
        graph,
        version=version,
        edge_open=edge_open,
        order=order,
        pos=pos,
        end=pos + size,
        parent=parent,
        parent_edge=parent_edge,
        depth=depth,
        root=root,
        node_feeder=node_feeder,
        node_transformer=node_transformer,
        edge_by_pos=parent_edge[order],
        closing_edges=closing,
        open_edges=np.nonzero(edge_open)[0],
        sp_ids=np.concatenate([graph.sp_ids[kept_sp], local.sp_ids]),
        sp_pos=pos[sp_node],
        sp_node=sp_node,
        joined_feeders=joined + local.joined_feeders,
    )
