"""Readings: validation outcomes, rollover and meter-change consumption, estimation and
supersession, idempotent bulk import, versioned rules."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from meters import service
from meters.consumption.service import consumption_for
from meters.errors import ReadingImportInvalidError
from meters.models import Reading
from meters.readings.importer import import_readings_from_csv, import_readings_from_rows
from meters.readings.rule_sets import publish_rule_set
from meters.readings.service import estimate_reading, record_readings
from meters.schemas import ReadingCreate
from tests.meters.conftest import utc


def _installed(
    db,
    make_meter,
    make_usage_point,
    *,
    start=0,
    digits=5,
    category="commercial",
    at=None,
    multiplier=1,
):
    meter, point = make_meter(digits=digits, multiplier=multiplier), make_usage_point(category)
    service.install_meter(
        db,
        meter_id=meter.id,
        usage_point_id=point.id,
        installed_at=at or utc(2025, 1, 1),
        start_index=start,
    )
    return meter, point


def _read(meter, at, value, source="handheld"):
    return {"serial": meter.serial, "read_at": at, "value": value, "source": source}


def _user(db):
    """A meter reader's user id."""
    from core.auth.service import create_user

    name = f"reader_{uuid.uuid4().hex[:8]}"
    return create_user(db, username=name, password="Reader-password-1", roles=["technician"]).id


def _stored(db, meter):
    return {r.read_at: r for r in db.scalars(select(Reading).where(Reading.meter_id == meter.id))}


def test_rollover_on_a_five_dial_meter_yields_260_kwh(db, make_meter, make_usage_point):
    meter, point = _installed(db, make_meter, make_usage_point, start=99_000)
    import_readings_from_rows(
        db, [_read(meter, utc(2025, 1, 31), 99_870), _read(meter, utc(2025, 2, 28), 130)]
    )
    reads = _stored(db, meter)
    rolled = reads[utc(2025, 2, 28)]
    assert (rolled.status, rolled.reason_codes) == ("flagged", ["rollover"])
    # February: 00,130 + 100,000 - 99,870 = 260 kWh
    [feb] = consumption_for(db, [point.id], utc(2025, 2, 1), utc(2025, 3, 1))
    assert (feb.register_code, feb.kwh, feb.intervals) == ("total", Decimal(260), 1)


def test_a_meter_replaced_mid_period_counts_old_plus_new(db, make_meter, make_usage_point):
    old, point = _installed(db, make_meter, make_usage_point, start=1_000)
    new = make_meter(multiplier=2)
    import_readings_from_rows(db, [_read(old, utc(2025, 1, 31), 1_400)])
    service.replace_meter(
        db,
        usage_point_id=point.id,
        new_meter_id=new.id,
        replaced_at=utc(2025, 2, 15),
        old_end_index=1_650,
        new_start_index=20,
    )
    report = import_readings_from_rows(db, [_read(new, utc(2025, 2, 28), 170)])
    assert report.codes_by_status == {"flagged": {"meter_change_in_period": 1}}
    # February = old (1,650 - 1,400) + new (170 - 20) x multiplier 2 = 250 + 300 = 550 kWh
    [feb] = consumption_for(db, [point.id], utc(2025, 2, 1), utc(2025, 3, 1))
    assert (feb.kwh, feb.intervals, feb.meter_changed) == (Decimal(550), 2, True)
    # January = 1,400 - 1,000 = 400 kWh (old meter only)
    [jan] = consumption_for(db, [point.id], utc(2025, 1, 1), utc(2025, 2, 1))
    assert (jan.kwh, jan.meter_changed) == (Decimal(400), False)


