"""Where the usage point hangs: how far from its transformer, and how much its zone loses
(the energy balance, ``fraud_zone_balance``, of the period)."""

from __future__ import annotations

import numpy as np

from fraud.features.matrix import Array
from fraud.features.registry import feature
from fraud.features.series import History

FAMILY = "zone"

DISTANCE = feature(
    FAMILY,
    "distance_to_transformer_m",
    "m",
    "straight-line distance from the premises' service point to its transformer",
)
ZONE_NTL = feature(
    FAMILY,
    "zone_ntl_share",
    "share",
    "non-technical loss share of the transformer zone's energy balance (mean of its "
    "analysable months among the period and the 2 before)",
)
FEEDER_NTL = feature(
    FAMILY,
    "feeder_ntl_share",
    "share",
    "non-technical loss share of the feeder's energy balance (same months)",
)


def compute(h: History) -> tuple[list[str], Array]:
    return [DISTANCE, ZONE_NTL, FEEDER_NTL], np.column_stack(
        [h.distance_m, h.zone_ntl_share, h.feeder_ntl_share]
    )
