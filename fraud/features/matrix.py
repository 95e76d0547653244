"""The typed feature matrix: one row per (usage point, period), one column per feature."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]


@dataclass(frozen=True)
class FeatureMatrix:
    """``values[i, j]`` is feature ``columns[j]`` of usage point ``usage_point_ids[i]`` at the
    month ``periods[i]``. NaN means "cannot be computed" (no data): missingness is left as
    is, never imputed here; the model layer decides."""

    values: Array
    columns: list[str]
    usage_point_ids: npt.NDArray[np.int64]
    periods: list[date]

    def column(self, name: str) -> Array:
        return self.values[:, self.columns.index(name)]

    def row(self, usage_point_id: int) -> dict[str, float]:
        i = int(np.flatnonzero(self.usage_point_ids == usage_point_id)[0])
        return dict(zip(self.columns, self.values[i].tolist(), strict=True))

    @staticmethod
    def join(
        parts: list[tuple[list[str], Array]], ids: npt.NDArray[np.int64], period: date
    ) -> FeatureMatrix:
        columns = [c for names, _ in parts for c in names]
        values = (
            np.column_stack([v.reshape(len(ids), -1) for _, v in parts])
            if parts
            else np.empty((len(ids), 0))
        )
        return FeatureMatrix(values.astype(np.float64), columns, ids, [period] * len(ids))