def test_impossible_reads_are_stored_rejected_with_their_code(db, make_meter, make_usage_point):
    meter, _ = _installed(db, make_meter, make_usage_point, at=utc(2025, 1, 10))
    # Ahead of the clock by more than the tolerance (10 min), within the day a read may be.
    future = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2)
    report = import_readings_from_rows(
        db,
        [
            _read(meter, future, 50),
            _read(meter, utc(2025, 1, 5), 1),
            _read(meter, utc(2025, 2, 1), 100_000 - 1),
            _read(meter, utc(2025, 2, 10), 150),
            _read(meter, utc(2025, 2, 10), 151, source="self_read"),
            _read(meter, utc(2025, 2, 20), 100_000),
        ],
    )
    reads = _stored(db, meter)
    assert (reads[future].status, reads[future].reason_codes) == ("rejected", ["read_in_future"])
    assert reads[utc(2025, 1, 5)].reason_codes == ["read_before_installation"]
    assert reads[utc(2025, 1, 5)].status == "rejected"
    # 99,999 from 0 is a huge advance (out of range), not a dial overflow: flagged
    assert reads[utc(2025, 2, 1)].reason_codes == ["out_of_range_high"]
    # 100,000 cannot show on 5 dials
    assert reads[utc(2025, 2, 20)].reason_codes == ["value_exceeds_dials"]
    twins = db.scalars(
        select(Reading).where(Reading.meter_id == meter.id, Reading.read_at == utc(2025, 2, 10))
    ).all()
    # 150 after 99,999 is a rollover of 151 kWh; its twin from another source is rejected
    assert sorted((t.source, t.status, tuple(t.reason_codes)) for t in twins) == [
        ("handheld", "flagged", ("rollover",)),
        ("self_read", "rejected", ("duplicate_timestamp",)),
    ]
    assert (report.rows, report.new, report.rejected) == (6, 6, 4)
    assert report.rejected_by_code == {
        "duplicate_timestamp": 1,
        "read_before_installation": 1,
        "read_in_future": 1,
        "value_exceeds_dials": 1,
    }


def test_a_rejected_read_does_not_become_the_next_ones_previous(db, make_meter, make_usage_point):
    meter, _ = _installed(db, make_meter, make_usage_point)
    import_readings_from_rows(
        db,
        [
            _read(meter, utc(2025, 1, 31), 100),
            _read(meter, utc(2025, 2, 28), 200),
            _read(meter, utc(2025, 3, 31), 50),
            _read(meter, utc(2025, 4, 30), 300),
        ],
    )
    reads = _stored(db, meter)
    # 50 after 200: wrapped 50 + 100,000 - 200 = 99,850 > 10% of the dials -> negative
    assert (reads[utc(2025, 3, 31)].status, reads[utc(2025, 3, 31)].reason_codes) == (
        "rejected",
        ["negative_advance"],
    )
    # 300 is judged against 200 (+100), not against the rejected 50
    assert (reads[utc(2025, 4, 30)].status, reads[utc(2025, 4, 30)].reason_codes) == (
        "accepted",
        [],
    )


def test_out_of_range_is_judged_against_history(db, make_meter, make_usage_point):
    meter, _ = _installed(db, make_meter, make_usage_point)
    start = utc(2025, 1, 1)
    # Four reads 30 days apart, +300 kWh each: 10 kWh/day of history.
    history = [_read(meter, start + timedelta(days=30 * k), 300 * k) for k in range(1, 5)]
    import_readings_from_rows(db, history)
    high_at, low_at = start + timedelta(days=150), start + timedelta(days=180)
    import_readings_from_rows(
        db, [_read(meter, high_at, 1_200 + 1_000), _read(meter, low_at, 2_200 + 50)]
    )
    reads = _stored(db, meter)
    # last 4 reads: (1,200 - 300) kWh / 90 days = 10 kWh/day; 30 days -> 300 expected,
    # high bound 300 x 3 = 900 < 1,000 kWh read
    assert reads[high_at].reason_codes == ["out_of_range_high"]
    # history now (2,200 - 600) / 90 days = 17.8 kWh/day x 30 = 533 expected; low bound
    # x 0.2 = 106.7 > 50 kWh read
    assert reads[low_at].reason_codes == ["out_of_range_low"]
    assert {r.status for r in (reads[high_at], reads[low_at])} == {"flagged"}


def test_zero_consumption_is_flagged_not_rejected(db, make_meter, make_usage_point):
    meter, _ = _installed(db, make_meter, make_usage_point, start=40)
    import_readings_from_rows(db, [_read(meter, utc(2025, 1, 31), 40)])
    [read] = _stored(db, meter).values()
    assert (read.status, read.reason_codes) == ("flagged", ["zero_consumption"])


def test_importing_the_same_csv_twice_stores_each_reading_once(db, make_meter, make_usage_point):
    meter, _ = _installed(db, make_meter, make_usage_point)
    csv = (
        "serial,read_at,value,source\n"
        f"{meter.serial},2025-01-31T08:00:00Z,100,handheld\n"
        f"{meter.serial},2025-02-28T08:00:00+01:00,210,handheld\n"
        f"{meter.serial},2025-02-28T08:00:00+01:00,210,handheld\n"
    ).encode()
    first = import_readings_from_csv(db, io.BytesIO(csv))
    second = import_readings_from_csv(db, io.BytesIO(csv))
    assert (first.rows, first.new, first.duplicates, first.accepted) == (3, 2, 1, 2)
    assert (second.rows, second.new, second.duplicates) == (3, 0, 3)
    count = db.scalar(select(func.count()).select_from(Reading).where(Reading.meter_id == meter.id))
    assert count == 2


