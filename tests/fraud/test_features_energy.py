"""The monthly energy computed in numpy from the raw index points equals the set-based SQL
form (``series_sql.ENERGY``) on the demo utility: meter replacements, rollovers, reversed
meters, missing reads and all."""

from __future__ import annotations

from datetime import date

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from core.context import SYSTEM, acting_as
from fraud.features import series_sql as q
from fraud.features.series import load_history
from kilowatch.demo_utility.builder import build_demo_utility


def test_numpy_energy_equals_the_sql_form(db: Session) -> None:
    with acting_as(SYSTEM, request_id="test-fraud-energy"):
        build_demo_utility(db, customers=300, seed=7_313, first_month=date(2024, 1, 1))
    captured: dict[str, object] = {}
    original = db.execute

    def spy(statement, params=None, *args, **kwargs):  # type: ignore[no-untyped-def]
        if isinstance(params, dict) and "m_from" in params:
            captured.update(params)
        return original(statement, params, *args, **kwargs)

    db.execute = spy  # type: ignore[method-assign]
    try:
        h = load_history(db, date(2025, 12, 1), 24)
    finally:
        db.execute = original  # type: ignore[method-assign]
    reference = np.full(h.kwh.shape, np.nan)
    for up, k, kwh in db.execute(text(q.ENERGY), captured):
        reference[np.searchsorted(h.ids, up), int(k)] = np.nan if kwh is None else kwh
    assert np.isfinite(reference).sum() > 0.9 * reference.size
    assert np.array_equal(np.isnan(h.kwh), np.isnan(reference))
    ok = np.isfinite(reference)
    assert np.allclose(h.kwh[ok], reference[ok], rtol=1e-9, atol=1e-6)
    counts = np.zeros((4, *h.kwh.shape))
    for up, k, *values in db.execute(text(q.READS), captured):
        counts[:, np.searchsorted(h.ids, up), int(k)] = values
    got = np.stack([h.actual_reads, h.estimated_reads, h.rejected_reads, h.flagged_reads])
    assert np.array_equal(got, counts) and counts[2].sum() > 0  # rejected reads among them
