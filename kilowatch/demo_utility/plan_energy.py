"""Plan meters, energy and readings of the demo utility (pure numpy, deterministic).

Time is in days from the first local midnight of the window (the utility's calendar); month m runs from
``bounds[m]`` to ``bounds[m + 1]``. Energy is integer Wh internally so that sums are
exact: a zone meter's monthly advance is exactly the true energy downstream plus the
technical loss (``plan_losses``). Within a month a usage point draws at a constant rate, so
the index at any instant is the cumulative registered energy up to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np

from kilowatch.demo_utility.copying import days_from
from kilowatch.demo_utility.names import METER_MODELS
from kilowatch.demo_utility.network_input import NetworkInput
from kilowatch.demo_utility.plan_customers import CustomerPlan
from kilowatch.demo_utility.plan_losses import plan_zones
from kilowatch.demo_utility.profiles import (
    COM,
    IND,
    MONTHLY_NOISE,
    PL,
    RES,
    base_kwh_per_day,
    effective_days,
    month_starts,
    season_factor,
)
from kilowatch.demo_utility.thefts import ATTACKS, TheftPlan, inject_thefts

METER_TYPES = ("postpaid", "prepaid", "smart")
TYPE_SHARES = {
    RES: (0.55, 0.40, 0.05),
    COM: (0.6, 0.25, 0.15),
    IND: (0.3, 0.0, 0.7),
    PL: (1.0, 0.0, 0.0),
}
MISSING_READ_SHARE = 0.015
ROLLOVER_SHARE = 0.003
REPLACEMENT_SHARE = 0.006
ZONE_DIGITS = {"transformer": 9, "feeder": 10}
# Honest customers whose meter registers a fall like a thief's (the detector must keep them
# out of the top of the ranking): a home left vacant, rooftop solar (net import falls), a
# new frugal occupant. Each about 1 % of the customers; never thieves.
LOOKALIKES = ("vacant", "rooftop_solar", "frugal_new_occupant")
LOOKALIKE_SHARE = 0.01


@dataclass
class EnergyPlan:
    """Meters (main meters 0..N-1 at usage point i, then replacement meters), their
    installations, monthly energies, the reads and the zone meters' energies."""

    bounds: np.ndarray  # (M+1,) days
    meter_usage_point: np.ndarray
    meter_type: list[str]
    meter_make: list[str]
    meter_model: list[str]
    meter_prefix: list[str]
    meter_digits: np.ndarray
    meter_multiplier: np.ndarray
    meter_phases: np.ndarray
    meter_removed: np.ndarray  # bool: replaced during the window
    # Installation k is meter k's: main at its usage point, or the replacement meter.
    inst_start: np.ndarray  # days
    inst_start_index: np.ndarray  # register units
    inst_end: np.ndarray  # days, NaN = still installed
    inst_end_index: np.ndarray
    inst_replaces: np.ndarray  # installation index or -1
    true_wh: np.ndarray  # (N, M) int64
    registered_wh: np.ndarray  # (N, M) int64
    thefts: TheftPlan
    missing: np.ndarray  # (N, M) bool
    rollover_month: np.ndarray  # (N,) -1
    replaced_month: np.ndarray  # (N,) -1
    # Reads, sorted by (meter, time): usage point, meter (= installation), time, value.
    rd_usage_point: np.ndarray
    rd_meter: np.ndarray
    rd_month: np.ndarray
    rd_time: np.ndarray
    rd_value: np.ndarray
    rd_source: np.ndarray  # object: handheld / ami
    # Zones: true downstream energy and technical loss per month (Wh), and what the loss
    # rests on (``plan_losses``): the model's coefficients and each zone's factors.
    tr_true_wh: np.ndarray
    tr_loss_wh: np.ndarray
    fd_true_wh: np.ndarray
    fd_loss_wh: np.ndarray
    tr_no_load_kw: np.ndarray
    tr_load_kw_per_kw2: np.ndarray
    tr_loss_factors: np.ndarray  # (T, 2): no-load, load
    fd_load_kw_per_kw2: np.ndarray
    fd_loss_factor: np.ndarray
    tr_start_index_wh: np.ndarray
    fd_start_index_wh: np.ndarray
    stats: dict[str, int] = field(default_factory=dict)
    lookalike: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    lookalike_month: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))

    @property
    def tr_in_wh(self) -> np.ndarray:
        return self.tr_true_wh + self.tr_loss_wh

    @property
    def fd_in_wh(self) -> np.ndarray:
        return self.fd_true_wh + self.fd_loss_wh


def month_bounds(first_month: date, months: int) -> np.ndarray:
    """Days from the window's first local midnight to each of its month edges."""
    return np.array([days_from(first_month, d) for d in month_starts(first_month, months)])


