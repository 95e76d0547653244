"""Bad input on the reading path: impossible dates, unknown readers, reads outside the
importing user's territory, and the same file imported twice at once. Each is refused with
a stable code (or served once), never a 500, never a half-written load, never a partition
made for a typo."""

from __future__ import annotations

import io
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import exists, func, select, text
from sqlalchemy.orm import Session

from core.auth.service import get_or_create_agency
from core.context import Actor
from customers.models import ServiceLocation, UsagePoint
from meters import service
from meters.errors import ReadingImportInvalidError
from meters.models import Reading, Register
from meters.readings.errors import ReadingDateOutOfBoundsError
from meters.readings.importer import import_readings_from_csv
from meters.readings.partitions import existing_partitions
from meters.readings.service import estimate_reading, record_readings
from meters.schemas import MeterCreate, ReadingCreate
from tests.conftest import bearer
from tests.meters.conftest import utc


def _installed(db, make_meter, make_usage_point, point=None):
    meter = make_meter()
    point = point or make_usage_point()
    service.install_meter(
        db, meter_id=meter.id, usage_point_id=point.id, installed_at=utc(2025, 1, 1), start_index=0
    )
    db.commit()  # a refused request rolls its unit of work back: keep the fixture apart
    return meter


def _count(db: Session, meter) -> int:
    query = select(func.count()).select_from(Reading).where(Reading.meter_id == meter.id)
    return int(db.scalar(query))


def test_dates_out_of_bounds_refuse_the_file_by_line_and_make_no_partition(
    db, make_meter, make_usage_point
) -> None:
    meter = _installed(db, make_meter, make_usage_point)
    ahead = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    csv = (
        "serial,read_at,value,source\n"
        f"{meter.serial},2025-01-31T08:00:00Z,100,handheld\n"
        f"{meter.serial},9999-12-31T08:00:00Z,120,handheld\n"
        f"{meter.serial},0001-01-01T08:00:00Z,130,handheld\n"
        f"{meter.serial},1969-12-31T23:00:00Z,130,handheld\n"
        f"{meter.serial},{ahead},140,handheld\n"
    ).encode()
    before = existing_partitions(db)
    with pytest.raises(ReadingImportInvalidError) as err:
        import_readings_from_csv(db, io.BytesIO(csv))
    assert [(e.field, e.code) for e in err.value.errors] == [
        ("line 3", "read_at_out_of_bounds"),
        ("line 4", "read_at_out_of_bounds"),
        ("line 5", "read_at_out_of_bounds"),
        ("line 6", "read_at_out_of_bounds"),
    ]
    assert existing_partitions(db) == before
    assert _count(db, meter) == 0


