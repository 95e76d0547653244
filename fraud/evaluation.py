"""Measuring a detector against known truth: ROC-AUC, PR-AUC (average precision),
precision at k, hit rate and recall at an inspection budget, per attack type; and the
supervised model's out-of-fold probabilities with folds split by customer.

Pure functions over arrays: the truth comes from the caller (the demo utility's ground
truth, a labelled dataset), never from the database tables a model reads.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import StratifiedGroupKFold

from fraud.features.matrix import Array
from fraud.scoring import detectors


def auc(score: Array, positive: np.ndarray) -> float | None:
    ok = np.isfinite(score)
    y = positive[ok]
    if y.all() or not y.any():
        return None
    return round(float(roc_auc_score(y, score[ok])), 4)


def pr_auc(score: Array, positive: np.ndarray) -> float | None:
    ok = np.isfinite(score)
    y = positive[ok]
    if not y.any():
        return None
    return round(float(average_precision_score(y, score[ok])), 4)


def top(score: Array, k: int) -> np.ndarray:
    """Indices of the k highest scores (ties by index: reproducible)."""
    order = np.lexsort((np.arange(len(score)), -np.nan_to_num(score, nan=-np.inf)))
    return order[:k]


def precision_at(score: Array, positive: np.ndarray, k: int) -> float:
    picked = top(score, k)
    return round(float(positive[picked].mean()), 4) if len(picked) else 0.0


@dataclass(frozen=True)
class Row:
    """One line of a per-attack-type table."""

    group: str
    count: int
    roc_auc: float | None  # this group's members against every honest usage point
    recall_at_budget: float  # share of the group inside the budget's selection
    median_rank: float


def per_group(
    score: Array, group: np.ndarray, honest: np.ndarray, selected: np.ndarray
) -> list[Row]:
    """For each group label (attack type, look-alike kind): how its members rank."""
    ranks = np.empty(len(score))
    ranks[top(score, len(score))] = np.arange(1, len(score) + 1)
    rows = []
    for name in sorted({g for g in group.tolist() if g}):
        members = group == name
        both = members | honest
        rows.append(
            Row(
                name,
                int(members.sum()),
                auc(score[both], members[both]),
                round(float(selected[members].mean()), 4),
                float(np.median(ranks[members])),
            )
        )
    return rows


def out_of_fold(x: Array, y: np.ndarray, groups: np.ndarray, seed: int, folds: int = 5) -> Array:
    """Probabilities of a gradient boosting trained on the other folds, folds split by
    customer (``groups``) and stratified on the label."""
    params = detectors.BoostingParams(random_state=seed)
    out = np.full(len(y), np.nan)
    splitter = StratifiedGroupKFold(folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(x, y, groups):
        model = detectors.fit_boosting(x[train], y[train].astype(int), params)
        out[test] = model.predict_proba(x[test])[:, 1]
    return out
