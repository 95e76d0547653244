"""LV zones: which connections each distribution transformer supplies, where the
transformer stands, how it is rated, and the LV tree from it to every connection.

All positions are in grid units (see ``layout``); loads in kVA.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from gis.generator.layout import ServicePointLayout
from gis.generator.sizing import STANDARD_KVA, design_load_kva, rating_for

MAX_SPLIT_ROUNDS = 20
LV_NEIGHBOURS = 8


@dataclass(frozen=True)
class LvZones:
    """Transformers (spatially ordered) and the connections they supply."""

    transformer_uv: np.ndarray  # (T, 2) on a street centreline
    transformer_grid: np.ndarray  # (T, 2) int: the street intersection it is tapped from
    rated_kva: np.ndarray  # (T,)
    design_load_kva: np.ndarray  # (T,)
    connected_kva: np.ndarray  # (T,)
    customers: np.ndarray  # (T,) int
    order: np.ndarray  # (N,) service point permutation: zone by zone, nearest first
    owner: np.ndarray  # (N,) transformer of each service point (in ``order``)
    lv_parent: np.ndarray  # (N,) parent service point (in ``order``), -1 = the transformer


def morton_order(uv: np.ndarray) -> np.ndarray:
    """A permutation visiting points along a Z-order curve: neighbours on the map end up
    neighbours in the tables, which keeps tile and bbox queries on few pages."""
    q = np.clip(np.round(uv * 8), 0, 2**20 - 1).astype(np.uint64)

    def spread(x: np.ndarray) -> np.ndarray:
        x = x & np.uint64(0x1FFFFF)
        x = (x | (x << np.uint64(32))) & np.uint64(0x1F00000000FFFF)
        x = (x | (x << np.uint64(16))) & np.uint64(0x1F0000FF0000FF)
        x = (x | (x << np.uint64(8))) & np.uint64(0x100F00F00F00F00F)
        x = (x | (x << np.uint64(4))) & np.uint64(0x10C30C30C30C30C3)
        return (x | (x << np.uint64(2))) & np.uint64(0x1249249249249249)

    code = spread(q[:, 0]) | (spread(q[:, 1]) << np.uint64(1))
    return np.argsort(code, kind="stable")


def _zone_loads(owner: np.ndarray, demand: np.ndarray, zones: int) -> tuple[np.ndarray, ...]:
    customers = np.bincount(owner, minlength=zones)
    connected = np.bincount(owner, weights=demand, minlength=zones)
    return customers, connected, design_load_kva(connected, customers)


def _assign(sites_uv: np.ndarray, uv: np.ndarray) -> np.ndarray:
    _dist, owner = cKDTree(sites_uv).query(uv, k=1)
    return np.asarray(owner, dtype=np.int64)


def build_lv_zones(
    rng: np.random.Generator, layout: ServicePointLayout, transformers: int
) -> LvZones:
    """Split the connections into ``transformers`` zones (nearest of randomly drawn sites, so
    zones are small where houses are dense), split any zone too big for 630 kVA, site each
    transformer on the street by its zone, and rate it for the zone's design load."""
    uv, demand = layout.uv, layout.demand_kva
    count = len(uv)
    sites = np.sort(rng.choice(count, size=min(transformers, count), replace=False))
    owner = _assign(uv[sites], uv)
    for _ in range(MAX_SPLIT_ROUNDS):
        _customers, _connected, load = _zone_loads(owner, demand, len(sites))
        overloaded = np.flatnonzero(load > STANDARD_KVA[-1])
        if len(overloaded) == 0:
            break
        # A second transformer at the far end of each overloaded zone.
        far = np.linalg.norm(uv - uv[sites[owner]], axis=1)
        members = np.isin(owner, overloaded)
        idx = np.flatnonzero(members)
        by_zone = np.lexsort((-far[idx], owner[idx]))
        first = np.unique(owner[idx][by_zone], return_index=True)[1]
        sites = np.sort(np.concatenate([sites, idx[by_zone][first]]))
        owner = _assign(uv[sites], uv)
    # Zones left empty (exact duplicate positions) are dropped.
    used = np.unique(owner)
    sites = sites[used]
    owner = np.searchsorted(used, owner)

    # The transformer stands on the street centreline opposite its site house, a little
    # away from the intersection so that its tap has a length.
    site_uv = uv[sites].copy()
    off = np.abs(site_uv - np.round(site_uv))
    street_axis = np.argmin(off, axis=1)
    rows = np.arange(len(sites))
    site_uv[rows, street_axis] = np.round(site_uv[rows, street_axis])
    along = site_uv[rows, 1 - street_axis]
    near = np.abs(along - np.round(along)) < 0.05
    along = np.where(near, np.round(along) + 0.05, along)
    site_uv[rows, 1 - street_axis] = along

    # Spatial order for transformers, then for connections (zone by zone, nearest first).
    t_order = morton_order(site_uv)
    t_rank = np.empty_like(t_order)
    t_rank[t_order] = np.arange(len(t_order))
    t_uv = site_uv[t_order]
    owner = t_rank[owner]
    dist = np.linalg.norm(uv - t_uv[owner], axis=1)
    order = np.lexsort((dist, owner))
    owner, dist, sp_uv = owner[order], dist[order], uv[order]

    customers, connected, load = _zone_loads(owner, demand[order], len(t_uv))
    return LvZones(
        transformer_uv=t_uv,
        transformer_grid=np.round(t_uv).astype(np.int64),
        rated_kva=rating_for(load),
        design_load_kva=load,
        connected_kva=connected,
        customers=customers,
        order=order,
        owner=owner,
        lv_parent=_lv_tree(sp_uv, owner, dist),
    )


def _lv_tree(uv: np.ndarray, owner: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """Each connection hangs from its nearest neighbour in the same zone that is closer to
    the transformer (a radial tree, no cycles: parents are strictly nearer the source), or
    from the transformer itself when no such neighbour is nearer than the transformer."""
    count = len(uv)
    k = min(LV_NEIGHBOURS + 1, count)
    span, near = cKDTree(uv).query(uv, k=k)
    span = span.reshape(count, k)
    near = near.reshape(count, k)
    rank = np.arange(count)  # within a zone, connections are sorted nearest first
    ok = (owner[near] == owner[:, None]) & (rank[near] < rank[:, None]) & (span < dist[:, None])
    has = ok.any(axis=1)
    first = np.argmax(ok, axis=1)
    return np.where(has, near[np.arange(count), first], -1)
