"""Properties of the reading pipeline, on generated inputs (hypothesis): the rollover
arithmetic, idempotent re-imports, and one judge for a file and for single reads."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from meters import service
from meters.models import Reading
from meters.readings.importer import import_readings_from_rows
from meters.readings.rules import register_advance
from meters.readings.service import record_readings
from meters.readings.timeline import advances
from meters.schemas import ReadingCreate
from tests.meters.conftest import utc

FRACTION = 0.1  # the default rule set's rollover_max_fraction
DB_SETTINGS = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@given(
    digits=st.integers(3, 9),
    previous=st.floats(0, 1, exclude_max=True),
    step=st.floats(0, FRACTION),
)
def test_a_forward_step_across_the_dials_is_its_advance(digits, previous, step) -> None:
    capacity = 10**digits
    before = int(previous * capacity)
    advance = int(step * capacity)
    after = (before + advance) % capacity
    got, rollover, negative = advances(
        np.array([before]), np.array([after]), np.array([float(capacity)]), FRACTION
    )
    assert got.tolist() == [advance]
    assert rollover.tolist() == [before + advance >= capacity]
    assert negative.tolist() == [False]
    assert register_advance(Decimal(before), Decimal(after), digits) == advance


@given(digits=st.integers(3, 9), data=st.data())
def test_a_backward_step_beyond_the_fraction_is_negative(digits, data) -> None:
    capacity = 10**digits
    wrapped_min = int(FRACTION * capacity) + 1  # wrapped advance just beyond the fraction
    before = data.draw(st.integers(wrapped_min, capacity - 1))
    after = data.draw(
        st.integers(0, before - 1).filter(lambda a: a + capacity - before > FRACTION * capacity)
    )
    got, rollover, negative = advances(
        np.array([before]), np.array([after]), np.array([float(capacity)]), FRACTION
    )
    assert np.isnan(got[0]) and not rollover[0] and negative[0]


# A register's reads: days between them and the step of its index (mostly forward, some
# rollovers, stalls, backward misreads and jumps), on 4 dials so rollovers come often.
steps = st.lists(
    st.tuples(
        st.integers(1, 60),
        st.one_of(
            st.integers(0, 400),
            st.integers(-9_999, -9_000),  # a rollover on 4 dials
            st.integers(-3_000, -1),  # backwards
            st.integers(3_000, 8_000),  # a jump
        ),
    ),
    min_size=1,
    max_size=7,
)
DIGITS = 4


def _timeline(start: int, draws: list[tuple[int, int]]) -> list[tuple[object, int, str]]:
    at, value, reads = utc(2024, 1, 1), start, []
    sources = ("handheld", "ami", "self_read")
    for i, (days, step) in enumerate(draws):
        at, value = at + timedelta(days=days, hours=i), (value + step) % 10**DIGITS
        reads.append((at, value, sources[i % 3]))
    return reads


def _install(db, make_meter, make_usage_point, start: int):
    meter, point = make_meter(digits=DIGITS), make_usage_point("residential")
    service.install_meter(
        db,
        meter_id=meter.id,
        usage_point_id=point.id,
        installed_at=utc(2024, 1, 1),
        start_index=start,
    )
    return meter


def _outcomes(db, meter) -> list[tuple[object, str, tuple[str, ...]]]:
    reads = db.scalars(
        select(Reading).where(Reading.meter_id == meter.id).order_by(Reading.read_at)
    )
    return [(r.read_at, r.status, tuple(r.reason_codes)) for r in reads]


@DB_SETTINGS
@given(start=st.integers(0, 10**DIGITS - 1), draws=steps)
def test_the_bulk_judge_agrees_with_single_reads(
    db, make_meter, make_usage_point, start, draws
) -> None:
    reads = _timeline(start, draws)
    bulk, single = (_install(db, make_meter, make_usage_point, start) for _ in range(2))
    import_readings_from_rows(
        db, [{"serial": bulk.serial, "read_at": t, "value": v, "source": s} for t, v, s in reads]
    )
    for t, v, s in reads:  # one by one, as a reader's handheld sends them
        record_readings(
            db,
            readings=[ReadingCreate(meter_serial=single.serial, read_at=t, value=v, source=s)],
        )
    assert _outcomes(db, bulk) == _outcomes(db, single)


@DB_SETTINGS
@given(start=st.integers(0, 10**DIGITS - 1), draws=steps, cut=st.integers(0, 7))
def test_a_re_import_adds_nothing(db, make_meter, make_usage_point, start, draws, cut) -> None:
    reads = _timeline(start, draws)
    meter = _install(db, make_meter, make_usage_point, start)
    rows = [{"serial": meter.serial, "read_at": t, "value": v, "source": s} for t, v, s in reads]
    import_readings_from_rows(db, rows[:cut])  # part of the file came in before
    first = import_readings_from_rows(db, rows)
    stored = _outcomes(db, meter)
    again = import_readings_from_rows(db, rows)
    assert (first.new, again.new, again.duplicates) == (
        len(rows) - min(cut, len(rows)),
        0,
        len(rows),
    )
    assert _outcomes(db, meter) == stored
