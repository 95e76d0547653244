"""From a loaded history to scores: features, detectors, probability, ranking, reasons.
Pure computation on arrays (the service loads, stores and registers)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.ensemble import IsolationForest

from fraud.features.build import features_of
from fraud.features.drops import BASELINE, RECENT
from fraud.features.matrix import Array, FeatureMatrix
from fraud.features.peers import peer_median
from fraud.features.series import History
from fraud.features.stats import nanmean
from fraud.scoring import detectors, reasons
from fraud.scoring.prepare import Scaling
from fraud.scoring.ranking import (
    Ranking,
    RankingRules,
    balance_check,
    rank,
    recoverable_kwh,
)

LOF_NEIGHBOURS = 10
PRIOR = 0.05  # expected share of usage points with a loss, before any label


@dataclass(frozen=True)
class ForestModel:
    """What the registry stores for the isolation forest: the scaling it was fitted on."""

    scaling: Scaling
    forest: IsolationForest
    columns: list[str]


@dataclass
class Scored:
    matrix: FeatureMatrix
    forest: Array
    lof: Array
    anomaly: Array
    direction: Array
    probability: Array
    ranking: Ranking
    scaling: Scaling
    transformer_id: Array
    seconds: dict[str, float] = field(default_factory=dict)

    def reasons(self, rows: np.ndarray | None = None) -> list[list[dict[str, object]]]:
        return reasons.explain(self.matrix, self.scaling, self.transformer_id, rows)


def consumption_levels(h: History) -> tuple[Array, Array, Array]:
    """kWh a month: recent (last 3 months' mean), baseline (the 12 before), and the median
    of the peers' recent (same transformer and category)."""
    recent = nanmean(h.kwh[:, -RECENT:])
    baseline = nanmean(h.kwh[:, -RECENT - BASELINE : -RECENT])
    peer, _ = peer_median(h, recent)
    return recent, baseline, peer


def fit_forest_model(matrix: FeatureMatrix, params: detectors.ForestParams) -> ForestModel:
    scaling = Scaling.fit(matrix.values)
    return ForestModel(
        scaling, detectors.fit_forest(scaling.apply(matrix.values), params), matrix.columns
    )


def score(
    history: History,
    model: ForestModel,
    rules: RankingRules,
    *,
    boosting: detectors.Boosting | None = None,
    matrix: FeatureMatrix | None = None,
    prior: float = PRIOR,
    honest_weight: float = detectors.HONEST_WEIGHT,
) -> Scored:
    clock: dict[str, float] = {}
    t0 = time.perf_counter()
    matrix = matrix or features_of(history)
    clock["features"] = time.perf_counter() - t0
    if matrix.columns != model.columns:
        raise ValueError("the forest was trained on other features: train it again")
    t0 = time.perf_counter()
    x = model.scaling.apply(matrix.values)
    forest = detectors.forest_score(model.forest, x)
    clock["isolation_forest"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    lof = detectors_zone_lof(x, history.transformer_id)
    clock["zone_lof"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    anomaly = detectors.anomaly(forest, lof)
    direction = detectors.direction(matrix)
    if boosting is not None:
        probability = boosting.predict_proba(matrix.values)[:, 1]
    else:
        rank_ = detectors.combined(anomaly, direction)
        rank_ = detectors.explained(rank_, detectors.honest_explanation(matrix), honest_weight)
        probability = detectors.prior_probability(rank_, prior)
    recent, baseline, peer = consumption_levels(history)
    recoverable = recoverable_kwh(recent, baseline, peer, rules.horizon_months)
    balance = None
    if history.zone_ntl_kwh is not None:
        balance = balance_check(history.zone_ntl_kwh, recoverable / rules.horizon_months)
    ranking = rank(probability, history.zone_ntl_share, recoverable, rules, balance)
    clock["probability_and_ranking"] = time.perf_counter() - t0
    return Scored(
        matrix,
        forest,
        lof,
        anomaly,
        direction,
        probability,
        ranking,
        model.scaling,
        history.transformer_id,
        {k: round(v, 3) for k, v in clock.items()},
    )


def detectors_zone_lof(x: Array, transformer_id: Array) -> Array:
    from fraud.scoring.lof import zone_lof

    return zone_lof(x, transformer_id, LOF_NEIGHBOURS)


def summary(scored: Scored) -> dict[str, Any]:
    """A few figures of a scoring, for the registry's metrics and the run."""
    sel = scored.ranking.selection
    return {
        "usage_points": len(scored.probability),
        "mean_probability": round(float(np.mean(scored.probability)), 5)
        if len(scored.probability)
        else None,
        "selected_priority": int((sel == "priority").sum()),
        "selected_audit": int((sel == "audit").sum()),
    }
