"""The city: a jittered, gently warped street grid and service points clustered like a city.

Everything here is in *grid units* (one unit = one street block, ``BLOCK_M`` metres) until
``StreetGrid.to_metres`` maps a grid position to projected metres around the city centre.
Randomness comes only from the ``numpy.random.Generator`` passed in, so a seed fixes the
whole layout.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BLOCK_M = 100.0  # street spacing: a typical urban block in West African cities
AREA_PER_SERVICE_POINT_M2 = 400.0  # gross urban area per connection (plots, streets, open land)

# Customer categories with their share of connections and their connected demand (kVA),
# drawn log-normally: exp(N(mu, sigma)).
CATEGORIES = ("residential", "commercial", "industrial")
DEMAND_LOGNORMAL = {"residential": (0.7, 0.5), "commercial": (1.9, 0.5), "industrial": (3.2, 0.4)}


@dataclass(frozen=True)
class StreetGrid:
    """An ``n`` x ``n`` street grid: node (i, j) sits at ``nodes_m[i, j]`` (projected metres,
    relative to the city centre). Positions between nodes interpolate bilinearly, so a
    point on a grid line lies on the (slightly curved) street."""

    n: int
    nodes_m: np.ndarray  # (n, n, 2) float64

    def to_metres(self, uv: np.ndarray) -> np.ndarray:
        """Grid units (k, 2) -> projected metres (k, 2), relative to the centre."""
        u = np.clip(uv[:, 0], 0.0, self.n - 1.000001)
        v = np.clip(uv[:, 1], 0.0, self.n - 1.000001)
        i = np.floor(u).astype(np.int64)
        j = np.floor(v).astype(np.int64)
        fu = (u - i)[:, None]
        fv = (v - j)[:, None]
        p = self.nodes_m
        return (
            p[i, j] * (1 - fu) * (1 - fv)
            + p[i + 1, j] * fu * (1 - fv)
            + p[i, j + 1] * (1 - fu) * fv
            + p[i + 1, j + 1] * fu * fv
        )

    def node_metres(self, flat_index: np.ndarray) -> np.ndarray:
        """Grid node flat indices (i * n + j) -> projected metres (k, 2)."""
        return self.nodes_m.reshape(-1, 2)[flat_index]


@dataclass(frozen=True)
class ServicePointLayout:
    """Where the connections are (grid units) and what each one draws."""

    uv: np.ndarray  # (N, 2) float64, grid units
    category: np.ndarray  # (N,) int8 index into CATEGORIES
    demand_kva: np.ndarray  # (N,) float64, rounded to 0.1 kVA


def _fold_into(uv: np.ndarray, low: float, high: float) -> np.ndarray:
    """Reflect stray points back inside [low, high] (clipping would stack them on the edge,
    and two connections must never share a position)."""
    span = high - low
    folded = np.mod(uv - low, 2 * span)
    return low + np.where(folded > span, 2 * span - folded, folded)


def city_radius_blocks(service_points: int) -> float:
    """Radius (in blocks) of a disc holding ``service_points`` at the urban gross density."""
    return float(np.sqrt(service_points * AREA_PER_SERVICE_POINT_M2 / np.pi) / BLOCK_M)


def build_street_grid(rng: np.random.Generator, service_points: int) -> StreetGrid:
    """A street grid wide enough for the city, rotated, warped and jittered so that streets
    look drawn rather than ruled."""
    radius = city_radius_blocks(service_points)
    n = int(np.ceil(3.0 * radius)) + 4
    centre = (n - 1) / 2.0
    idx = np.arange(n, dtype=np.float64) - centre
    gi, gj = np.meshgrid(idx, idx, indexing="ij")
    phase = rng.uniform(0, 2 * np.pi, 2)
    # Long gentle bends (wavelength of a few km), then small per-intersection jitter.
    x = gi + 0.6 * np.sin(2 * np.pi * gj / 23.0 + phase[0])
    y = gj + 0.6 * np.sin(2 * np.pi * gi / 29.0 + phase[1])
    x = x + rng.normal(0.0, 0.1, x.shape)
    y = y + rng.normal(0.0, 0.1, y.shape)
    angle = rng.uniform(-np.pi / 6, np.pi / 6)
    cos, sin = np.cos(angle), np.sin(angle)
    nodes = np.stack([(x * cos - y * sin) * BLOCK_M, (x * sin + y * cos) * BLOCK_M], axis=-1)
    return StreetGrid(n=n, nodes_m=nodes)


def place_service_points(
    rng: np.random.Generator, grid: StreetGrid, service_points: int
) -> ServicePointLayout:
    """Connections clustered like a city: neighbourhoods (Gaussian clusters) that are larger
    and denser near the centre over a thin background, each house set back from its street."""
    radius = city_radius_blocks(service_points)
    centre = (grid.n - 1) / 2.0
    clusters = max(4, int(np.sqrt(service_points) / 2))
    centres = centre + rng.normal(0.0, 0.45 * radius, (clusters, 2))
    off_centre = np.sum((centres - centre) ** 2, axis=1)
    weights = rng.lognormal(0.0, 0.7, clusters) * np.exp(-off_centre / (2 * (0.6 * radius) ** 2))
    sigmas = np.maximum(0.8, 0.12 * radius * rng.lognormal(0.0, 0.35, clusters))
    # The background: scattered settlement over the whole city.
    centres = np.vstack([centres, [centre, centre]])
    sigmas = np.append(sigmas, 0.7 * radius)
    weights = np.append(weights / weights.sum() * 0.88, 0.12)
    counts = rng.multinomial(service_points, weights)
    component = np.repeat(np.arange(len(counts)), counts)
    uv = centres[component] + rng.normal(0.0, 1.0, (service_points, 2)) * sigmas[component, None]
    uv = _fold_into(uv, 1.0, grid.n - 2.0)

    # Snap each house to its nearest street, on either side, set back into the block.
    # Streets one block inside the grid's edge, so that a house never lands on the street.
    rounded = np.clip(np.round(uv), 2.0, grid.n - 3.0)
    off = np.abs(uv - np.round(uv))
    along_v = off[:, 0] < off[:, 1]  # nearest street is the grid line u = round(u)
    side = rng.choice(np.array([-1.0, 1.0]), service_points)
    setback = 0.07 + 0.33 * rng.beta(1.3, 3.0, service_points)
    street = np.where(along_v, 0, 1)
    uv[np.arange(service_points), street] = (
        rounded[np.arange(service_points), street] + side * setback
    )

    # Shops and workshops concentrate in the centre.
    dist2 = np.sum((uv - centre) ** 2, axis=1)
    p_commercial = 0.06 + 0.15 * np.exp(-dist2 / (2 * (0.3 * radius) ** 2))
    p_industrial = np.full(service_points, 0.02)
    draw = rng.random(service_points)
    category = np.where(draw < p_industrial, 2, np.where(draw < p_industrial + p_commercial, 1, 0))
    demand = np.empty(service_points)
    for index, name in enumerate(CATEGORIES):
        members = category == index
        mu, sigma = DEMAND_LOGNORMAL[name]
        demand[members] = rng.lognormal(mu, sigma, int(members.sum()))
    demand = np.maximum(0.1, np.round(demand, 1))
    return ServicePointLayout(uv=uv, category=category.astype(np.int8), demand_kva=demand)
