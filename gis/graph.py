"""The in-memory network graph that traces run on, built set-based from the edge tables.

Vertices are connectivity nodes; edges are line segments (and regulators), closed switches
and transformers (HV -> LV). Open switches are kept aside: traces stop at them. The graph is
oriented once, at build time, by one depth-first search from every feeder head (then from
one node of each remaining island), so that:

- every component is a subtree of the DFS forest, and every node's downstream set is a
  contiguous range of the preorder (``order[pos[v]:end[v]]``): a full-feeder trace is a
  slice, whatever the network's size;
- service points are sorted by the preorder position of their node, so the service points
  below a node are a contiguous slice too.

For a radial network the DFS tree is the network itself, the same as a BFS orientation from
the head; a mesh (loop) has one spanning tree chosen, and its closing edges are reported.
Everything here is pure numpy/scipy: no database access (see ``gis.topology``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, depth_first_order

EDGE_SEGMENT = 0
EDGE_SWITCH = 1
EDGE_TRANSFORMER = 2

NONE = -1


@dataclass(frozen=True)
class GraphInput:
    """Raw rows, as numpy arrays of database ids (int64) and flags; each edge table sorted
    by id."""

    node_ids: np.ndarray
    segment_ids: np.ndarray
    segment_from: np.ndarray
    segment_to: np.ndarray
    switch_ids: np.ndarray
    switch_from: np.ndarray
    switch_to: np.ndarray
    switch_open: np.ndarray
    transformer_ids: np.ndarray
    transformer_hv: np.ndarray
    transformer_lv: np.ndarray
    service_point_ids: np.ndarray
    service_point_node: np.ndarray
    feeder_ids: np.ndarray  # ordered by priority (ascending id)
    feeder_head: np.ndarray  # node id or -1 when the feeder has no head


@dataclass
class NetworkGraph:
    """An oriented snapshot of the network at one network version."""

    version: int
    node_ids: np.ndarray  # sorted database ids; the index is the dense node index
    edge_kind: np.ndarray  # int8 EDGE_*
    edge_id: np.ndarray  # database id within its table
    edge_from: np.ndarray  # dense node index
    edge_to: np.ndarray
    edge_open: np.ndarray  # bool: an open switch (not part of the graph)
    order: np.ndarray  # DFS preorder of the forest (dense node indexes)
    pos: np.ndarray  # position of each node in ``order``
    end: np.ndarray  # position just after each node's subtree
    parent: np.ndarray  # parent node (NONE for roots)
    parent_edge: np.ndarray  # edge index from the parent (NONE for roots)
    depth: np.ndarray
    root: np.ndarray  # root node of each node's component
    node_feeder: np.ndarray  # feeder database id energising the node, 0 = none
    node_transformer: np.ndarray  # transformer database id of the node's LV zone, 0 = none
    edge_by_pos: np.ndarray  # parent_edge[order]: tree edges in preorder
    closing_edges: np.ndarray  # closed edges not in the DFS tree: each closes a loop
    open_edges: np.ndarray  # open switches
    sp_ids: np.ndarray  # service point database ids, sorted by their node's preorder position
    sp_pos: np.ndarray  # preorder position of each service point's node (sorted)
    sp_node: np.ndarray  # dense node index of each service point (same order)
    edge_offsets: tuple[int, int, int, int] = (0, 0, 0, 0)  # kind blocks, each sorted by id
    feeder_head: dict[int, int] = field(default_factory=dict)  # feeder id -> head node index
    joined_feeders: list[tuple[int, int]] = field(default_factory=list)

    @property
    def node_count(self) -> int:
        return int(self.node_ids.size)

    def index_of(self, node_id: int) -> int:
        """Dense index of a database node id (NONE if unknown)."""
        i = int(np.searchsorted(self.node_ids, node_id))
        if i < self.node_ids.size and self.node_ids[i] == node_id:
            return i
        return NONE

    def indexes_of(self, node_ids: np.ndarray) -> np.ndarray:
        idx = np.searchsorted(self.node_ids, node_ids)
        idx = np.minimum(idx, max(self.node_ids.size - 1, 0))
        ok = self.node_ids.size > 0
        found = (self.node_ids[idx] == node_ids) if ok else np.zeros(len(node_ids), bool)
        return np.where(found, idx, NONE)

    def edge_index(self, kind: int, asset_id: int) -> int:
        """Edge index of a segment / switch / transformer database id (NONE if unknown)."""
        lo, hi = self.edge_offsets[kind], self.edge_offsets[kind + 1]
        i = lo + int(np.searchsorted(self.edge_id[lo:hi], asset_id))
        return i if i < hi and self.edge_id[i] == asset_id else NONE

    def subtree_nodes(self, v: int) -> np.ndarray:
        return self.order[self.pos[v] : self.end[v]]

    def subtree_edges(self, v: int) -> np.ndarray:
        """Tree edges inside ``v``'s subtree, plus the closing edges with both ends in it."""
        tree = self.edge_by_pos[self.pos[v] + 1 : self.end[v]]
        closing = self.closing_edges
        if closing.size:
            lo, hi = self.pos[v], self.end[v]
            pf, pt = self.pos[self.edge_from[closing]], self.pos[self.edge_to[closing]]
            inside = (pf >= lo) & (pf < hi) & (pt >= lo) & (pt < hi)
            if inside.any():
                tree = np.concatenate([tree, closing[inside]])
        return tree

    def boundary_open_edges(self, v: int) -> np.ndarray:
        """Open switches with at least one end inside ``v``'s subtree: where a trace stops."""
        edges = self.open_edges
        if not edges.size:
            return edges
        lo, hi = self.pos[v], self.end[v]
        pf, pt = self.pos[self.edge_from[edges]], self.pos[self.edge_to[edges]]
        return edges[((pf >= lo) & (pf < hi)) | ((pt >= lo) & (pt < hi))]

    def subtree_service_points(self, v: int) -> np.ndarray:
        lo = np.searchsorted(self.sp_pos, self.pos[v], side="left")
        hi = np.searchsorted(self.sp_pos, self.end[v], side="left")
        return self.sp_ids[lo:hi]

    def path_to_root(self, v: int) -> tuple[np.ndarray, np.ndarray]:
        """Nodes from ``v`` up to its root, and the edges joining them."""
        nodes, edges = [v], []
        parent, parent_edge = self.parent, self.parent_edge
        while parent[v] != NONE:
            edges.append(int(parent_edge[v]))
            v = int(parent[v])
            nodes.append(v)
        return np.asarray(nodes, dtype=np.int64), np.asarray(edges, dtype=np.int64)

    def child_end(self, e: int) -> int:
        """The downstream end of edge ``e`` (its ``to`` node when the edge is not in the tree)."""
        if self.parent_edge[self.edge_to[e]] == e:
            return int(self.edge_to[e])
        if self.parent_edge[self.edge_from[e]] == e:
            return int(self.edge_from[e])
        return int(self.edge_to[e])

    def parent_end(self, e: int) -> int:
        child = self.child_end(e)
        return int(self.edge_from[e] if child == self.edge_to[e] else self.edge_to[e])

    def split_edges(self, edges: np.ndarray) -> dict[int, np.ndarray]:
        """Database ids per edge kind."""
        kinds = self.edge_kind[edges]
        ids = self.edge_id[edges]
        return {k: np.sort(ids[kinds == k]) for k in (EDGE_SEGMENT, EDGE_SWITCH, EDGE_TRANSFORMER)}


