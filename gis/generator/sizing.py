"""Transformer sizing: the rule a planner applies to an LV zone's connected demand."""

from __future__ import annotations

import numpy as np

STANDARD_KVA = np.array([25.0, 50.0, 100.0, 160.0, 250.0, 400.0, 630.0])


def coincidence_factor(customers: np.ndarray) -> np.ndarray:
    """Share of the connected demand drawn at the zone's peak: 1 for one customer, falling
    towards 0.3 for many (their peaks do not coincide). ``0.3 + 0.7 / sqrt(n)``."""
    n = np.maximum(np.asarray(customers, dtype=np.float64), 1.0)
    return 0.3 + 0.7 / np.sqrt(n)


def design_load_kva(connected_kva: np.ndarray, customers: np.ndarray) -> np.ndarray:
    """Peak (design) load of a zone in kVA: connected demand x coincidence factor."""
    return np.asarray(connected_kva, dtype=np.float64) * coincidence_factor(customers)


def rating_for(load_kva: np.ndarray) -> np.ndarray:
    """The smallest standard rating (kVA) at or above each load; NaN above 630 kVA (such a
    zone must be split between transformers)."""
    load = np.asarray(load_kva, dtype=np.float64)
    index = np.searchsorted(STANDARD_KVA, load - 1e-9, side="left")
    rating = np.full(load.shape, np.nan)
    fits = index < len(STANDARD_KVA)
    rating[fits] = STANDARD_KVA[index[fits]]
    return rating
