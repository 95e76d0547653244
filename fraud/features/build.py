"""The feature matrix of a period: every family over the same loaded history."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy.orm import Session

from fraud.features import drops, gaps, occupancy, peers, quality, shape, zone
from fraud.features.matrix import FeatureMatrix
from fraud.features.registry import REGISTRY
from fraud.features.series import History, load_history

FAMILIES = (drops, peers, gaps, shape, quality, zone, occupancy)


def features_of(history: History) -> FeatureMatrix:
    """The matrix of an already loaded history (its last month is the period)."""
    parts = [family.compute(history) for family in FAMILIES]
    matrix = FeatureMatrix.join(parts, history.ids, history.months[-1])
    undocumented = [c for c in matrix.columns if c not in REGISTRY]
    assert not undocumented, f"features without a registry entry: {undocumented}"
    return matrix


def build_features(
    session: Session, period: date, months: int = 24, ids: Sequence[int] | None = None
) -> FeatureMatrix:
    """Features of every usage point (or ``ids``) for ``period``'s month, from the
    ``months`` months ending with it."""
    return features_of(load_history(session, period, months, ids))