def test_a_malformed_csv_writes_nothing_and_names_every_bad_line(db, make_meter, make_usage_point):
    meter, _ = _installed(db, make_meter, make_usage_point)
    csv = (
        "serial,read_at,value,source\n"
        f"{meter.serial},2025-01-31T08:00:00Z,100,handheld\n"
        f"{meter.serial},2025-02-30T08:00:00Z,120,handheld\n"
        f"{meter.serial},2025-03-01T08:00:00,130,handheld\n"
        f"{meter.serial},2025-03-02T08:00:00Z,-5,handheld\n"
        "NOPE,2025-03-03T08:00:00Z,5,handheld\n"
        f"{meter.serial},2025-03-04T08:00:00Z,140,carrier-pigeon\n"
    ).encode()
    with pytest.raises(ReadingImportInvalidError) as err:
        import_readings_from_csv(db, io.BytesIO(csv))
    assert [(e.field, e.message) for e in err.value.errors] == [
        ("line 3", "read_at is not a real date and time"),
        ("line 4", "read_at must be an ISO 8601 timestamp with a UTC offset"),
        ("line 5", "value must be a non-negative number (at most 3 decimals)"),
        ("line 6", "unknown meter serial NOPE"),
        ("line 7", "source must be one of handheld, self_read, ami"),
    ]
    ragged = f"serial,read_at,value,source\n{meter.serial},2025-01-31T08:00:00Z,1\nx,y\n".encode()
    with pytest.raises(ReadingImportInvalidError) as err:
        import_readings_from_csv(db, io.BytesIO(ragged))
    assert [e.field for e in err.value.errors] == ["line 2", "line 3"]
    assert (
        db.scalar(select(func.count()).select_from(Reading).where(Reading.meter_id == meter.id))
        == 0
    )


def test_an_estimate_is_superseded_by_the_real_read(db, make_meter, make_usage_point):
    meter, point = _installed(db, make_meter, make_usage_point)
    import_readings_from_rows(db, [_read(meter, utc(2025, 1, 31), 300)])
    register_id = _stored(db, meter)[utc(2025, 1, 31)].register_id
    estimate = estimate_reading(db, register_id=register_id, at=utc(2025, 2, 28))
    # recent history: 300 kWh / 30 days = 10 kWh/day x 28 days = 280 -> index 580
    assert (estimate.value, estimate.estimation_method, estimate.status) == (
        Decimal(580),
        "recent_history",
        "accepted",
    )
    [feb] = consumption_for(db, [point.id], utc(2025, 2, 1), utc(2025, 3, 1))
    assert (feb.kwh, feb.includes_estimate) == (Decimal(280), True)
    [outcome] = record_readings(
        db,
        readings=[
            ReadingCreate(
                meter_serial=meter.serial,
                read_at=utc(2025, 2, 27),
                value=Decimal(560),
                source="handheld",
            )
        ],
    )
    db.refresh(estimate)
    assert (estimate.status, estimate.superseded_by_id) == ("superseded", outcome.id)
    # February now: 560 - 300 = 260 kWh, measured
    [feb] = consumption_for(db, [point.id], utc(2025, 2, 1), utc(2025, 3, 1))
    assert (feb.kwh, feb.includes_estimate) == (Decimal(260), False)


def test_every_read_records_the_rule_set_version_that_judged_it(db, make_meter, make_usage_point):
    meter, _ = _installed(db, make_meter, make_usage_point)
    [first] = record_readings(
        db,
        readings=[
            ReadingCreate(
                meter_serial=meter.serial, read_at=utc(2025, 1, 31), value=Decimal(40), source="ami"
            )
        ],
    )
    version = publish_rule_set(
        db, parameters={"severity": {"zero_consumption": "reject"}}, name="strict zero"
    ).version
    [second] = record_readings(
        db,
        readings=[
            ReadingCreate(
                meter_serial=meter.serial, read_at=utc(2025, 2, 28), value=Decimal(40), source="ami"
            )
        ],
    )
    assert (first.rule_set_version, first.status) == (version - 1, "accepted")
    assert (second.rule_set_version, second.status, second.reason_codes) == (
        version,
        "rejected",
        ["zero_consumption"],
    )
    [again] = record_readings(
        db,
        readings=[
            ReadingCreate(
                meter_serial=meter.serial, read_at=utc(2025, 2, 28), value=Decimal(40), source="ami"
            )
        ],
    )
    assert (again.id, again.duplicate) == (second.id, True)


