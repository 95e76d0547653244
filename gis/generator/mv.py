"""The MV network: primary substations, feeders and their routes along the streets.

Grid units throughout (see ``layout``). A feeder is a tree of street intersections: every
intersection has exactly one next hop towards the substation, so the union of the routes
from the feeder's transformers is a tree. Each feeder leaves its substation along its own
trunk street (a row or a column offset by a lane), then laterals branch off it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from gis.generator.lv import morton_order

TRANSFORMERS_PER_SUBSTATION = 400
TRANSFORMERS_PER_FEEDER = 50
MAX_FEEDERS_PER_SUBSTATION = 12
KMEANS_ROUNDS = 6


@dataclass(frozen=True)
class FeederPlan:
    """Substations, their feeders, and which feeder supplies each transformer."""

    substation_grid: np.ndarray  # (S, 2) int
    feeder_substation: np.ndarray  # (F,) int
    feeder_horizontal: np.ndarray  # (F,) bool: the trunk runs along a row
    feeder_trunk: np.ndarray  # (F,) int: the trunk's row (or column) index
    transformer_feeder: np.ndarray  # (T,) int


@dataclass(frozen=True)
class MvTree:
    """The MV nodes (feeder, intersection) of every feeder and each one's upstream node."""

    feeder: np.ndarray  # (M,) int
    grid: np.ndarray  # (M,) int flat intersection index (i * n + j)
    parent: np.ndarray  # (M,) int, -1 at the feeder's root (the substation)
    depth: np.ndarray  # (M,) int, hops from the root
    root: np.ndarray  # (F,) int node index of each feeder's root