def _dense(node_ids: np.ndarray, refs: np.ndarray) -> np.ndarray:
    return np.searchsorted(node_ids, refs).astype(np.int64)


def _depths(parent: np.ndarray) -> np.ndarray:
    """Depth of every node by pointer jumping: log2(depth) vectorised rounds.

    Invariant: ``dist[v]`` is the number of edges from ``v`` to ``anc[v]``, or ``v``'s
    depth once ``anc[v]`` is NONE (roots have distance 0)."""
    dist = (parent != NONE).astype(np.int64)
    anc = parent.copy()
    while True:
        live = np.nonzero(anc != NONE)[0]
        if live.size == 0:
            return dist
        a = anc[live]
        dist[live], anc[live] = dist[live] + dist[a], anc[a]


def _subtree_sizes(parent: np.ndarray, depth: np.ndarray) -> np.ndarray:
    size = np.ones(parent.size, dtype=np.int64)
    if parent.size == 0:
        return size
    by_depth = np.argsort(-depth, kind="stable")
    levels = np.split(by_depth, np.nonzero(np.diff(depth[by_depth]))[0] + 1)
    for level in levels:
        has_parent = level[parent[level] != NONE]
        if has_parent.size:
            np.add.at(size, parent[has_parent], size[has_parent])
    return size


