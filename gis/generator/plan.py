"""Assemble the layout, LV zones and MV routes into flat tables of nodes, equipment and
service points (numpy arrays, 0-based local indices, positions in projected metres)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from gis.enums import SegmentKind, SwitchKind
from gis.generator.layout import (
    BLOCK_M,
    ServicePointLayout,
    StreetGrid,
    build_street_grid,
    city_radius_blocks,
    place_service_points,
)
from gis.generator.lv import LvZones, build_lv_zones
from gis.generator.mv import (
    FeederPlan,
    MvTree,
    plan_feeders,
    route_feeders,
    sectionalising_points,
    tie_candidates,
)

SERVICE_POINTS_PER_TRANSFORMER = 20
MV_CONDUCTORS = ("AAAC 148 mm2", "AAAC 54.6 mm2")  # trunk, lateral
LV_CONDUCTOR = "ABC 3x70+54.6 mm2"
SWITCH_KINDS = (SwitchKind.BREAKER, SwitchKind.RECLOSER, SwitchKind.LOAD_BREAK)

Progress = Callable[[str, int, int], None]


def _quiet(_stage: str, _done: int, _total: int) -> None:
    return None


@dataclass
class NetworkPlan:
    """A whole synthetic network as columns. Node indices refer to ``node_xy``."""

    node_xy: np.ndarray  # (M, 2) projected metres, absolute
    node_feeder: np.ndarray  # (M,)
    substation_xy: np.ndarray  # (S, 2)
    feeder_substation: np.ndarray  # (F,)
    feeder_head: np.ndarray  # (F,) node
    transformer_hv: np.ndarray  # (T,) node
    transformer_lv: np.ndarray  # (T,) node
    transformer_feeder: np.ndarray
    rated_kva: np.ndarray
    design_load_kva: np.ndarray
    connected_kva: np.ndarray
    customers: np.ndarray
    segment_from: np.ndarray  # (L,) upstream node
    segment_to: np.ndarray  # (L,) downstream node
    segment_lv: np.ndarray  # (L,) bool
    segment_kind: np.ndarray  # (L,) object: SegmentKind values
    segment_conductor: np.ndarray  # (L,) object
    segment_feeder: np.ndarray
    segment_transformer: np.ndarray  # -1 on MV
    switch_from: np.ndarray
    switch_to: np.ndarray
    switch_kind: np.ndarray  # index into SWITCH_KINDS
    switch_open: np.ndarray  # bool (normal = current for a new network)
    switch_feeder: np.ndarray
    sp_node: np.ndarray
    sp_feeder: np.ndarray
    sp_transformer: np.ndarray
    sp_category: np.ndarray  # index into CATEGORIES
    sp_demand_kva: np.ndarray
    stats: dict[str, float] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        return {
            "substations": len(self.substation_xy),
            "feeders": len(self.feeder_head),
            "nodes": len(self.node_xy),
            "transformers": len(self.transformer_hv),
            "line_segments": len(self.segment_from),
            "switches": len(self.switch_from),
            "service_points": len(self.sp_node),
        }


def plan_network(
    *,
    service_points: int,
    seed: int,
    centre_xy: tuple[float, float],
    transformers: int | None = None,
    progress: Progress = _quiet,
) -> NetworkPlan:
    """Design a radial network for ``service_points`` connections around ``centre_xy``
    (projected metres). Deterministic in ``seed``."""
    rng = np.random.default_rng(seed)
    steps = 5
    progress("design", 0, steps)
    grid = build_street_grid(rng, service_points)
    layout = place_service_points(rng, grid, service_points)
    progress("design", 1, steps)
    wanted = transformers or max(1, round(service_points / SERVICE_POINTS_PER_TRANSFORMER))
    zones = build_lv_zones(rng, layout, wanted)
    progress("design", 2, steps)
    feeders = plan_feeders(rng, zones.transformer_grid, grid.n)
    tree = route_feeders(feeders, zones.transformer_grid, grid.n)
    progress("design", 3, steps)
    sections, section_kind = sectionalising_points(tree, len(feeders.feeder_substation))
    tie_a, tie_b = tie_candidates(rng, tree, feeders, grid.n)
    progress("design", 4, steps)
    plan = _assemble(grid, layout, zones, feeders, tree, sections, section_kind, tie_a, tie_b)
    plan.node_xy += np.asarray(centre_xy, dtype=np.float64)
    plan.substation_xy += np.asarray(centre_xy, dtype=np.float64)
    radius = city_radius_blocks(service_points) * BLOCK_M
    plan.stats = {"city_radius_m": round(radius, 1), "street_grid_n": grid.n}
    progress("design", steps, steps)
    return plan


def _assemble(
    grid: StreetGrid,
    layout: ServicePointLayout,
    zones: LvZones,
    feeders: FeederPlan,
    tree: MvTree,
    sections: np.ndarray,
    section_kind: np.ndarray,
    tie_a: np.ndarray,
    tie_b: np.ndarray,
) -> NetworkPlan:
    n_mv = len(tree.grid)
    n_feeders = len(feeders.feeder_substation)
    n_tr = len(zones.rated_kva)
    n_sp = len(zones.owner)
    cross_tie = tree.grid[tie_a] != tree.grid[tie_b]

    # Node index ranges, in this order.
    mv_xy = grid.node_metres(tree.grid)
    head0 = n_mv
    section0 = head0 + n_feeders
    tie0 = section0 + len(sections)
    hv0 = tie0 + int(cross_tie.sum())
    lv0 = hv0 + n_tr
    sp0 = lv0 + n_tr
    t_xy = grid.to_metres(zones.transformer_uv)
    sp_xy = grid.to_metres(layout.uv[zones.order])
    t_feeder = feeders.transformer_feeder
    sp_feeder = t_feeder[zones.owner]
    node_xy = np.concatenate(
        [
            mv_xy,
            mv_xy[tree.root],
            mv_xy[tree.parent[sections]],
            mv_xy[tie_b[cross_tie]],
            t_xy,
            t_xy,
            sp_xy,
        ]
    )
    node_feeder = np.concatenate(
        [
            tree.feeder,
            np.arange(n_feeders),
            tree.feeder[sections],
            tree.feeder[tie_a[cross_tie]],
            t_feeder,
            t_feeder,
            sp_feeder,
        ]
    )

    # MV segments: every tree edge parent -> child; a sectionalised edge starts at its
    # switch's downstream node instead of at the parent.
    children = np.flatnonzero(tree.parent >= 0)
    seg_from = tree.parent[children].copy()
    split_at = np.searchsorted(children, sections)
    seg_from[split_at] = section0 + np.arange(len(sections))
    seg_to = children
    trunk_axis = feeders.feeder_horizontal[tree.feeder[children]]
    i, j = tree.grid[children] // grid.n, tree.grid[children] % grid.n
    on_trunk = np.where(trunk_axis, j, i) == feeders.feeder_trunk[tree.feeder[children]]
    mv_conductor = np.where(on_trunk, MV_CONDUCTORS[0], MV_CONDUCTORS[1]).astype(object)
    tie_from = tie_a[cross_tie]
    tie_to = tie0 + np.arange(int(cross_tie.sum()))
    tap_from = tree_node_of(tree, t_feeder, zones.transformer_grid, grid.n)
    tap_to = hv0 + np.arange(n_tr)
    lv_from = np.where(zones.lv_parent >= 0, sp0 + zones.lv_parent, lv0 + zones.owner)
    lv_to = sp0 + np.arange(n_sp)

    mv_count = len(seg_to) + len(tie_to) + n_tr
    segment_from = np.concatenate([seg_from, tie_from, tap_from, lv_from])
    segment_to = np.concatenate([seg_to, tie_to, tap_to, lv_to])
    segment_feeder = node_feeder[segment_to]
    segment_lv = np.arange(len(segment_to)) >= mv_count
    centre = (grid.n - 1) / 2.0
    radius = max(city_radius_blocks(n_sp), 1.0)
    mv_uv_to = np.stack([tree.grid[children] // grid.n, tree.grid[children] % grid.n], axis=1)
    # Cables run underground in the dense core, overhead elsewhere.
    core = np.linalg.norm(mv_uv_to - centre, axis=1) < 0.25 * radius
    kind = np.concatenate(
        [
            np.where(core, SegmentKind.UNDERGROUND.value, SegmentKind.OVERHEAD.value),
            np.full(len(tie_to) + n_tr + n_sp, SegmentKind.OVERHEAD.value),
        ]
    ).astype(object)
    conductor = np.concatenate(
        [
            mv_conductor,
            np.full(len(tie_to) + n_tr, MV_CONDUCTORS[1], dtype=object),
            np.full(n_sp, LV_CONDUCTOR, dtype=object),
        ]
    )
    segment_transformer = np.concatenate([np.full(mv_count, -1), zones.owner])

    # Switches: feeder breakers, sectionalisers, normally-open ties.
    same_tie = ~cross_tie
    switch_from = np.concatenate(
        [
            head0 + np.arange(n_feeders),
            tree.parent[sections],
            tie_a[same_tie],
            tie_to,
        ]
    )
    switch_to = np.concatenate(
        [
            tree.root,
            section0 + np.arange(len(sections)),
            tie_b[same_tie],
            tie_b[cross_tie],
        ]
    )
    switch_kind = np.concatenate(
        [
            np.zeros(n_feeders, dtype=np.int64),
            section_kind + 1,
            np.full(len(tie_a), 2),
        ]
    )
    switch_open = np.concatenate(
        [np.zeros(n_feeders + len(sections), bool), np.ones(len(tie_a), bool)]
    )
    switch_feeder = node_feeder[switch_from]

    sub_xy = grid.node_metres(
        feeders.substation_grid[:, 0] * grid.n + feeders.substation_grid[:, 1]
    )
    return NetworkPlan(
        node_xy=node_xy,
        node_feeder=node_feeder,
        substation_xy=sub_xy,
        feeder_substation=feeders.feeder_substation,
        feeder_head=head0 + np.arange(n_feeders),
        transformer_hv=hv0 + np.arange(n_tr),
        transformer_lv=lv0 + np.arange(n_tr),
        transformer_feeder=t_feeder,
        rated_kva=zones.rated_kva,
        design_load_kva=zones.design_load_kva,
        connected_kva=zones.connected_kva,
        customers=zones.customers,
        segment_from=segment_from,
        segment_to=segment_to,
        segment_lv=segment_lv,
        segment_kind=kind,
        segment_conductor=conductor,
        segment_feeder=segment_feeder,
        segment_transformer=segment_transformer,
        switch_from=switch_from,
        switch_to=switch_to,
        switch_kind=switch_kind,
        switch_open=switch_open,
        switch_feeder=switch_feeder,
        sp_node=sp0 + np.arange(n_sp),
        sp_feeder=sp_feeder,
        sp_transformer=zones.owner,
        sp_category=layout.category[zones.order],
        sp_demand_kva=layout.demand_kva[zones.order],
    )


def tree_node_of(tree: MvTree, feeder: np.ndarray, grid_ij: np.ndarray, n: int) -> np.ndarray:
    """The MV node of ``feeder`` at intersection ``grid_ij`` (both are in the tree)."""
    g_count = n * n
    keys = tree.feeder * g_count + tree.grid
    wanted = feeder * g_count + grid_ij[:, 0] * n + grid_ij[:, 1]
    index = np.searchsorted(keys, wanted)
    assert np.array_equal(keys[index], wanted), "a transformer's intersection is off its feeder"
    return index
