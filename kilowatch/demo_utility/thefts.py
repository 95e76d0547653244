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
runs backwards: the index decreases by x * E_t, x in [0.5, 1.0]); and three harder ones,
made to defeat a detector tuned on the others:

- ``partial_bypass``: one circuit of the house round the meter: (1 - x) * E_t, x in
  [0.15, 0.4] (a fall no larger than a frugal season);
- ``intermittent``: x * E_t, x in [0.1, 0.5], on some months only (each month with
  probability p in [0.3, 0.6]), honest on the others;
- ``seasonal``: x * E_t, x in [0.2, 0.5], only in the hot months (March to June, when air
  conditioning makes theft pay), honest the rest of the year.

A quarter of the thieves (``PRE_WINDOW_SHARE``) started before the data begins: their
attack covers the whole window (``start`` 0, parameter ``started_before_window``), so no
drop is ever seen; only peers, shape and the zone balance can tell.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ATTACKS = (
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "bypass",
    "meter_stopped",
    "meter_reversed",
    "partial_bypass",
    "intermittent",
    "seasonal",
)
THEFT_SHARE = 0.05
PRE_WINDOW_SHARE = 0.25
HOT_MONTHS = (3, 4, 5, 6)  # calendar months of the seasonal tampering


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
    rng: np.random.Generator,
    energy: np.ndarray,
    eligible: np.ndarray,
    customers: int,
    calendar_months: np.ndarray | None = None,
) -> TheftPlan:
    """Choose thieves among ``eligible`` usage points and rewrite what their meters register.
    ``energy`` is (usage points, months) true kWh; ``calendar_months`` (1..12) of each
    month, for the seasonal attack; returns a TheftPlan."""
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
    if calendar_months is None:
        calendar_months = (np.arange(months) % 12) + 1
    # The harder types draw from a spawned stream of their own (spawning draws nothing).
    hard = rng.spawn(1)[0]
    before = hard.random(count) < PRE_WINDOW_SHARE
    for i, (u, kind) in enumerate(zip(thieves.tolist(), kinds.tolist(), strict=True)):
        s = int(rng.integers(6, months - 3))
        if before[i] and ATTACKS[kind] not in ("h2", "h6"):
            s = 0  # begun before the window: never seen honest
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
        elif name == "meter_reversed":
            x = float(rng.uniform(0.5, 1.0))
            out, params = -x * e, {"x": round(x, 4)}
        elif name == "partial_bypass":
            x = float(hard.uniform(0.15, 0.4))
            out, params = (1.0 - x) * e, {"bypassed_share": round(x, 4)}
        elif name == "intermittent":
            x = float(hard.uniform(0.1, 0.5))
            on = hard.random(len(e)) < hard.uniform(0.3, 0.6)
            out = np.where(on, x * e, e)
            params = {"x": round(x, 4), "months_on": np.flatnonzero(on).tolist()}
        else:  # seasonal
            x = float(hard.uniform(0.2, 0.5))
            on = np.isin(calendar_months[s:], HOT_MONTHS)
            out, params = np.where(on, x * e, e), {"x": round(x, 4), "months": list(HOT_MONTHS)}
        if s == 0:
            params = {**params, "started_before_window": True}
        registered[u, s:] = out
        attack[u], start[u], stop[u], parameters[u] = kind, s, stop_month, params
    return TheftPlan(attack, start, stop, parameters, registered)