def build_graph(data: GraphInput, version: int) -> NetworkGraph:
    """Orient the network from its feeder heads. Runs in O(nodes + edges), vectorised."""
    node_ids = np.sort(np.asarray(data.node_ids, dtype=np.int64))
    n = node_ids.size
    edge_kind = np.concatenate(
        [
            np.full(data.segment_ids.size, EDGE_SEGMENT, np.int8),
            np.full(data.switch_ids.size, EDGE_SWITCH, np.int8),
            np.full(data.transformer_ids.size, EDGE_TRANSFORMER, np.int8),
        ]
    )
    edge_id = np.concatenate([data.segment_ids, data.switch_ids, data.transformer_ids]).astype(
        np.int64
    )
    edge_from = _dense(
        node_ids, np.concatenate([data.segment_from, data.switch_from, data.transformer_hv])
    )
    edge_to = _dense(
        node_ids, np.concatenate([data.segment_to, data.switch_to, data.transformer_lv])
    )
    edge_open = np.concatenate(
        [
            np.zeros(data.segment_ids.size, bool),
            np.asarray(data.switch_open, bool),
            np.zeros(data.transformer_ids.size, bool),
        ]
    )
    closed = np.nonzero(~edge_open)[0]

    # Components of the conducting graph; each gets one root: its first feeder head, or
    # (an island) its lowest node.
    adjacency = coo_matrix(
        (np.ones(closed.size, np.int8), (edge_from[closed], edge_to[closed])), shape=(n, n)
    ).tocsr()
    _count, label = connected_components(adjacency, directed=False)
    feeder_head: dict[int, int] = {}
    root_of_label: dict[int, int] = {}
    feeder_of_label: dict[int, int] = {}
    joined: list[tuple[int, int]] = []
    for fid, head in zip(data.feeder_ids.tolist(), data.feeder_head.tolist(), strict=True):
        if head == NONE:
            continue
        h = int(np.searchsorted(node_ids, head))
        if h >= n or node_ids[h] != head:
            continue
        feeder_head[fid] = h
        lab = int(label[h])
        if lab in root_of_label:
            joined.append((feeder_of_label[lab], fid))
            continue
        root_of_label[lab] = h
        feeder_of_label[lab] = fid
    # An island's root: the HV end of one of its transformers (so its transformers are
    # oriented HV -> LV and their LV zones stay known), else its lowest node.
    roots = np.full(_count, n, np.int64)
    np.minimum.at(roots, label, np.arange(n))
    tx_hv = edge_from[edge_kind == EDGE_TRANSFORMER]
    if tx_hv.size:
        by_hv = np.full(_count, n, np.int64)
        np.minimum.at(by_hv, label[tx_hv], tx_hv)
        roots = np.where(by_hv < n, by_hv, roots)
    for lab, h in root_of_label.items():
        roots[lab] = h
    # Heads first (in feeder order), then the islands: one DFS from a virtual super-root.
    head_labels = np.asarray(list(root_of_label.keys()), dtype=np.int64)
    island_labels = np.setdiff1d(np.arange(_count), head_labels)
    root_list = np.concatenate([roots[head_labels], roots[island_labels]]).astype(np.int64)
    virtual = n
    rows = np.concatenate([edge_from[closed], np.full(root_list.size, virtual)])
    cols = np.concatenate([edge_to[closed], root_list])
    # Parallel edges: keep one arbitrarily in the DFS matrix; the rest become closing edges.
    tree_matrix = coo_matrix(
        (np.ones(rows.size, np.int8), (rows, cols)), shape=(n + 1, n + 1)
    ).tocsr()
    order_v, pred_v = depth_first_order(
        tree_matrix, virtual, directed=False, return_predecessors=True
    )
    order = order_v[1:].astype(np.int64)
    parent = pred_v[:n].astype(np.int64)
    parent[parent == virtual] = NONE
    parent[parent < 0] = NONE
    pos = np.empty(n, np.int64)
    pos[order] = np.arange(n)

    # The edge used to reach each node from its parent (the first closed one found).
    parent_edge = np.full(n, NONE, np.int64)
    if closed.size:
        f, t = edge_from[closed], edge_to[closed]
        down = parent[t] == f  # edge oriented parent -> child as stored
        up = (parent[f] == t) & ~down
        child = np.where(down, t, np.where(up, f, NONE))
        useful = child != NONE
        cand_child, cand_edge = child[useful], closed[useful]
        # One edge per child: first occurrence wins (np.unique returns first indexes).
        uniq, first = np.unique(cand_child, return_index=True)
        parent_edge[uniq] = cand_edge[first]
    tree_edges = parent_edge[parent_edge != NONE]
    in_tree = np.zeros(edge_kind.size, bool)
    in_tree[tree_edges] = True
    closing = closed[~in_tree[closed]]
    open_edges = np.nonzero(edge_open)[0]

    depth = _depths(parent)
    size = _subtree_sizes(parent, depth)
    end = pos + size
    root = roots[label] if n else np.zeros(0, np.int64)

    node_feeder = np.zeros(n, np.int64)
    for lab, fid in feeder_of_label.items():
        node_feeder[label == lab] = fid
    node_transformer = np.zeros(n, np.int64)
    tx_edges = tree_edges[edge_kind[tree_edges] == EDGE_TRANSFORMER]
    if tx_edges.size:
        # The LV zone of a transformer is its child's subtree; deeper transformers (rare:
        # a transformer fed from another's LV side) overwrite, so assign shallow first.
        # Only transformers fed from their HV side have a zone (one fed backwards through
        # an LV tie does not).
        tx_edges = tx_edges[parent_edge[edge_to[tx_edges]] == tx_edges]
        tx_child = edge_to[tx_edges]
        for k in np.argsort(depth[tx_child], kind="stable"):
            c = tx_child[k]
            node_transformer[order[pos[c] : end[c]]] = edge_id[tx_edges[k]]

    sp_node = _dense(node_ids, np.asarray(data.service_point_node, np.int64))
    sp_sort = np.argsort(pos[sp_node], kind="stable") if sp_node.size else sp_node
    edge_by_pos = parent_edge[order]
    return NetworkGraph(
        version=version,
        node_ids=node_ids,
        edge_kind=edge_kind,
        edge_id=edge_id,
        edge_from=edge_from,
        edge_to=edge_to,
        edge_open=edge_open,
        order=order,
        pos=pos,
        end=end,
        parent=parent,
        parent_edge=parent_edge,
        depth=depth,
        root=root,
        node_feeder=node_feeder,
        node_transformer=node_transformer,
        edge_by_pos=edge_by_pos,
        closing_edges=closing,
        open_edges=open_edges,
        sp_ids=np.asarray(data.service_point_ids, np.int64)[sp_sort],
        sp_pos=pos[sp_node][sp_sort],
        sp_node=sp_node[sp_sort],
        edge_offsets=(
            0,
            data.segment_ids.size,
            data.segment_ids.size + data.switch_ids.size,
            int(edge_kind.size),
        ),
        feeder_head=feeder_head,
        joined_feeders=joined,
    )
