"""Zero and missing patterns: months at zero, months nobody measured, months without a
real read. Missingness is a signal here, never filled in."""

from __future__ import annotations

import numpy as np

from fraud.features.matrix import Array
from fraud.features.registry import feature
from fraud.features.series import History
from fraud.features.stats import longest_run

FAMILY = "gaps"
ZERO_KWH = 0.5  # kWh a month: below it, a meter that turns at all does not turn

ZERO = feature(FAMILY, "zero_months", "months", "months with (almost) no consumption, < 0.5 kWh")
ZERO_RUN = feature(FAMILY, "longest_zero_run", "months", "longest stretch of such months")
MISSING = feature(
    FAMILY,
    "missing_months",
    "months",
    "months with no consumption known at all (no read before and after, or no meter)",
)
MISSING_RUN = feature(FAMILY, "longest_missing_run", "months", "longest stretch of such months")
UNREAD = feature(
    FAMILY, "unread_months", "months", "months without a single real (not estimated) read"
)
UNREAD_RUN = feature(FAMILY, "longest_unread_run", "months", "longest stretch of such months")


def compute(h: History) -> tuple[list[str], Array]:
    zero = np.isfinite(h.kwh) & (h.kwh < ZERO_KWH)
    missing = np.isnan(h.kwh)
    unread = h.actual_reads == 0
    return [ZERO, ZERO_RUN, MISSING, MISSING_RUN, UNREAD, UNREAD_RUN], np.column_stack(
        [
            zero.sum(axis=1),
            longest_run(zero),
            missing.sum(axis=1),
            longest_run(missing),
            unread.sum(axis=1),
            longest_run(unread),
        ]
    )