def _true_energy(
    rng: np.random.Generator, cust: CustomerPlan, first_month: date, months: int
) -> np.ndarray:
    """(N, M) true kWh: base weekday use x season x weekday-equivalent days x trend x noise,
    with holidays away from home, and nothing after a disconnection."""
    n, cat = cust.n, cust.category
    base = base_kwh_per_day(rng, cat, cust.kva)
    air_conditioned = (cat == RES) & (cust.kva >= 4.4)
    sensitivity = np.where(air_conditioned, 1.4, 1.0) * np.exp(rng.normal(0.0, 0.15, n))
    season = season_factor(first_month, months)[cat] ** sensitivity[:, None]
    days = effective_days(first_month, months)[cat]
    growth = rng.normal(0.02, 0.04, n)
    trend = (1.0 + growth[:, None]) ** (np.arange(months)[None, :] / 12.0)
    noise = np.exp(rng.normal(0.0, 1.0, (n, months)) * MONTHLY_NOISE[cat][:, None])
    away = (cat[:, None] == RES) & (rng.random((n, months)) < 0.02)
    absence = np.where(away, rng.uniform(0.15, 0.5, (n, months)), 1.0)
    energy = base[:, None] * season * days * trend * noise * absence
    for u in np.flatnonzero(cust.disconnect_month >= 0).tolist():
        k = int(cust.disconnect_month[u])
        energy[u, k] *= rng.uniform(0.1, 0.9)
        energy[u, k + 1 :] = 0.0
    return energy


def _meters(rng: np.random.Generator, cust: CustomerPlan) -> dict:
    n, cat = cust.n, cust.category
    shares = np.array([TYPE_SHARES[c] for c in range(4)])[cat]
    pick = (rng.random(n)[:, None] > np.cumsum(shares, axis=1)).sum(axis=1).clip(0, 2)
    types = np.asarray(METER_TYPES, dtype=object)[pick]
    digits = np.where((types == "smart") | (cat == IND) | (rng.random(n) < 0.35), 6, 5)
    ct = (cat == IND) & (cust.kva >= 100)
    multiplier = np.where(ct, rng.choice([10, 20, 40], size=n), 1)
    model_pick = rng.integers(0, 3, n)
    models = [METER_MODELS[t][k] for t, k in zip(types.tolist(), model_pick.tolist(), strict=True)]
    return {"type": types, "digits": digits, "multiplier": multiplier, "models": models}


def _read_times(rng: np.random.Generator, bounds: np.ndarray, smart: np.ndarray) -> np.ndarray:
    """(N, M) read instants: a round passes on the same day of each month (+/- 1 day)
    during working hours (08:00-17:00 local time); smart meters report at the end of each
    month (23:59 local time on its last day)."""
    n, months = len(smart), len(bounds) - 1
    day = rng.integers(3, 25, n)[:, None] + rng.integers(-1, 2, (n, months))
    hour = rng.uniform(8.0, 17.0, (n, months)) / 24.0
    times = bounds[None, :-1] + (day - 1) + hour
    # A minute before midnight: the read closes its own month (periods are [from, to)).
    return np.where(smart[:, None], bounds[None, 1:] - 1.0 / 1440.0, times)


def _cumulative(
    registered_wh: np.ndarray, bounds: np.ndarray, times: np.ndarray, pre_wh: np.ndarray
) -> np.ndarray:
    """Registered Wh from the window start to each of ``times`` (N, K), plus ``pre_wh``
    registered before the window. Constant rate within a month."""
    months = len(bounds) - 1
    cum = np.concatenate(
        [np.zeros((len(registered_wh), 1)), np.cumsum(registered_wh, axis=1)], axis=1
    )
    m = np.clip(np.searchsorted(bounds, times, side="right") - 1, 0, months - 1)
    frac = np.clip((times - bounds[m]) / (bounds[m + 1] - bounds[m]), 0.0, 1.0)
    rows = np.arange(len(registered_wh))[:, None]
    return pre_wh[:, None] + cum[rows, m] + registered_wh[rows, m] * frac


def _special(rng: np.random.Generator, pool: np.ndarray, share: float, n: int) -> np.ndarray:
    count = max(2, round(n * share)) if n >= 50 else 0
    count = min(count, len(pool))
    return np.sort(rng.choice(pool, size=count, replace=False)) if count else pool[:0]


