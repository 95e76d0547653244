"""The inspection ranking: what a visit to each usage point is worth, and which visits an
inspection budget buys.

    priority = P(NTL) x zone factor x recoverable energy (kWh) x price (minor units / kWh)
               - visit cost (minor units)

- zone factor: ``clip(0.5 + NTL share / 0.10, 0.5, 3)`` from the transformer zone's energy
  balance (a zone losing nothing halves the priority, 5 % leaves it, 10 % makes it 1.5x);
  1 when the zone's balance is unknown or not analysable (no evidence either way).
- recoverable energy: ``horizon`` months x what the usage point should register a month
  (the larger of its own 12-month baseline and its peers' median) minus what it registers
  now (its last 3 months' mean; nothing measured counts as nothing registered), never
  below 0.

- balance check (with the zone factor): a theft shows in its zone's balance, a vacant
  home, rooftop solar or a frugal new occupant does not. Where the zone is analysable, the
  share of the usage point's missing energy a month (expected - recent) that the zone's
  NTL a month could hold, ``clip(zone NTL kWh / missing kWh, 0, 1)``, scales the priority
  by ``0.1 + 0.9 x that share`` (a zone that loses nothing keeps a tenth: the balance may
  be wrong); 1 where the zone is not analysable or nothing is missing.

The budget buys ``budget`` visits: ``round(budget x audit share)`` of them drawn at random
(seeded) among the usage points not otherwise selected, so that the hit rate measured on
them is an unbiased estimate of the prevalence; the rest go to the highest priorities
above zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from fraud.features.matrix import Array

ZONE_REFERENCE_SHARE = 0.10
ZONE_FACTOR_MIN, ZONE_FACTOR_MAX = 0.5, 3.0


@dataclass(frozen=True)
class RankingRules:
    budget: int = 100  # visits
    audit_share: float = 0.10  # of the budget, drawn at random
    price_minor_per_kwh: int = 100  # minor units of ``currency`` per kWh
    visit_cost_minor: int = 5_000
    horizon_months: int = 12  # months of losses a visit stops
    currency: str = "XOF"
    use_zone_factor: bool = True
    seed: int = 7


@dataclass(frozen=True)
class Ranking:
    zone_factor: Array
    recoverable_kwh: Array
    priority_minor: npt.NDArray[np.int64]
    rank: npt.NDArray[np.int64]  # 1 = highest priority
    selection: npt.NDArray[np.object_]  # "priority", "audit" or None


def zone_factor(ntl_share: Array) -> Array:
    factor = np.clip(
        0.5 + np.nan_to_num(ntl_share) / ZONE_REFERENCE_SHARE, ZONE_FACTOR_MIN, ZONE_FACTOR_MAX
    )
    return np.where(np.isfinite(ntl_share), factor, 1.0)


def balance_check(zone_ntl_kwh: Array, missing_kwh: Array) -> Array:
    """``0.1 + 0.9 x clip(zone NTL kWh / missing kWh, 0, 1)``; 1 when either is unknown or
    nothing is missing (both a month)."""
    with np.errstate(all="ignore"):
        held = np.clip(zone_ntl_kwh / missing_kwh, 0.0, 1.0)
    known = np.isfinite(zone_ntl_kwh) & np.isfinite(missing_kwh) & (missing_kwh > 0)
    return np.where(known, 0.1 + 0.9 * np.nan_to_num(held), 1.0)


def recoverable_kwh(recent: Array, baseline: Array, peer_median: Array, horizon: int) -> Array:
    """kWh a visit could recover over ``horizon`` months (see the module doc)."""
    with np.errstate(all="ignore"):
        expected = np.fmax(baseline, peer_median)  # fmax: NaN only if both are
    gap = np.nan_to_num(expected) - np.nan_to_num(recent)
    return np.clip(gap, 0.0, None) * horizon


def rank(
    probability: Array,
    ntl_share: Array,
    recoverable: Array,
    rules: RankingRules,
    balance: Array | None = None,
) -> Ranking:
    """The ranking; ``balance`` is ``balance_check``'s factor (applied with the zone
    factor, and stored in it)."""
    factor = zone_factor(ntl_share) if rules.use_zone_factor else np.ones(len(probability))
    if balance is not None and rules.use_zone_factor:
        factor = factor * balance
    value = probability * factor * recoverable * rules.price_minor_per_kwh
    priority = np.rint(value - rules.visit_cost_minor).astype(np.int64)
    # Highest priority first; ties by probability, then by row (stable, reproducible).
    order = np.lexsort((np.arange(len(priority)), -probability, -priority))
    ranks = np.empty(len(priority), dtype=np.int64)
    ranks[order] = np.arange(1, len(priority) + 1)
    selection = np.full(len(priority), None, dtype=object)
    budget = min(rules.budget, len(priority))
    audits = round(budget * rules.audit_share)
    by_priority = [i for i in order[: budget - audits].tolist() if priority[i] > 0]
    selection[by_priority] = "priority"
    rest = np.flatnonzero(selection == None)  # noqa: E711 (element-wise)
    if audits and len(rest):
        rng = np.random.default_rng(rules.seed)
        drawn = rng.choice(rest, size=min(audits, len(rest)), replace=False)
        selection[drawn] = "audit"
    return Ranking(factor, recoverable, priority, ranks, selection)
