"""The oriented graph (pure numpy): subtrees are contiguous preorder ranges."""

from __future__ import annotations

import numpy as np

from gis.graph import EDGE_SWITCH, NONE, GraphInput, build_graph


def random_tree(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    parent = np.concatenate([[-1], [rng.integers(0, i) for i in range(1, n)]])
    return parent, np.arange(n, dtype=np.int64) * 7 + 100  # sparse database ids


def test_every_subtree_is_a_contiguous_range_and_open_switches_cut_it() -> None:
    n = 2000
    parent, ids = random_tree(n, seed=3)
    edges_from, edges_to = ids[parent[1:]], ids[1:]
    # The last 10 tree edges are switches; the first of them is open.
    seg, sw = slice(0, n - 11), slice(n - 11, n - 1)
    data = GraphInput(
        node_ids=ids[::-1].copy(),  # any order
        segment_ids=np.arange(n - 11),
        segment_from=edges_from[seg],
        segment_to=edges_to[seg],
        switch_ids=np.arange(10),
        switch_from=edges_from[sw],
        switch_to=edges_to[sw],
        switch_open=np.array([True] + [False] * 9),
        transformer_ids=np.zeros(0, np.int64),
        transformer_hv=np.zeros(0, np.int64),
        transformer_lv=np.zeros(0, np.int64),
        service_point_ids=np.arange(n) + 10_000,
        service_point_node=ids,
        feeder_ids=np.array([1]),
        feeder_head=np.array([ids[0]]),
    )
    graph = build_graph(data, version=1)
    # Reference descendants by walking parents (the open switch cuts node n-10 off).
    cut = n - 10
    children: dict[int, list[int]] = {}
    for v in range(1, n):
        if v != cut:
            children.setdefault(int(parent[v]), []).append(v)

    def descendants(v: int) -> set[int]:
        out, stack = set(), [v]
        while stack:
            u = stack.pop()
            out.add(u)
            stack.extend(children.get(u, []))
        return out

    for v in [0, 1, 5, 50, 500, cut]:
        expected = {int(ids[u]) for u in descendants(v)}
        got = set(graph.node_ids[graph.subtree_nodes(graph.index_of(int(ids[v])))].tolist())
        assert got == expected
        sps = set(graph.subtree_service_points(graph.index_of(int(ids[v]))).tolist())
        assert sps == {10_000 + (i - 100) // 7 for i in expected}
    energised = graph.node_feeder != 0
    assert int(energised.sum()) == n - len(descendants(cut))
    assert graph.open_edges.size == 1 and graph.edge_kind[graph.open_edges[0]] == EDGE_SWITCH
    assert graph.closing_edges.size == 0
    root = graph.index_of(int(ids[0]))
    assert graph.parent[root] == NONE and graph.depth[root] == 0