def plan_energy(
    net: NetworkInput, cust: CustomerPlan, *, seed: int, first_month: date, months: int
) -> EnergyPlan:
    rng = np.random.default_rng([seed, 5_002])
    n = cust.n
    bounds = month_bounds(first_month, months)
    energy = _true_energy(rng, cust, first_month, months)
    true_wh = np.rint(energy * 1000.0).astype(np.int64)
    eligible = (cust.category != PL) & (cust.disconnect_month < 0)
    calendar = (first_month.month - 1 + np.arange(months)) % 12 + 1
    thefts = inject_thefts(rng, true_wh / 1000.0, eligible, n, calendar)
    registered_wh = np.rint(thefts.registered * 1000.0).astype(np.int64)
    lookalike, lookalike_month = _lookalikes(
        np.random.default_rng([seed, 5_003]),
        true_wh,
        cust,
        eligible & (thefts.attack < 0),
        calendar,
        first_month,
    )
    registered_wh[thefts.attack < 0] = true_wh[thefts.attack < 0]
    meters = _meters(rng, cust)
    digits, multiplier = meters["digits"], meters["multiplier"].astype(float)
    smart = meters["type"] == "smart"

    plain = np.flatnonzero(eligible & (thefts.attack < 0))
    rollover = _special(rng, plain[multiplier[plain] == 1], ROLLOVER_SHARE, n)
    replaced = _special(rng, np.setdiff1d(plain, rollover), REPLACEMENT_SHARE, n)
    rollover_month = np.full(n, -1)
    replaced_month = np.full(n, -1)
    rollover_month[rollover] = rng.integers(3, months - 4, len(rollover))
    replaced_month[replaced] = rng.integers(4, months - 3, len(replaced))
    digits[rollover] = 5

    times = _read_times(rng, bounds, smart)
    missing = rng.random((n, months)) < MISSING_READ_SHARE
    missing[:, [0, months - 1]] = False
    rows = np.arange(n)
    missing[replaced, replaced_month[replaced]] = False
    missing[replaced, replaced_month[replaced] - 1] = False

    # Main meters were fitted during a meter campaign in the month before the window.
    inst_start = rng.uniform(-25.0, -3.0, n)
    pre_wh = registered_wh[:, 0] / (bounds[1] - bounds[0]) * (-inst_start)
    cum = _cumulative(registered_wh, bounds, times, pre_wh)  # (N, M) Wh at each read
    capacity = 10.0**digits
    register_total = cum[:, -1] / 1000.0 / multiplier
    start_index = np.where(
        rng.random(n) < 0.3, rng.integers(100, 60_000, n), rng.integers(0, 40, n)
    ).astype(float)
    start_index = np.where(
        start_index + register_total * 1.2 + 10 < capacity, start_index, rng.integers(0, 40, n)
    )
    # Rollover: a refurbished meter close to the end of its dials wraps in its roll month.
    k = rollover_month[rollover]
    wrap_at = (cum[rollover, k - 1] + cum[rollover, k]) / 2.0 / 1000.0
    start_index[rollover] = np.floor(capacity[rollover] - wrap_at)
    # A meter running backwards starts high enough never to pass zero.
    reversed_ = np.flatnonzero(thefts.attack == ATTACKS.index("meter_reversed"))
    start_index[reversed_] = np.ceil(
        -np.minimum(cum[reversed_].min(axis=1), 0) / 1000.0 / multiplier[reversed_]
    ) + rng.integers(200, 5000, len(reversed_))

    # Replacements: the old meter comes off two days before the month's read.
    n_rep = len(replaced)
    k = replaced_month[replaced]
    swap = times[replaced, k] - 2.0
    swap_cum = _cumulative(registered_wh[replaced], bounds, swap[:, None], pre_wh[replaced])[:, 0]
    end_index = np.floor(start_index[replaced] + swap_cum / 1000.0 / multiplier[replaced])
    end_index = np.mod(end_index, capacity[replaced])

    values = np.floor(start_index[:, None] + cum / 1000.0 / multiplier[:, None])
    meter_of = np.repeat(rows[:, None], months, axis=1)
    for j, u in enumerate(replaced.tolist()):
        after = np.arange(months) >= replaced_month[u]
        values[u, after] = np.floor((cum[u, after] - swap_cum[j]) / 1000.0 / multiplier[u])
        meter_of[u, after] = n + j
    values = np.mod(values, capacity[:, None])  # a replacement meter has the same dials

    keep = ~missing
    rd_up = np.repeat(rows[:, None], months, axis=1)[keep]
    rd_meter = meter_of[keep]
    order = np.lexsort((times[keep], rd_meter))
    source = np.where(smart, "ami", "handheld").astype(object)
    all_meters = np.concatenate([rows, replaced])
    models = meters["models"] + [meters["models"][u] for u in replaced.tolist()]
    up_tr, up_fd = net.sp_transformer[cust.sp_index], net.sp_feeder[cust.sp_index]
    zones = plan_zones(rng, net, up_tr, up_fd, true_wh, bounds)
    return EnergyPlan(
        bounds=bounds,
        meter_usage_point=all_meters,
        meter_type=meters["type"][all_meters].tolist(),
        meter_make=[m[0] for m in models],
        meter_model=[m[1] for m in models],
        meter_prefix=[m[2] for m in models],
        meter_digits=digits[all_meters],
        meter_multiplier=meters["multiplier"][all_meters],
        meter_phases=cust.phases[all_meters],
        meter_removed=np.isin(np.arange(n + n_rep), replaced),
        inst_start=np.concatenate([inst_start, swap]),
        inst_start_index=np.concatenate([start_index, np.zeros(n_rep)]),
        inst_end=_ends(n, replaced, swap),
        inst_end_index=_ends(n, replaced, end_index),
        inst_replaces=np.concatenate([np.full(n, -1), replaced]),
        true_wh=true_wh,
        registered_wh=registered_wh,
        thefts=thefts,
        missing=missing,
        rollover_month=rollover_month,
        replaced_month=replaced_month,
        rd_usage_point=rd_up[order],
        rd_meter=rd_meter[order],
        rd_month=np.repeat(np.arange(months)[None, :], n, axis=0)[keep][order],
        rd_time=times[keep][order],
        rd_value=values[keep][order],
        rd_source=source[rd_up[order]],
        **zones,
        stats={
            "thefts": int((thefts.attack >= 0).sum()),
            "rollovers": len(rollover),
            "replacements": n_rep,
            "missing_reads": int(missing.sum()),
            "lookalikes": int((lookalike >= 0).sum()),
        },
        lookalike=lookalike,
        lookalike_month=lookalike_month,
    )