def test_a_bulk_import_stores_every_field_as_written(db, make_meter, make_usage_point):
    """The binary COPY stream carries each column exactly (decimals, optional fields, NULL
    installation, codes array, job key)."""
    from sqlalchemy import text

    meter, point = _installed(db, make_meter, make_usage_point, start=99_000, at=utc(2025, 1, 10))
    photo = "ab" * 32
    reader, other = _user(db), _user(db)
    csv = (
        "serial,read_at,value,source,quality,reader_id,photo_sha256\n"
        f"{meter.serial},2025-01-05T08:00:00Z,12.5,handheld,,,\n"
        f"{meter.serial},2025-01-31T08:00:00Z,99870.125,handheld,doubtful,{reader},{photo}\n"
        f"{meter.serial},2025-02-28T08:00:00Z,130,ami,,,\n"
        f"{meter.serial},2025-03-31T08:00:00Z,0.001,self_read,actual,{other},\n"
    ).encode()
    report = import_readings_from_csv(db, io.BytesIO(csv), job_key="job-fields")
    assert (report.new, report.rule_set_version) == (4, 1)
    rows = sorted(
        db.scalars(select(Reading).where(Reading.meter_id == meter.id)), key=lambda r: r.read_at
    )
    got = [
        (
            r.read_at,
            r.value,
            r.source,
            r.quality,
            r.status,
            r.reason_codes,
            r.reader_id,
            r.photo_sha256,
            r.installation_id is not None,
            r.usage_point_id,
            r.import_job,
            r.rule_set_version,
            r.register_id is not None,
            r.gps,
        )
        for r in rows
    ]
    assert [g[:8] for g in got] == [
        (
            utc(2025, 1, 5, 8),
            Decimal("12.500"),
            "handheld",
            "actual",
            "rejected",
            ["read_before_installation"],
            None,
            None,
        ),
        (
            utc(2025, 1, 31, 8),
            Decimal("99870.125"),
            "handheld",
            "doubtful",
            "accepted",
            [],
            reader,
            photo,
        ),
        (
            utc(2025, 2, 28, 8),
            Decimal("130.000"),
            "ami",
            "actual",
            "flagged",
            ["rollover"],
            None,
            None,
        ),
        (
            utc(2025, 3, 31, 8),
            Decimal("0.001"),
            "self_read",
            "actual",
            "rejected",
            ["negative_advance"],
            other,
            None,
        ),
    ]
    # Ids drawn ahead from the table's sequence: distinct, already handed out by it.
    last_drawn = db.scalar(text("SELECT last_value FROM meter_reading_id_seq"))
    assert len({r.id for r in rows}) == 4 and all(0 < r.id <= last_drawn for r in rows)
    assert [g[8:] for g in got] == [(False, None, "job-fields", 1, True, None)] + [
        (True, point.id, "job-fields", 1, True, None)
    ] * 3


def test_a_big_load_shares_new_months_with_a_second_connection(
    db, make_meter, make_usage_point, monkeypatch
):
    """The helper's months are attached as partitions in this transaction: every read lands,
    once, and no load table is left behind."""
    from sqlalchemy import text

    from meters.readings import parallel_load

    monkeypatch.setattr(parallel_load, "MIN_ROWS", 1)
    meter, _ = _installed(db, make_meter, make_usage_point, at=utc(2019, 1, 1))
    reads = [_read(meter, utc(2019, month, 20), 100 * month) for month in range(1, 7)]
    report = import_readings_from_rows(db, reads, job_key="job-parallel")
    again = import_readings_from_rows(db, reads, job_key="job-parallel-again")
    assert (report.new, report.accepted, again.new, again.duplicates) == (6, 6, 0, 6)
    stored = _stored(db, meter)
    assert sorted(stored) == [utc(2019, month, 20) for month in range(1, 7)]
    assert {r.import_job for r in stored.values()} == {"job-parallel"}
    names = db.scalars(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'meter_reading'::regclass AND c.relname LIKE 'y2019%'"
        )
    ).all()
    assert sorted(names) == [f"y2019m0{month}" for month in range(1, 7)]
    # Half the months were loaded by the helper (their constraints keep the load's name).
    helped = db.scalars(
        text(
            "SELECT DISTINCT t.relname FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid "
            "WHERE t.relname LIKE 'y2019%' AND k.conname LIKE 'kw_load_%'"
        )
    ).all()
    assert len(helped) == 3
    left = db.scalar(
        text("SELECT count(*) FROM pg_class WHERE relname LIKE 'kw_load_%' AND NOT relispartition")
    )
    assert left == 0