def test_a_far_future_single_read_is_a_422_and_makes_no_partition(
    client, db, make_user, make_meter, make_usage_point
) -> None:
    token = make_user("billing_officer")
    serial = _installed(db, make_meter, make_usage_point).serial
    before = existing_partitions(db)
    for at in ("9999-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "1960-06-01T00:00:00Z"):
        response = client.post(
            "/api/v1/readings",
            headers=bearer(token),
            json={"meter_serial": serial, "read_at": at, "value": 5, "source": "handheld"},
        )
        problem = (response.status_code, response.json()["code"])
        assert problem == (422, "read_at_out_of_bounds"), response.text
    assert existing_partitions(db) == before


def test_single_reads_and_estimates_out_of_bounds_are_refused(
    db, make_meter, make_usage_point
) -> None:
    meter = _installed(db, make_meter, make_usage_point)
    before = existing_partitions(db)
    with pytest.raises(ReadingDateOutOfBoundsError):
        record_readings(
            db,
            readings=[
                ReadingCreate(
                    meter_serial=meter.serial,
                    read_at=datetime.now(UTC) + timedelta(days=3),
                    value=5,
                    source="handheld",
                )
            ],
        )
    register_id = db.scalar(select(Register.id).where(Register.meter_id == meter.id))
    with pytest.raises(ReadingDateOutOfBoundsError):
        estimate_reading(db, register_id=register_id, at=datetime(9999, 1, 1, tzinfo=UTC))
    assert existing_partitions(db) == before
    assert _count(db, meter) == 0


def test_a_reader_id_that_is_no_user_is_a_bad_line(db, make_meter, make_usage_point) -> None:
    meter = _installed(db, make_meter, make_usage_point)
    missing = int(db.scalar(text("SELECT coalesce(max(id), 0) + 1000 FROM core_user")))
    csv = (
        "serial,read_at,value,source,reader_id\n"
        f"{meter.serial},2025-01-31T08:00:00Z,100,handheld,\n"
        f"{meter.serial},2025-02-28T08:00:00Z,200,handheld,{missing}\n"
    ).encode()
    with pytest.raises(ReadingImportInvalidError) as err:
        import_readings_from_csv(db, io.BytesIO(csv))
    assert [(e.field, e.code) for e in err.value.errors] == [("line 3", "unknown_reader")]
    assert _count(db, meter) == 0


def _usage_point_rule(scope):  # located by its premises (the customers domain's rule)
    return exists().where(
        ServiceLocation.id == UsagePoint.service_location_id, scope.covers(ServiceLocation.geom)
    )


def test_an_import_writes_nothing_outside_the_importers_territory(
    db, make_meter, make_usage_point, monkeypatch
) -> None:
    if not hasattr(UsagePoint, "__territory__"):  # until the customers domain declares it
        monkeypatch.setattr(
            UsagePoint, "__territory__", staticmethod(_usage_point_rule), raising=False
        )
    agency = get_or_create_agency(db, code=f"AG-{uuid.uuid4().hex[:6]}")
    db.execute(
        text(
            "UPDATE core_agency SET territory = ST_Multi(ST_MakeEnvelope(2, 6, 3, 7, 4326)) "
            "WHERE id = :id"
        ),
        {"id": agency.id},
    )
    inside, outside = make_usage_point(), make_usage_point()
    for point, (lon, lat) in ((inside, (2.4, 6.4)), (outside, (1.2, 6.4))):
        db.execute(
            text(
                "UPDATE customer_service_location SET geom = ST_SetSRID(ST_MakePoint(:x, :y), 4326) "
                "WHERE id = :id"
            ),
            {"x": lon, "y": lat, "id": point.service_location_id},
        )
    mine = _installed(db, make_meter, make_usage_point, point=inside)
    theirs = _installed(db, make_meter, make_usage_point, point=outside)
    stock = make_meter()  # never installed: in no territory
    csv = (
        "serial,read_at,value,source\n"
        f"{mine.serial},2025-01-31T08:00:00Z,100,handheld\n"
        f"{theirs.serial},2025-01-31T08:00:00Z,100,handheld\n"
        f"{mine.serial},2025-02-28T08:00:00Z,200,handheld\n"
        f"{stock.serial},2025-02-28T08:00:00Z,200,handheld\n"
    ).encode()
    actor = Actor(
        user_id=None, username="agent", agency_id=agency.id, territory_agency_id=agency.id
    )
    with pytest.raises(ReadingImportInvalidError) as err:
        import_readings_from_csv(db, io.BytesIO(csv), actor=actor)
    assert [(e.field, e.code) for e in err.value.errors] == [
        ("line 3", "outside_territory"),
        ("line 5", "outside_territory"),
    ]
    assert (_count(db, mine), _count(db, theirs)) == (0, 0)
    # Head office (no territory) imports the same file.
    report = import_readings_from_csv(db, io.BytesIO(csv), actor=Actor(None, "head-office"))
    assert report.new == 4


def test_the_same_file_imported_twice_at_once_is_stored_once(engine) -> None:
    """Two real connections, each committing its own import of the same bytes."""
    serial = f"CONC{uuid.uuid4().hex[:8].upper()}"
    with Session(engine) as setup:
        meter = service.create_meter(
            setup, data=MeterCreate(serial=serial, meter_type="postpaid", dial_digits=5)
        )
        location = ServiceLocation(code=f"SL-{serial}", address_line="Rue 2")
        setup.add(location)
        setup.flush()
        point = UsagePoint(
            code=f"UP-{serial}",
            service_location_id=location.id,
            category="residential",
            subscribed_power_kva=3,
        )
        setup.add(point)
        setup.flush()
        service.install_meter(
            setup,
            meter_id=meter.id,
            usage_point_id=point.id,
            installed_at=utc(2025, 1, 1),
            start_index=0,
        )
        setup.commit()
        meter_id, point_id, location_id = meter.id, point.id, location.id
    csv = "serial,read_at,value,source\n" + "".join(
        f"{serial},2025-{m:02d}-20T08:00:00Z,{100 * m},handheld\n" for m in range(1, 7)
    )
    start, outcomes = threading.Barrier(2), []

    def run() -> None:
        try:
            with Session(engine) as session:
                start.wait()
                report = import_readings_from_csv(session, io.BytesIO(csv.encode()))
                session.commit()
                outcomes.append((report.new, report.duplicates))
        except Exception as error:  # recorded: the test fails on it below
            outcomes.append(("error", repr(error)))

    threads = [threading.Thread(target=run) for _ in range(2)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        with Session(engine) as check:
            stored = check.scalar(
                select(func.count()).select_from(Reading).where(Reading.meter_id == meter_id)
            )
        assert sorted(outcomes) == [(0, 6), (6, 0)]
        assert stored == 6
    finally:
        with Session(engine) as cleanup:
            cleanup.execute(text("DELETE FROM meter_reading WHERE meter_id = :m"), {"m": meter_id})
            cleanup.execute(
                text("DELETE FROM meter_installation WHERE meter_id = :m"), {"m": meter_id}
            )
            cleanup.execute(text("DELETE FROM meter_register WHERE meter_id = :m"), {"m": meter_id})
            cleanup.execute(text("DELETE FROM meter_asset WHERE id = :m"), {"m": meter_id})
            cleanup.execute(text("DELETE FROM customer_usage_point WHERE id = :p"), {"p": point_id})
            cleanup.execute(
                text("DELETE FROM customer_service_location WHERE id = :l"), {"l": location_id}
            )
            cleanup.commit()
