"""Re-orienting after switching (gis.graph_update) gives what a full build gives."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from gis import graph_update
from gis.graph import NONE, GraphInput, NetworkGraph, build_graph
from gis.graph_update import reorient_switches


def meshed_network(seed: int) -> GraphInput:
    """Four feeders (random trees), transformers inside them, one island, and switches
    between random nodes: ties between feeders and loops inside them, open or closed."""
    rng = np.random.default_rng(seed)
    n, feeders = 1200, 4
    ids = np.arange(n, dtype=np.int64) * 3 + 50
    heads = np.arange(feeders) * (n // (feeders + 1))  # the last fifth is an island
    parent = np.full(n, NONE)
    for i in range(n):
        block = i // (n // (feeders + 1))
        start = block * (n // (feeders + 1))
        if i != start:
            parent[i] = rng.integers(start, i)
    child = np.nonzero(parent != NONE)[0]
    is_tx = rng.random(child.size) < 0.05
    seg, tx = child[~is_tx], child[is_tx]
    # Two thirds are loops inside one block, a third ties between neighbouring blocks.
    switches, size = 30, n // (feeders + 1)
    block = rng.integers(0, feeders + 1, switches)
    tie = np.arange(switches) % 3 == 0
    sw_from = block * size + rng.integers(0, size, switches)
    sw_to = np.where(tie, (block + 1) % (feeders + 1), block) * size + rng.integers(
        0, size, switches
    )
    sw_to[sw_from == sw_to] = (sw_to[sw_from == sw_to] + 1) % n
    switch_open = tie | (rng.random(switches) < 0.5)
    return GraphInput(
        node_ids=ids,
        segment_ids=np.arange(seg.size) + 1,
        segment_from=ids[parent[seg]],
        segment_to=ids[seg],
        switch_ids=np.arange(switches) + 1,
        switch_from=ids[sw_from],
        switch_to=ids[sw_to],
        switch_open=switch_open,
        transformer_ids=np.arange(tx.size) + 1,
        transformer_hv=ids[parent[tx]],
        transformer_lv=ids[tx],
        service_point_ids=np.arange(3 * n) + 1,
        service_point_node=ids[rng.integers(0, n, 3 * n)],
        feeder_ids=np.arange(feeders) + 1,
        feeder_head=ids[heads],
    )


def assert_same_orientation(got: NetworkGraph, want: NetworkGraph) -> None:
    for name in (
        "parent",
        "parent_edge",
        "depth",
        "root",
        "node_feeder",
        "node_transformer",
        "edge_open",
        "closing_edges",
        "open_edges",
    ):
        assert np.array_equal(getattr(got, name), getattr(want, name)), name
    assert np.array_equal(got.end - got.pos, want.end - want.pos)
    assert sorted(got.joined_feeders) == sorted(want.joined_feeders)
    for v in range(0, got.node_count, 7):
        assert set(got.subtree_nodes(v).tolist()) == set(want.subtree_nodes(v).tolist())
        assert np.array_equal(
            np.sort(got.subtree_service_points(v)), np.sort(want.subtree_service_points(v))
        )
        assert np.array_equal(np.sort(got.subtree_edges(v)), np.sort(want.subtree_edges(v)))
        assert np.array_equal(
            np.sort(got.boundary_open_edges(v)), np.sort(want.boundary_open_edges(v))
        )


def test_switching_reorients_like_a_full_build(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Always splice (never fall back to a full build), whatever share of the network moves.
    monkeypatch.setattr(graph_update, "MAX_REGION_SHARE", 1.0)
    region_sizes: list[int] = []

    def build_region(data: GraphInput, version: int) -> NetworkGraph:
        region_sizes.append(data.node_ids.size)
        return build_graph(data, version)

    monkeypatch.setattr(graph_update, "_build_graph", build_region)
    for seed in range(6):
        data = meshed_network(seed)
        graph = build_graph(data, version=1)
        rng = np.random.default_rng(100 + seed)
        for step in range(8):
            flips = np.zeros(data.switch_ids.size, bool)
            flips[rng.choice(flips.size, 1 if step % 2 else 5, replace=False)] = True
            data = replace(data, switch_open=data.switch_open ^ flips)
            graph = reorient_switches(graph, data, version=2 + step)
            assert graph.version == 2 + step
            assert_same_orientation(graph, build_graph(data, version=2 + step))
    # Most re-orientations touched part of the network only (one feeder, or a few).
    assert sum(size < 1200 for size in region_sizes) > len(region_sizes) / 2


def test_unchanged_switch_states_reuse_the_orientation() -> None:
    data = meshed_network(1)
    graph = build_graph(data, version=1)
    again = reorient_switches(graph, replace(data), version=5)
    assert again.version == 5 and again.order is graph.order
