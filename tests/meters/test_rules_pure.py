"""Pure validation and consumption arithmetic, no database: the very functions the judge
runs on every read (``meters.readings.timeline``), not a copy."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pytest

from meters.consumption.derivation import IndexPoint, InstallationTimeline, consumption_kwh
from meters.enums import EstimationMethod, ReadingStatus
from meters.readings.codes import JUDGED_STATUSES, bits_of
from meters.readings.estimation import estimate_consumption
from meters.readings.rules import EstimationParameters, RuleParameters, register_advance
from meters.readings.timeline import advances, expected_range, statuses


def _at(month: int, day: int) -> datetime:
    return datetime(2025, month, day, tzinfo=UTC)


def test_rollover_on_five_dials_is_260_kwh() -> None:
    # 00,130 + 100,000 - 99,870 = 260
    advance, rollover, negative = advances(
        np.array([99_870.0]), np.array([130.0]), np.array([100_000.0]), 0.1
    )
    assert advance.tolist() == [260.0]
    assert rollover.tolist() == [True]
    assert negative.tolist() == [False]
    assert register_advance(Decimal(99_870), Decimal(130), 5) == Decimal(260)


def test_large_backward_step_is_a_negative_advance_not_a_rollover() -> None:
    # 5,000 -> 4,000 would wrap to 99,000 > 10% of 100,000: a negative advance.
    advance, rollover, negative = advances(
        np.array([5_000.0, 100.0]), np.array([4_000.0, 150.0]), np.full(2, 100_000.0), 0.1
    )
    assert np.isnan(advance[0]) and advance[1] == 50.0
    assert rollover.tolist() == [False, False]
    assert negative.tolist() == [True, False]


def test_expected_range_from_history_and_from_category() -> None:
    params = RuleParameters()
    # history: 10 kWh/day; 31 days -> 310 expected; high = 310 x 3 = 930, low = 310 x 0.2 = 62
    # category (no history): 6 kWh/day x 30 days x 4 = 720, no low bound
    # neither: no bound at all
    low, high = expected_range(
        np.array([31.0, 30.0, 30.0]),
        np.array([10.0, np.nan, np.nan]),
        np.array([6.0, 6.0, np.nan]),
        params,
    )
    assert np.round(low[:1], 6).tolist() == [62.0] and np.isnan(low[1:]).all()
    assert np.round(high[:2], 6).tolist() == [930.0, 720.0] and np.isnan(high[2])
    # a tiny expectation never flags below min_high_kwh (10 kWh)
    _, floor = expected_range(np.array([1.0]), np.array([0.1]), np.array([np.nan]), params)
    assert floor.tolist() == [10.0]


def _status(codes: list[str], params: RuleParameters) -> str:
    [status] = statuses(np.array([bits_of(codes)], dtype=np.int32), params).tolist()
    return JUDGED_STATUSES.value(status)


def test_status_is_the_worst_severity_and_severity_is_configurable() -> None:
    params = RuleParameters()
    assert _status([], params) == ReadingStatus.ACCEPTED
    assert _status(["rollover"], params) == ReadingStatus.FLAGGED
    assert _status(["rollover", "read_in_future"], params) == ReadingStatus.REJECTED
    lenient = RuleParameters(severity={"rollover": "info"})
    assert _status(["rollover"], lenient) == ReadingStatus.ACCEPTED
    # a partial severity map keeps the other defaults
    assert _status(["negative_advance"], lenient) == ReadingStatus.REJECTED


def test_rule_parameters_refuse_unknown_keys() -> None:
    with pytest.raises(ValueError, match="extra"):
        RuleParameters.model_validate({"rollover_fraction": 0.2})


def test_replaced_meter_consumption_is_old_plus_new() -> None:
    old = InstallationTimeline(
        dial_digits=5,
        multiplier=Decimal(1),
        start=IndexPoint(_at(1, 1), Decimal(0)),
        reads=[IndexPoint(_at(2, 28), Decimal(4_100))],
        end=IndexPoint(_at(3, 15), Decimal(4_250)),
    )
    new = InstallationTimeline(
        dial_digits=5,
        multiplier=Decimal(2),
        start=IndexPoint(_at(3, 15), Decimal(10)),
        reads=[IndexPoint(_at(3, 31), Decimal(60))],
    )
    # March: old 4,250 - 4,100 = 150; new (60 - 10) x multiplier 2 = 100 -> 250
    assert consumption_kwh([old, new], _at(3, 1), _at(4, 1)) == Decimal(250)
    # February: the old meter's 4,100 - 0 = 4,100 (closed by the 28 Feb read)
    assert consumption_kwh([old, new], _at(2, 1), _at(3, 1)) == Decimal(4_100)


def test_consumption_across_a_rollover() -> None:
    meter = InstallationTimeline(
        dial_digits=5,
        multiplier=Decimal(1),
        start=IndexPoint(_at(1, 1), Decimal(99_000)),
        reads=[IndexPoint(_at(1, 31), Decimal(99_870)), IndexPoint(_at(2, 28), Decimal(130))],
    )
    assert consumption_kwh([meter], _at(2, 1), _at(3, 1)) == Decimal(260)


def test_seasonal_estimate_uses_last_year_scaled_by_trend() -> None:
    # Two years of points every 5 days: 10 kWh/day until day 400, 12 kWh/day after. Last read
    # on day 730, estimate 30 days on: last year's days 365..395 used 30 x 10 = 300 kWh; trend
    # = days 640..730 (12/day) over days 275..365 (10/day) = 1.2 -> 300 x 1.2 = 360 kWh.
    times = np.arange(0, 2 * 365 + 1, 5.0)
    cumulative = np.where(times <= 400, times * 10.0, 4000.0 + (times - 400) * 12.0)
    estimate = estimate_consumption(
        times=times,
        cumulative_kwh=cumulative,
        at=times[-1] + 30,
        category_kwh_per_day=6.0,
        parameters=EstimationParameters(),
    )
    assert estimate.method == EstimationMethod.SEASONAL_HISTORY
    assert estimate.kwh == pytest.approx(360.0)


def test_estimate_falls_back_to_recent_history_then_category() -> None:
    # 3 reads, 100 kWh each 30 days: 100/30 kWh/day x 15 days = 50 kWh
    recent = estimate_consumption(
        times=np.array([0.0, 30.0, 60.0]),
        cumulative_kwh=np.array([0.0, 100.0, 200.0]),
        at=75.0,
        category_kwh_per_day=6.0,
        parameters=EstimationParameters(),
    )
    assert recent.method == EstimationMethod.RECENT_HISTORY
    assert recent.kwh == pytest.approx(50.0)
    # only the installation point: 6 kWh/day x 20 days = 120 kWh
    profile = estimate_consumption(
        times=np.array([0.0]),
        cumulative_kwh=np.array([0.0]),
        at=20.0,
        category_kwh_per_day=6.0,
        parameters=EstimationParameters(),
    )
    assert (profile.method, profile.kwh) == (EstimationMethod.CATEGORY_PROFILE, 120.0)