def plan_feeders(rng: np.random.Generator, t_grid: np.ndarray, n: int) -> FeederPlan:
    """Place substations by k-means over the transformers, give each its nearest
    transformers, and split those by bearing into feeders of about equal size."""
    t_uv = t_grid.astype(np.float64)
    count = len(t_uv)
    subs = max(1, round(count / TRANSFORMERS_PER_SUBSTATION))
    centres = t_uv[np.sort(rng.choice(count, size=subs, replace=False))]
    for _ in range(KMEANS_ROUNDS):
        owner = cKDTree(centres).query(t_uv, k=1)[1]
        sizes = np.bincount(owner, minlength=subs)
        for axis in (0, 1):
            sums = np.bincount(owner, weights=t_uv[:, axis], minlength=subs)
            centres[:, axis] = np.where(sizes > 0, sums / np.maximum(sizes, 1), centres[:, axis])
    sub_grid = np.unique(np.clip(np.round(centres), 1, n - 2).astype(np.int64), axis=0)
    sub_grid = sub_grid[morton_order(sub_grid.astype(np.float64))]
    owner = np.asarray(cKDTree(sub_grid).query(t_uv, k=1)[1], dtype=np.int64)
    sizes = np.bincount(owner, minlength=len(sub_grid))
    keep = sizes > 0
    sub_grid = sub_grid[keep]
    owner = np.searchsorted(np.flatnonzero(keep), owner)
    sizes = sizes[keep]

    per_sub = np.minimum(
        sizes, np.clip(np.round(sizes / TRANSFORMERS_PER_FEEDER), 2, MAX_FEEDERS_PER_SUBSTATION)
    ).astype(np.int64)
    first_feeder = np.concatenate([[0], np.cumsum(per_sub)[:-1]])
    rel = t_uv - sub_grid[owner]
    bearing = np.arctan2(rel[:, 1], rel[:, 0])
    by_bearing = np.lexsort((bearing, owner))
    rank = np.empty(count, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    rank[by_bearing] = np.arange(count) - starts[owner[by_bearing]]
    feeder = first_feeder[owner] + rank * per_sub[owner] // sizes[owner]

    feeders = int(per_sub.sum())
    feeder_sub = np.repeat(np.arange(len(sub_grid)), per_sub)
    unit = rel / np.maximum(np.linalg.norm(rel, axis=1), 1e-9)[:, None]
    mean_u = np.bincount(feeder, weights=unit[:, 0], minlength=feeders)
    mean_v = np.bincount(feeder, weights=unit[:, 1], minlength=feeders)
    horizontal = np.abs(mean_u) >= np.abs(mean_v)
    direction = np.where(horizontal, np.sign(mean_u), np.sign(mean_v)).astype(np.int64)
    # Feeders of one substation heading the same way get parallel trunks (lanes 0, 1, -1 ...)
    key = feeder_sub * 4 + horizontal * 2 + (direction > 0)
    by_key = np.lexsort((np.arange(feeders), key))
    group_start = np.searchsorted(key[by_key], key[by_key], side="left")
    nth = np.empty(feeders, dtype=np.int64)
    nth[by_key] = np.arange(feeders) - group_start
    lane = np.where(nth % 2 == 1, (nth + 1) // 2, -(nth // 2))
    base = np.where(horizontal, sub_grid[feeder_sub, 1], sub_grid[feeder_sub, 0])
    trunk = np.clip(base + lane, 0, n - 1)
    return FeederPlan(
        substation_grid=sub_grid,
        feeder_substation=feeder_sub,
        feeder_horizontal=horizontal,
        feeder_trunk=trunk,
        transformer_feeder=feeder,
    )


def _next_hop(plan: FeederPlan, feeder: np.ndarray, i: np.ndarray, j: np.ndarray) -> tuple:
    """One step towards the substation along the feeder's streets: first onto the trunk,
    then along it, then along the substation's own street to the substation."""
    sub = plan.substation_grid[plan.feeder_substation[feeder]]
    horizontal = plan.feeder_horizontal[feeder]
    trunk = plan.feeder_trunk[feeder]
    # Swap axes for vertical feeders so that one rule serves both: "a" runs along the
    # trunk, "b" across it.
    a = np.where(horizontal, i, j)
    b = np.where(horizontal, j, i)
    a0 = np.where(horizontal, sub[:, 0], sub[:, 1])
    b0 = np.where(horizontal, sub[:, 1], sub[:, 0])
    at_root = (a == a0) & (b == b0)
    on_sub_street = (a == a0) & (np.minimum(b0, trunk) <= b) & (b <= np.maximum(b0, trunk))
    na, nb = a.copy(), b.copy()
    approach = on_sub_street & ~at_root
    nb[approach] += np.sign(b0 - b)[approach]
    to_trunk = ~on_sub_street & (b != trunk)
    nb[to_trunk] += np.sign(trunk - b)[to_trunk]
    along = ~on_sub_street & (b == trunk)
    na[along] += np.sign(a0 - a)[along]
    ni = np.where(horizontal, na, nb)
    nj = np.where(horizontal, nb, na)
    return ni, nj, at_root


def route_feeders(plan: FeederPlan, t_grid: np.ndarray, n: int) -> MvTree:
    """The MV tree of every feeder: the union of the routes from its transformers (and its
    root) to its substation."""
    g_count = n * n
    feeders = len(plan.feeder_substation)
    sub = plan.substation_grid[plan.feeder_substation]
    start_f = np.concatenate([plan.transformer_feeder, np.arange(feeders)])
    start_g = np.concatenate([t_grid[:, 0] * n + t_grid[:, 1], sub[:, 0] * n + sub[:, 1]])
    frontier = np.unique(start_f * g_count + start_g)
    seen = [frontier]
    while len(frontier):
        f, g = frontier // g_count, frontier % g_count
        ni, nj, at_root = _next_hop(plan, f, g // n, g % n)
        frontier = np.unique((f * g_count + ni * n + nj)[~at_root])
        seen.append(frontier)
    keys = np.unique(np.concatenate(seen))
    f, g = keys // g_count, keys % g_count
    ni, nj, at_root = _next_hop(plan, f, g // n, g % n)
    parent = np.where(at_root, -1, np.searchsorted(keys, f * g_count + ni * n + nj))

    depth = np.zeros(len(keys), dtype=np.int64)
    pending = parent >= 0
    while pending.any():
        depth_next = np.where(pending, depth[np.maximum(parent, 0)] + 1, 0)
        if np.array_equal(depth_next, depth):
            break
        depth = depth_next
    root = np.flatnonzero(at_root)
    root = root[np.argsort(f[root])]
    return MvTree(feeder=f, grid=g, parent=parent, depth=depth, root=root)


def sectionalising_points(tree: MvTree, feeders: int) -> tuple[np.ndarray, np.ndarray]:
    """Two switch positions per feeder long enough (>= 3 hops): on the main trunk towards
    its farthest node, at a third and two thirds of the way. Returns (node, kind) where
    the switch goes on the edge from ``parent[node]`` to ``node``; kind 0 = recloser,
    1 = load-break switch."""
    by_depth = np.lexsort((tree.depth, tree.feeder))
    last = np.searchsorted(tree.feeder[by_depth], np.arange(feeders), side="right") - 1
    deepest = by_depth[last]
    max_depth = tree.depth[deepest]
    long_enough = max_depth >= 3
    nodes, kinds = [], []
    cur = deepest[long_enough]
    max_depth = max_depth[long_enough]
    for kind, target in ((1, 2 * max_depth // 3), (0, max_depth // 3)):
        while True:
            above = tree.depth[cur] > target
            if not above.any():
                break
            cur = np.where(above, tree.parent[cur], cur)
        nodes.append(cur.copy())
        kinds.append(np.full(len(cur), kind))
    return np.concatenate(nodes), np.concatenate(kinds)


def tie_candidates(
    rng: np.random.Generator, tree: MvTree, plan: FeederPlan, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Normally-open points between feeders: where two feeders pass the same or adjacent
    intersections away from their substations, one tie per feeder pair, for about half as
    many pairs as there are feeders. Returns MV node index pairs (a, b); b may sit on the
    next intersection (then a short tie line is needed)."""
    feeders = len(plan.feeder_substation)
    key = tree.grid  # tree nodes are sorted by (feeder, grid); index them by grid
    by_grid = np.argsort(key, kind="stable")
    sorted_grid = key[by_grid]
    i, j = tree.grid // n, tree.grid % n
    sub = plan.substation_grid[plan.feeder_substation[tree.feeder]]
    from_sub = np.maximum(np.abs(i - sub[:, 0]), np.abs(j - sub[:, 1]))
    pairs_a, pairs_b = [], []
    for di, dj in ((0, 0), (1, 0), (0, 1), (-1, 0), (0, -1)):
        ti, tj = i + di, j + dj
        inside = (ti >= 0) & (ti < n) & (tj >= 0) & (tj < n)
        target = ti * n + tj
        lo = np.searchsorted(sorted_grid, target, side="left")
        hi = np.searchsorted(sorted_grid, target, side="right")
        hits = np.where(inside, hi - lo, 0)
        a = np.repeat(np.arange(len(key)), hits)
        offset = np.arange(hits.sum()) - np.repeat(np.cumsum(hits) - hits, hits)
        b = by_grid[np.repeat(lo, hits) + offset]
        ok = (tree.feeder[a] < tree.feeder[b]) & (from_sub[a] >= 1) & (from_sub[b] >= 1)
        pairs_a.append(a[ok])
        pairs_b.append(b[ok])
    a = np.concatenate(pairs_a)
    b = np.concatenate(pairs_b)
    # Prefer ties well away from the substations; small networks may only have close ones.
    away = (from_sub[a] >= 3) & (from_sub[b] >= 3)
    if away.any():
        a, b = a[away], b[away]
    if len(a) == 0:
        return a, b
    # Best candidate per feeder pair: farthest from the substation, then lowest index.
    pair = tree.feeder[a] * feeders + tree.feeder[b]
    best = np.lexsort((a, b, -from_sub[a], pair))
    firsts = best[np.unique(pair[best], return_index=True)[1]]
    wanted = min(len(firsts), max(1, feeders // 2))
    chosen = np.sort(rng.choice(firsts, size=wanted, replace=False))
    return a[chosen], b[chosen]
