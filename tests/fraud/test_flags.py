"""The zone flag rule: NTL share above max(3 points, 2 sd of the zone's own history) for 2
consecutive months."""

from __future__ import annotations

import statistics
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.periods import add_months
from fraud.flags import FlagRule, apply_flag_rule
from fraud.models import ZoneBalance
from tests.fraud.conftest import Net

FIRST = date(2024, 1, 1)


def _history(db: Session, transformer_id: int, shares: list[float | None]) -> None:
    """One balance per month from January 2024; None = a month that is not analysable."""
    for i, share in enumerate(shares):
        month = add_months(FIRST, i)
        analysable = share is not None
        db.add(
            ZoneBalance(
                transformer_id=transformer_id,
                period_start=month,
                period_end=add_months(month, 1),
                energy_in_kwh=Decimal(1000),
                metered_kwh=Decimal(900),
                estimated_kwh=Decimal(0),
                usage_points=10,
                usage_points_unread=0,
                unmetered_kwh=Decimal(0),
                technical_loss_kwh=Decimal(50),
                loss_method="load_length",
                ntl_kwh=Decimal(str(share * 1000)) if analysable else None,
                ntl_share=Decimal(str(share)) if analysable else None,
                analysable=analysable,
                reason=None if analysable else "no_zone_meter",
                computed_at=datetime.now(UTC),
            )
        )
    db.flush()


def _judged(db: Session, transformer_id: int) -> list[tuple[bool, Decimal | None]]:
    rows = db.scalars(
        select(ZoneBalance)
        .where(ZoneBalance.transformer_id == transformer_id)
        .order_by(ZoneBalance.period_start)
    )
    return [(r.flagged, r.threshold_share) for r in rows]


def test_two_months_above_the_bar_flag_the_second(db: Session, net: Net) -> None:
    quiet = net.transformer("T1").id
    _history(db, quiet, [0.010, 0.012, 0.011, 0.009, 0.05, 0.06, 0.02])
    apply_flag_rule(db)
    db.expire_all()
    judged = _judged(db, quiet)
    assert [f for f, _ in judged] == [False, False, False, False, False, True, False]
    # Month 5: 2 sd of (0.010, 0.012, 0.011, 0.009) is 0.0026 < 3 points: the bar is 0.03.
    assert judged[4][1] == Decimal("0.030000")
    # Month 6: the history now holds 0.05; 2 sd = 0.035401 > 3 points, and 0.06 is above.
    two_sd = 2 * statistics.stdev([0.010, 0.012, 0.011, 0.009, 0.05])
    assert judged[5][1] == Decimal(str(round(two_sd, 6))) == Decimal("0.035401")
    # The first three months have no history worth a sd: the floor alone.
    assert [t for _, t in judged[:3]] == [Decimal("0.030000")] * 3


def test_a_noisy_zone_is_held_to_its_own_two_sd(db: Session, net: Net) -> None:
    noisy = net.transformer("T2").id
    # 0.08 and 0.09 are above 3 points, but 2 sd of this zone's history is 0.115, then 0.104.
    _history(db, noisy, [0.0, 0.10, 0.0, 0.10, 0.08, 0.09])
    apply_flag_rule(db)
    db.expire_all()
    judged = _judged(db, noisy)
    assert [f for f, _ in judged] == [False] * 6
    assert judged[4][1] == Decimal(str(round(2 * statistics.stdev([0.0, 0.1, 0.0, 0.1]), 6)))
    # With the floor alone (sd ignored), the same months would flag: the sd arm decides.
    apply_flag_rule(db, FlagRule(sigmas=0))
    db.expire_all()
    assert [f for f, _ in _judged(db, noisy)] == [False, False, False, False, True, True]


def test_a_month_that_is_not_analysable_breaks_the_run(db: Session, net: Net) -> None:
    gap = net.transformer("T3").id
    _history(db, gap, [0.01, 0.01, 0.01, 0.06, None, 0.07, 0.08])
    apply_flag_rule(db)
    db.expire_all()
    judged = _judged(db, gap)
    assert [f for f, _ in judged] == [False, False, False, False, False, False, True]
    assert judged[4][1] is None  # not analysable: no bar, never flagged
