"""Energy theft, injected into what meters register (the load itself goes on).

The six attack types of Jokar, Arianpoo and Leung, "Electricity Theft Detection in AMI
Using Customers' Consumption Patterns", IEEE Trans. Smart Grid 7(1), 2016, applied to
monthly energies E_t from the attack's first month on:

- h1: x * E_t, one x in [0.1, 0.8];
- h2: 0 during a random window of months, E_t outside it (on/off);
- h3: x_t * E_t, x_t in [0.1, 0.8] drawn each month;
- h4: x_t * mean(E), x_t in [0.1, 0.8] (a flat, scaled-down profile);
- h5: mean(E) with a little noise (the profile flattened);
- h6: the readings in reversed order;

plus three physical ones: ``bypass`` (a cable round the meter: near zero registered while
the load continues), ``meter_stopped`` (index frozen) and ``meter_reversed`` (the meter
runs backwards: the index decreases by x * E_t, x in [0.5, 1.0]).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ATTACKS = ("h1", "h2", "h3", "h4", "h5", "h6", "bypass", "meter_stopped", "meter_reversed")
THEFT_SHARE = 0.05


@dataclass
class TheftPlan:
    """Per usage point: attack index into ATTACKS (-1: none), first month, first month
    after it (exclusive), parameters; and the registered monthly energies."""

    attack: np.ndarray
    start: np.ndarray
    stop: np.ndarray
    parameters: list[dict[str, object] | None]
    registered: np.ndarray


def theft_count(eligible: int, customers: int) -> int:
    """A few percent; at least one of each attack type once the utility has 100 customers."""
    count = round(customers * THEFT_SHARE)
    if customers >= 100:
        count = max(count, len(ATTACKS))
    return min(count, eligible)


def inject_thefts(
    rng: np.random.Generator, energy: np.ndarray, eligible: np.ndarray, customers: int
) -> TheftPlan:
    """Choose thieves among ``eligible`` usage points and rewrite what their meters register.
    ``energy`` is (usage points, months) true kWh; returns a TheftPlan."""
    n, months = energy.shape
    attack = np.full(n, -1, dtype=np.int64)
    start = np.full(n, -1, dtype=np.int64)
    stop = np.full(n, -1, dtype=np.int64)
    parameters: list[dict[str, object] | None] = [None] * n
    registered = energy.copy()
    candidates = np.flatnonzero(eligible)
    count = theft_count(len(candidates), customers)
    if count == 0 or months < 8:
        return TheftPlan(attack, start, stop, parameters, registered)
    thieves = np.sort(rng.choice(candidates, size=count, replace=False))
    kinds = rng.permutation(len(ATTACKS)).tolist()[: min(count, len(ATTACKS))]
    kinds += rng.integers(0, len(ATTACKS), size=count - len(kinds)).tolist()
    kinds = np.asarray(kinds)[rng.permutation(count)]
    for u, kind in zip(thieves.tolist(), kinds.tolist(), strict=True):
        s = int(rng.integers(6, months - 3))
        e = energy[u, s:]
        stop_month = months
        name = ATTACKS[kind]
        if name == "h1":
            x = float(rng.uniform(0.1, 0.8))
            out, params = x * e, {"x": round(x, 4)}
        elif name == "h2":
            length = int(rng.integers(2, 7))
            stop_month = min(months, s + length)
            out = e.copy()
            out[: stop_month - s] = 0.0
            params = {"off_months": stop_month - s}
        elif name == "h3":
            x = rng.uniform(0.1, 0.8, size=len(e))
            out, params = x * e, {"x": np.round(x, 4).tolist()}
        elif name == "h4":
            x = rng.uniform(0.1, 0.8, size=len(e))
            out, params = (
                x * e.mean(),
                {"x": np.round(x, 4).tolist(), "mean_kwh": round(float(e.mean()), 3)},
            )
        elif name == "h5":
            noise = rng.normal(0.0, 0.05, size=len(e))
            out, params = e.mean() * (1.0 + noise), {"mean_kwh": round(float(e.mean()), 3)}
        elif name == "h6":
            out, params = e[::-1].copy(), {}
        elif name == "bypass":
            x = rng.uniform(0.0, 0.06, size=len(e))
            out, params = x * e, {"x": np.round(x, 4).tolist()}
        elif name == "meter_stopped":
            out, params = np.zeros_like(e), {}
        else:  # meter_reversed
            x = float(rng.uniform(0.5, 1.0))
            out, params = -x * e, {"x": round(x, 4)}
        registered[u, s:] = out
        attack[u], start[u], stop[u], parameters[u] = kind, s, stop_month, params
    return TheftPlan(attack, start, stop, parameters, registered)