def _lookalikes(
    rng: np.random.Generator,
    true_wh: np.ndarray,
    cust: CustomerPlan,
    pool: np.ndarray,
    calendar: np.ndarray,
    first_month: date,
) -> tuple[np.ndarray, np.ndarray]:
    """Pick the honest look-alikes among residential ``pool`` members and lower their true
    (= registered) energy in place from a month on (a new occupant's: the month they moved
    in); (kind index or -1, month or -1)."""
    n, months = true_wh.shape
    kind = np.full(n, -1, dtype=np.int64)
    month = np.full(n, -1, dtype=np.int64)
    candidates = np.flatnonzero(pool & (cust.category == RES))
    count = max(1, round(n * LOOKALIKE_SHARE)) if n >= 100 else 0
    if count == 0 or months < 8 or len(candidates) < count * len(LOOKALIKES):
        return kind, month
    # A new frugal occupant is one who moved in during the window: their contract's start
    # is the month their consumption changes (what the utility's records show).
    moved = _move_in_months(cust, first_month, months)
    newcomers = candidates[(moved[candidates] >= 6) & (moved[candidates] < months - 3)]
    frugal = rng.choice(newcomers, size=min(count, len(newcomers)), replace=False)
    others = rng.choice(np.setdiff1d(candidates, frugal), size=count * 2, replace=False)
    chosen = np.concatenate([others, frugal])  # vacant, rooftop solar, then the newcomers
    # Sunshine over the year (peak in the dry season), for the solar panels' yield.
    sun = 1.0 + 0.2 * np.cos((calendar - 3) / 12.0 * 2 * np.pi)
    for j, u in enumerate(chosen.tolist()):
        k = min(j // count, len(LOOKALIKES) - 1)
        start = int(moved[u]) if k == 2 else int(rng.integers(6, months - 3))
        after = np.arange(months) >= start
        if LOOKALIKES[k] == "vacant":
            factor = np.where(after, rng.uniform(0.03, 0.1), 1.0)
        elif LOOKALIKES[k] == "rooftop_solar":
            factor = np.where(after, 1.0 - rng.uniform(0.3, 0.6) * sun, 1.0)
        else:
            factor = np.where(after, rng.uniform(0.3, 0.5), 1.0)
        true_wh[u] = np.rint(true_wh[u] * factor).astype(np.int64)
        kind[u], month[u] = k, start
    return kind, month


def _move_in_months(cust: CustomerPlan, first_month: date, months: int) -> np.ndarray:
    """Per usage point, the window month its current contract started in (-1: before)."""
    out = np.full(cust.n, -1, dtype=np.int64)
    for u, d in enumerate(cust.ct_start[: cust.n]):
        k = (d.year - first_month.year) * 12 + d.month - first_month.month
        if d >= first_month and k < months:
            out[u] = k
    return out


def _ends(n: int, replaced: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Installation end column: NaN (still installed) except for replaced main meters;
    replacement meters stay installed."""
    out = np.full(n + len(replaced), np.nan)
    out[replaced] = values
    return out
