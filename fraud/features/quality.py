"""Read quality and meter history over the window: estimates, rejected and flagged reads,
meters taken off."""

from __future__ import annotations

import numpy as np

from fraud.features.matrix import Array
from fraud.features.registry import feature
from fraud.features.series import History

FAMILY = "quality"

ESTIMATED = feature(FAMILY, "estimated_reads", "reads", "reads estimated instead of taken")
REJECTED = feature(FAMILY, "rejected_reads", "reads", "reads rejected by validation")
FLAGGED = feature(FAMILY, "flagged_reads", "reads", "reads validation accepted with a flag")
METER_CHANGES = feature(FAMILY, "meter_changes", "meters", "meters removed from the usage point")


def compute(h: History) -> tuple[list[str], Array]:
    return [ESTIMATED, REJECTED, FLAGGED, METER_CHANGES], np.column_stack(
        [
            h.estimated_reads.sum(axis=1),
            h.rejected_reads.sum(axis=1),
            h.flagged_reads.sum(axis=1),
            h.meter_removals,
        ]
    )
