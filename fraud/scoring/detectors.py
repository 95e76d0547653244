"""The detectors and how their outputs become one probability of a non-technical loss.

- ``isolation_forest``: over every usage point (sklearn ``IsolationForest``); its
  ``score_samples`` negated, so that larger is more anomalous.
- ``zone_lof``: the local outlier factor among the usage points of the same transformer
  zone (``fraud.scoring.lof``): odd *for its neighbourhood*.
- ``direction``: anomalies both ways are not theft; theft makes what the meter registers
  fall, go missing or stop moving with the neighbours. The mean percentile rank of the
  features pointing that way (``SUSPICIOUS``) says how much an anomaly looks like a loss.
- ``gradient_boosting``: once labels exist, a ``HistGradientBoostingClassifier`` learns
  P(NTL) from inspections (missing values handled natively, no imputation).

Without a supervised model, ``probability`` maps the combined rank (anomaly and
direction) to a probability whose mean is the expected theft prevalence (``prior``), so
that the ranking's money figures stay of the right size; a calibrated model replaces it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata
from sklearn.ensemble import HistGradientBoostingClassifier, IsolationForest

from fraud.features.matrix import Array, FeatureMatrix

# feature -> +1 when a larger value is more suspicious, -1 when a smaller one is.
SUSPICIOUS: dict[str, int] = {
    "recent_to_baseline": -1,
    "largest_monthly_drop": +1,
    "change_point_drop": +1,
    "peer_ratio": -1,
    "peer_ratio_baseline": -1,
    "zero_months": +1,
    "missing_months": +1,
    "rejected_reads": +1,
    "flagged_reads": +1,
    "zone_correlation": -1,
    "coefficient_of_variation": -1,
    "subscribed_power_use": -1,
}


@dataclass(frozen=True)
class ForestParams:
    n_estimators: int = 100
    max_samples: int = 256
    random_state: int = 7


@dataclass(frozen=True)
class BoostingParams:
    max_iter: int = 200
    learning_rate: float = 0.1
    max_leaf_nodes: int = 15
    l2_regularization: float = 1.0
    random_state: int = 7


def fit_forest(x: Array, params: ForestParams) -> IsolationForest:
    return IsolationForest(
        n_estimators=params.n_estimators,
        max_samples=min(params.max_samples, max(2, len(x))),
        random_state=params.random_state,
        n_jobs=-1,
    ).fit(x)


def forest_score(forest: IsolationForest, x: Array) -> Array:
    """Larger = more anomalous (the negated ``score_samples``, in (0, 1])."""
    return -forest.score_samples(x)


@dataclass(frozen=True)
class Boosting:
    """A fitted gradient boosting and the columns that were all NaN in its training data
    (set to 0 on both sides: the model never learnt anything from them)."""

    model: HistGradientBoostingClassifier
    dead: np.ndarray

    def predict_proba(self, x: Array) -> Array:
        return self.model.predict_proba(np.where(self.dead, 0.0, x))  # type: ignore[no-any-return]


def fit_boosting(x: Array, y: Array, params: BoostingParams) -> Boosting:
    dead = np.asarray(~np.isfinite(x).any(axis=0))
    model = HistGradientBoostingClassifier(
        max_iter=params.max_iter,
        learning_rate=params.learning_rate,
        max_leaf_nodes=params.max_leaf_nodes,
        l2_regularization=params.l2_regularization,
        random_state=params.random_state,
    ).fit(np.where(dead, 0.0, x), y)
    return Boosting(model, dead)


def percentile(values: Array) -> Array:
    """Rank of each value as a fraction in (0, 1] (ties averaged); NaN stays NaN."""
    out = np.full(len(values), np.nan)
    ok = np.isfinite(values)
    if ok.any():
        out[ok] = rankdata(values[ok]) / ok.sum()
    return out


def direction(matrix: FeatureMatrix) -> Array:
    """Mean percentile rank of the features pointing towards a loss (NaN features skipped;
    a row with none: 0.5, no opinion)."""
    ranks = [
        percentile(sign * matrix.column(name))
        for name, sign in SUSPICIOUS.items()
        if name in matrix.columns
    ]
    stacked = np.column_stack(ranks)
    with np.errstate(all="ignore"):
        mean = np.nanmean(np.where(np.isfinite(stacked), stacked, np.nan), axis=1)
    return np.where(np.isfinite(mean), mean, 0.5)


def anomaly(forest: Array, lof: Array) -> Array:
    """The unsupervised anomaly in (0, 1]: mean percentile of the forest's and the zone
    LOF's scores (the forest's alone where the zone is too small for a LOF)."""
    f, z = percentile(forest), percentile(lof)
    return np.where(np.isfinite(z), (f + z) / 2.0, f)


def combined(anomaly_rank: Array, direction_rank: Array) -> Array:
    """Anomalous *and* pointing towards a loss: the geometric mean of the two ranks."""
    return np.sqrt(np.clip(anomaly_rank, 0, 1) * np.clip(direction_rank, 0, 1))


# How far an honest explanation (a move-in at the fall, a zone balance that did not move
# with it) lowers the combined rank: not to zero, a newcomer may steal from day one.
HONEST_WEIGHT = 0.7


def honest_explanation(matrix: FeatureMatrix) -> Array:
    """In [0, 1]: 1 when the fall came with a new occupant's move-in; else how clearly the
    zone balance contradicts a theft (``balance_contradiction`` from 1 to 3 standard
    errors maps to 0..1); 0 without either feature."""
    n = len(matrix.usage_point_ids)
    moved = (
        np.nan_to_num(matrix.column("drop_at_move_in"))
        if "drop_at_move_in" in matrix.columns
        else np.zeros(n)
    )
    z = (
        matrix.column("balance_contradiction")
        if "balance_contradiction" in matrix.columns
        else np.full(n, np.nan)
    )
    balance = np.clip((np.nan_to_num(z, nan=0.0) - 1.0) / 2.0, 0.0, 1.0)
    return np.maximum(moved, balance)


def explained(score: Array, explanation: Array, weight: float = HONEST_WEIGHT) -> Array:
    """The combined rank lowered by an honest explanation."""
    return score * (1.0 - weight * np.clip(explanation, 0.0, 1.0))


def prior_probability(score: Array, prior: float) -> Array:
    """``score ** gamma`` with gamma chosen so that the mean is ``prior`` (bisection on a
    monotone map: the order of the usage points is kept)."""
    if len(score) == 0:
        return score
    s = np.clip(score, 1e-9, 1.0)
    lo, hi = 0.0, 200.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if float(np.mean(s**mid)) > prior:
            lo = mid
        else:
            hi = mid
    return np.asarray(s**hi, dtype=np.float64)
