"""Small loads (a handheld's batch) take array and JSON parameters instead of temp tables
(``meters.readings.batches.SMALL_LOAD_ROWS``): the same reads, on twin meters with twin
histories, come out the same by either way, and the small way makes no temp table."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import event, select

from meters import service
from meters.models import Reading
from meters.readings import batches
from meters.readings.importer import import_readings_from_rows
from meters.readings.service import estimate_reading, record_readings
from meters.schemas import ReadingCreate
from tests.meters.conftest import utc

PHOTO = "ab" * 32


def _twin(db, make_meter, make_usage_point, tag: str) -> dict[str, object]:
    """Three meters and their histories, the same for every ``tag``:
    - roll: 5 dials, fitted at 99,000, read 99,870 on 31 Jan;
    - est: read 300 on 31 Jan, estimated on 28 Feb (580: 10 kWh/day x 28 days);
    - swap: a first meter on the usage point until 15 Jan, this one fitted then at 50."""
    meters = {}
    for name, start in (("roll", 99_000), ("est", 0)):
        meter, point = make_meter(digits=5), make_usage_point("commercial")
        service.install_meter(
            db,
            meter_id=meter.id,
            usage_point_id=point.id,
            installed_at=utc(2025, 1, 1),
            start_index=start,
        )
        meters[name] = meter
    old, new, point = make_meter(digits=6), make_meter(digits=6), make_usage_point("residential")
    service.install_meter(
        db, meter_id=old.id, usage_point_id=point.id, installed_at=utc(2025, 1, 1), start_index=0
    )
    service.replace_meter(
        db,
        usage_point_id=point.id,
        new_meter_id=new.id,
        replaced_at=utc(2025, 1, 15),
        old_end_index=120,
        new_start_index=50,
    )
    meters["swap"] = new
    import_readings_from_rows(
        db,
        [
            {
                "serial": meters["roll"].serial,
                "read_at": utc(2025, 1, 31),
                "value": 99_870,
                "source": "handheld",
            },
            {
                "serial": meters["est"].serial,
                "read_at": utc(2025, 1, 31),
                "value": 300,
                "source": "handheld",
            },
        ],
        job_key=f"twin-history-{tag}",
    )
    register = db.scalar(select(Reading.register_id).where(Reading.meter_id == meters["est"].id))
    estimate_reading(db, register_id=register, at=utc(2025, 2, 28))
    return meters


def _reads(meters) -> list[ReadingCreate]:
    """One batch: a rollover, a read superseding the estimate, the same read twice, one
    already stored, a zero consumption, an impossible backwards read, one with a GPS point
    and a photo, one before the swapped meter was fitted."""

    def read(name, at, value, **more):
        return ReadingCreate(
            meter_serial=meters[name].serial,
            read_at=at,
            value=Decimal(value),
            source="handheld",
            **more,
        )

    return [
        read("roll", utc(2025, 2, 28), 130),
        read("est", utc(2025, 2, 27), 560),
        read("est", utc(2025, 2, 27), 560),
        read("est", utc(2025, 1, 31), 300),
        read("est", utc(2025, 3, 5), 560),
        read("est", utc(2025, 3, 6), 500),
        read("roll", utc(2025, 3, 10), 400, latitude=6.3601, longitude=2.4012, photo_sha256=PHOTO),
        read("swap", utc(2025, 1, 20), 80),
        read("swap", utc(2025, 2, 20), 20_080),
    ]


def _picture(db, meters, outcomes) -> tuple[list, dict]:
    """What a load answered and what is stored, with the twin-specific ids left out."""
    answered = [(o.status, tuple(o.reason_codes), o.value, o.duplicate) for o in outcomes]
    stored = {}
    for name, meter in meters.items():
        rows = db.scalars(
            select(Reading).where(Reading.meter_id == meter.id).order_by(Reading.read_at)
        ).all()
        stored[name] = [
            (
                r.read_at,
                r.value,
                r.source,
                r.quality,
                r.status,
                tuple(r.reason_codes),
                r.installation_id is not None,
                r.reader_id is not None,
                r.gps is not None,
                r.photo_sha256,
                r.superseded_by_id is not None,
                r.estimation_method,
            )
            for r in rows
        ]
    return answered, stored


def _temp_tables(db):
    made: list[str] = []

    def seen(conn, cursor, statement, *_args):
        if "CREATE TEMP TABLE" in statement:
            made.append(statement)

    event.listen(db.get_bind(), "before_cursor_execute", seen)
    return made, lambda: event.remove(db.get_bind(), "before_cursor_execute", seen)


def test_the_small_way_stores_and_answers_exactly_as_the_temp_table_way(
    db, make_meter, make_usage_point, monkeypatch
):
    small, big = (_twin(db, make_meter, make_usage_point, tag) for tag in ("small", "big"))
    reader = _reader(db)

    made, stop = _temp_tables(db)
    small_outcomes = record_readings(db, readings=_reads(small), actor=reader)
    stop()
    assert made == []  # the small way: parameters only

    monkeypatch.setattr(batches, "SMALL_LOAD_ROWS", 0)  # every load takes the temp tables
    made, stop = _temp_tables(db)
    big_outcomes = record_readings(db, readings=_reads(big), actor=reader)
    stop()
    assert made  # the big way did stage its keys

    answered, stored = _picture(db, small, small_outcomes)
    assert (answered, stored) == _picture(db, big, big_outcomes)
    # Not two equal wrong answers: the hand-checked points of the picture.
    # 99,870 -> 130 on 5 dials: 130 + 100,000 - 99,870 = 260 kWh, a rollover.
    assert answered[0][:2] == ("flagged", ("rollover",))
    # 560 on 27 Feb replaces the estimate of 28 Feb (580). The 31 Jan read was stored
    # before: a duplicate. The same read twice in this load: both answered as the one read
    # this load made (not a duplicate), and stored once.
    assert [a[3] for a in answered] == [False] * 3 + [True] + [False] * 5
    est = stored["est"]
    assert [(r[0], r[4], r[10]) for r in est if r[2] == "estimated"] == [
        (utc(2025, 2, 28), "superseded", True)
    ]
    # 560 on 5 Mar after 560 on 27 Feb: zero consumption, flagged; 500 after 560: backwards.
    assert answered[4][:2] == ("flagged", ("zero_consumption",))
    assert answered[5][:2] == ("rejected", ("negative_advance",))
    # The new meter's first read, 80 (fitted at 50 on 15 Jan), in the period of the change;
    # then 20,000 kWh in 31 days on a residential point: out of range, high.
    assert [a[:2] for a in answered[7:]] == [
        ("flagged", ("meter_change_in_period",)),
        ("flagged", ("out_of_range_high",)),
    ]
    with_point = [r for r in stored["roll"] if r[0] == utc(2025, 3, 10)]
    assert [(r[8], r[9], r[7]) for r in with_point] == [(True, PHOTO, True)]
    assert len(stored["roll"]) == 3 and len(est) == 5


def _reader(db):
    from core.auth.service import actor_for, create_user

    user = create_user(
        db,
        username=f"small-load-reader-{id(db)}",
        password="Reader-password-1",
        roles=["technician"],
    )
    return actor_for(user)
