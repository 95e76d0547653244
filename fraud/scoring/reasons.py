"""Why a usage point scores high, in words an analyst understands.

Each feature that points towards a loss (``detectors.SUSPICIOUS`` and a few more) gets a
weight: how many robust spreads (inter-quartile ranges of the whole network) the usage
point sits beyond the network's median in the suspicious direction. The strongest three
above one spread become sentences, with the numbers behind them and, where it helps, what
the peers on the same transformer did over the same months (e.g. "consumption fell 62 %
after March 2025 while peers on the same transformer did not").
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from core.periods import add_months
from fraud.features.matrix import Array, FeatureMatrix
from fraud.scoring.detectors import SUSPICIOUS
from fraud.scoring.prepare import Scaling

TOP = 3
MIN_WEIGHT = 1.0  # spreads beyond the median before a feature is worth saying
EXTRA = {"zone_ntl_share": +1, "estimated_reads": +1, "unread_months": +1, "meter_changes": +1}
PEERS_FELL = 0.85  # peers' recent / baseline below this: they fell too


def weights(matrix: FeatureMatrix, scaling: Scaling) -> tuple[list[str], Array]:
    """(names, n x k weights) of the explainable features; NaN feature: weight 0."""
    names = [n for n in {**SUSPICIOUS, **EXTRA} if n in matrix.columns]
    signs = {**SUSPICIOUS, **EXTRA}
    cols = []
    for name in names:
        j = matrix.columns.index(name)
        z = signs[name] * (matrix.values[:, j] - scaling.median[j]) / scaling.scale[j]
        cols.append(np.where(np.isfinite(z), z, 0.0))
    return names, np.column_stack(cols) if cols else np.zeros((len(matrix.values), 0))


def peer_trend(matrix: FeatureMatrix, transformer_id: Array) -> Array:
    """Median recent / baseline ratio of the usage points on each row's transformer."""
    frame = pd.DataFrame({"t": transformer_id, "v": matrix.column("recent_to_baseline")})
    median = frame.groupby("t", dropna=True)["v"].transform("median").to_numpy(dtype=float)
    return np.where(np.isnan(transformer_id), np.nan, median)


def _month_before(period: date, age: float) -> str:
    """The last month before a change whose first month is ``age`` months back (1: the
    period itself)."""
    return f"{add_months(period, -int(age)):%B %Y}"


def sentence(name: str, row: dict[str, float], period: date, peers: float) -> str:
    """One reason in words for feature ``name`` of a usage point's feature ``row``."""
    v = row.get(name, float("nan"))
    if name in ("change_point_drop", "largest_monthly_drop", "recent_to_baseline"):
        drop = row.get("change_point_drop", float("nan"))
        age = row.get("change_point_age", float("nan"))
        if name == "change_point_drop" and np.isfinite(drop) and np.isfinite(age):
            text = f"consumption fell {drop:.0%} after {_month_before(period, age)}"
        elif name == "largest_monthly_drop":
            text = f"consumption fell {v:.0%} from one month to the next"
        else:
            text = f"the last 3 months are at {v:.0%} of the 12 months before"
        if np.isfinite(peers):
            text += (
                " while peers on the same transformer did not"
                if peers >= PEERS_FELL
                else f"; peers on the same transformer fell too (to {peers:.0%})"
            )
        return text
    if name == "peer_ratio":
        count = row.get("peer_count", float("nan"))
        return (
            f"uses {v:.0%} of what the median customer of its category on the same "
            f"transformer uses ({count:.0f} peers)"
        )
    if name == "peer_ratio_baseline":
        return f"used only {v:.0%} of its peers' median already in the 12 months before"
    if name == "zero_months":
        return f"{v:.0f} months with (almost) no consumption in the window"
    if name == "missing_months":
        return f"{v:.0f} months without any known consumption (no read, or reads rejected)"
    if name == "rejected_reads":
        return f"{v:.0f} reads rejected by validation (an index going backwards, a jump)"
    if name == "flagged_reads":
        return f"{v:.0f} reads accepted with a validation flag"
    if name == "zone_correlation":
        return (
            f"its monthly consumption no longer follows its neighbours' seasons "
            f"(correlation {v:.2f})"
        )
    if name == "coefficient_of_variation":
        return f"an unusually flat profile: its months vary by only {v:.0%}"
    if name == "subscribed_power_use":
        return f"draws only {v:.1%} of its subscribed power on average"
    if name == "zone_ntl_share":
        return f"its transformer zone loses {v:.0%} of its energy (zone balance)"
    if name == "estimated_reads":
        return f"{v:.0f} estimated reads instead of real ones"
    if name == "unread_months":
        return f"{v:.0f} months without a real read"
    if name == "meter_changes":
        return f"{v:.0f} meter changes in the window"
    return f"{name} = {v:.3g}"


def explain(
    matrix: FeatureMatrix,
    scaling: Scaling,
    transformer_id: Array,
    rows: np.ndarray | None = None,
) -> list[list[dict[str, object]]]:
    """The top reasons of each row (or of ``rows``): ``{"feature", "weight", "text"}``,
    strongest first; a row where nothing stands out gets one sentence saying so."""
    names, w = weights(matrix, scaling)
    peers = peer_trend(matrix, transformer_id)
    period = matrix.periods[0] if matrix.periods else date(1970, 1, 1)  # no rows
    picked = np.arange(len(w)) if rows is None else np.asarray(rows)
    if len(names) == 0:
        return [[] for _ in picked]
    top = np.argsort(-w[picked], axis=1)[:, :TOP]
    out = []
    for i, best in zip(picked.tolist(), top.tolist(), strict=True):
        row = None
        reasons: list[dict[str, object]] = []
        for j in best:
            if w[i, j] < MIN_WEIGHT:
                break
            if row is None:
                row = dict(zip(matrix.columns, matrix.values[i].tolist(), strict=True))
            reasons.append(
                {
                    "feature": names[j],
                    "weight": round(float(w[i, j]), 2),
                    "text": sentence(names[j], row, period, float(peers[i])),
                }
            )
        if not reasons:
            reasons.append(
                {
                    "feature": "overall",
                    "weight": 0.0,
                    "text": "no single feature stands out: ranked on the detectors' overall "
                    "anomaly",
                }
            )
        out.append(reasons)
    return out
