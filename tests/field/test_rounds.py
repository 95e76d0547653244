"""Reading rounds: selection (polygon, transformer), walking order, expected ranges,
progress, and the re-read order an implausible read creates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from field import service
from field.errors import RoundEmptyError, RoundItemDoneError, RoundSelectionInvalidError
from field.models import RoundItem, WorkOrder
from field.routing import nearest_neighbour, order_stops, path_length
from field.schemas import CycleCreate, RoundBuild, RoundReadingRequest, SkipRequest
from gis.models import NetworkNode, PowerTransformer, ServicePoint
from tests.field.conftest import utc

LAT = 6.37
# 0.001 degree of longitude at 6.37 N is about 110.5 m.
SQUARE = {
    "type": "Polygon",
    "coordinates": [
        [[2.3995, 6.3695], [2.4035, 6.3695], [2.4035, 6.3705], [2.3995, 6.3705], [2.3995, 6.3695]]
    ],
}


def _items(db, round_id: int) -> list[RoundItem]:
    return list(
        db.scalars(
            select(RoundItem).where(RoundItem.round_id == round_id).order_by(RoundItem.sequence)
        )
    )


def test_polygon_round_walks_the_street_in_order(db, office, make_stop) -> None:
    # Four houses along one street, coded out of street order; a fifth outside the polygon.
    a = make_stop(2.400, LAT, code="UP-T-A")
    b = make_stop(2.403, LAT, code="UP-T-B")
    c = make_stop(2.401, LAT, code="UP-T-C", landmark="blue gate")
    d = make_stop(2.402, LAT, code="UP-T-D")
    make_stop(2.410, LAT, code="UP-T-E")
    built = service.build_round(
        db,
        actor=office,
        data=RoundBuild(period_start=date(2025, 5, 1), by="polygon", polygon=SQUARE),
    )
    items = _items(db, built.id)
    # Walking order: from the south-west end, house after house: A, C, D, B.
    assert [i.usage_point_id for i in items] == [
        a.usage_point.id,
        c.usage_point.id,
        d.usage_point.id,
        b.usage_point.id,
    ]
    assert [i.meter_serial for i in items][1] == c.meter.serial
    assert items[1].access_notes == "blue gate"
    by_code = service.build_round(
        db,
        actor=office,
        data=RoundBuild(
            period_start=date(2025, 6, 1), by="polygon", polygon=SQUARE, ordering="code"
        ),
    )
    # Code order A, B, C, D walks 3 + 2 + 1 = 6 gaps of ~110.5 m; the route 3 gaps: half.
    assert by_code.route_length_m == pytest.approx(2 * built.route_length_m, rel=1e-6)
    assert 300 < built.route_length_m < 340


def test_transformer_round_takes_its_zone_only(db, office, make_stop) -> None:
    hv = NetworkNode(code="N-HV-T1")
    lv = NetworkNode(code="N-LV-T1")
    db.add_all([hv, lv])
    db.flush()
    transformer = PowerTransformer(
        code="TR-FIELD-1",
        rated_kva=160,
        hv_node_id=hv.id,
        lv_node_id=lv.id,
        geom="SRID=4326;POINT(2.4 6.37)",
    )
    db.add(transformer)
    db.flush()
    pole = ServicePoint(
        code="SP-FIELD-1",
        kind="pole",
        node_id=lv.id,
        geom="SRID=4326;POINT(2.4 6.37)",
        transformer_id=transformer.id,
    )
    db.add(pole)
    db.flush()
    inside = [make_stop(2.400 + k / 1000, LAT, service_point_id=pole.id) for k in range(3)]
    make_stop(2.401, LAT)  # same street, another transformer's zone (none here)
    built = service.build_round(
        db,
        actor=office,
        data=RoundBuild(
            period_start=date(2025, 5, 1), by="transformer", transformer_code="TR-FIELD-1"
        ),
    )
    assert sorted(i.usage_point_id for i in _items(db, built.id)) == sorted(
        s.usage_point.id for s in inside
    )
    # The same points are in an open round of May now: a second round finds nothing left.
    with pytest.raises(RoundEmptyError):
        service.build_round(
            db,
            actor=office,
            data=RoundBuild(
                period_start=date(2025, 5, 1), by="transformer", transformer_code="TR-FIELD-1"
            ),
        )


def test_ortools_beats_code_order_on_a_scattered_round() -> None:
    import random

    rng = random.Random(7)
    points = [(rng.uniform(0, 1500), rng.uniform(0, 1500)) for _ in range(80)]
    code_order = list(range(80))
    solved = order_stops(points, time_limit_s=1)
    assert sorted(solved) == code_order  # every stop once
    assert path_length(points, solved) < 0.3 * path_length(points, code_order)
    assert path_length(points, solved) <= path_length(points, nearest_neighbour(points))


def test_expected_range_from_history_and_re_read(db, office, make_stop) -> None:
    # 1000 at installation (1 Jan), then 1100, 1200, 1300 on 1 Feb, 1 Mar, 1 Apr (11:00 UTC).
    stop = make_stop(
        2.400,
        LAT,
        reads=[
            (utc(2025, 2, 1, 11), 1100),
            (utc(2025, 3, 1, 11), 1200),
            (utc(2025, 4, 1, 11), 1300),
        ],
    )
    built = service.build_round(
        db,
        actor=office,
        data=RoundBuild(
            period_start=date(2025, 5, 1),
            by="polygon",
            polygon=SQUARE,
            planned_date=date(2025, 5, 1),
        ),
    )
    [item] = _items(db, built.id)
    # History rate: the kWh after the first of the last 3 reads over their days:
    # (100 + 100) / 59 days (1 Feb -> 1 Apr) = 3.389830 kWh/day. Planned read: 1 May 12:00
    # Porto-Novo = 11:00 UTC, 30 days after 1 Apr. Low = 1300 + floor(3.38983 x 30 x 0.2
    # = 20.34) = 1320; high = 1300 + ceil(3.38983 x 30 x 3 = 305.08) = 1606.
    assert item.expected == {
        "total": {
            "previous": "1300.000",
            "previous_at": "2025-04-01T11:00:00+00:00",
            "low": "1320.000",
            "high": "1606.000",
        }
    }
    # 1900 adds 600 kWh in 30 days: above the high bound -> flagged out_of_range_high.
    result = service.record_round_reading(
        db,
        actor=office,
        round_item_id=item.id,
        data=RoundReadingRequest(values={"total": Decimal(1900)}, read_at=utc(2025, 5, 1, 11)),
    )
    assert result.reading_status == "flagged"
    assert result.reason_codes == ["out_of_range_high"]
    order = result.re_read
    assert order is not None
    assert (order.kind, order.status, order.usage_point_id, order.round_item_id) == (
        "re_read",
        "created",
        stop.usage_point.id,
        item.id,
    )
    assert order.source_key == f"re_read:round_item:{item.id}"
    assert item.status == "read" and item.reading_ids == result.reading_ids
    with pytest.raises(RoundItemDoneError):
        service.record_round_reading(
            db,
            actor=office,
            round_item_id=item.id,
            data=RoundReadingRequest(values={"total": Decimal(1400)}, read_at=utc(2025, 5, 1, 12)),
        )


def test_plausible_read_creates_no_order_and_progress_counts(
    db, office, make_stop, make_technician
) -> None:
    make_stop(
        2.400,
        LAT,
        reads=[
            (utc(2025, 2, 1, 11), 1100),
            (utc(2025, 3, 1, 11), 1200),
            (utc(2025, 4, 1, 11), 1300),
        ],
    )
    make_stop(2.401, LAT)
    make_stop(2.402, LAT)
    technician, reader = make_technician()
    built = service.build_round(
        db,
        actor=office,
        data=RoundBuild(
            period_start=date(2025, 5, 1), by="polygon", polygon=SQUARE, technician_id=technician.id
        ),
    )
    first, second, _third = _items(db, built.id)
    result = service.record_round_reading(
        db,
        actor=reader,
        round_item_id=first.id,
        data=RoundReadingRequest(values={"total": Decimal(1400)}, read_at=utc(2025, 5, 1, 11)),
    )
    assert (result.reading_status, result.re_read) == ("accepted", None)
    service.skip_round_item(
        db,
        actor=reader,
        round_item_id=second.id,
        data=SkipRequest(code="dog", at=utc(2025, 5, 1, 11)),
    )
    progress = service.round_progress(db, actor=office, round_id=built.id)
    assert progress == {
        "round_id": built.id,
        "total": 3,
        "read": 1,
        "skipped": 1,
        "pending": 1,
        "by_reader": [{"technician_id": technician.id, "pending": 0, "read": 1, "skipped": 1}],
    }
    assert db.scalar(select(WorkOrder.id).where(WorkOrder.round_item_id == first.id)) is None


def test_reorder_and_close_bump_the_route_version(db, office, make_stop, make_technician) -> None:
    a = make_stop(2.400, LAT, code="UP-R-A")
    b = make_stop(2.403, LAT, code="UP-R-B")
    c = make_stop(2.401, LAT, code="UP-R-C")
    d = make_stop(2.402, LAT, code="UP-R-D")
    technician, _ = make_technician()
    built = service.build_round(
        db,
        actor=office,
        data=RoundBuild(
            period_start=date(2025, 5, 1),
            by="polygon",
            polygon=SQUARE,
            ordering="code",
            technician_id=technician.id,
        ),
    )
    code_length = built.route_length_m
    assert [i.usage_point_id for i in _items(db, built.id)] == [
        s.usage_point.id for s in (a, b, c, d)
    ]
    assert built.route_version == 2  # built, then assigned
    service.reorder_round(db, actor=office, round_id=built.id, ordering="ortools")
    assert [i.usage_point_id for i in _items(db, built.id)] == [
        s.usage_point.id for s in (a, c, d, b)
    ]
    assert (built.route_version, built.ordering) == (3, "ortools")
    assert built.route_length_m == pytest.approx(code_length / 2, rel=1e-6)  # 3 gaps, not 6
    service.close_round(db, actor=office, round_id=built.id)
    assert (built.status, built.route_version) == ("closed", 4)
    assert {i.technician_id for i in _items(db, built.id)} == {None}
    released = service.assignments_since(db, technician_id=technician.id, since=4)
    assert len(released.released) == 4 and released.round_items == []


def test_cycle_round_takes_the_cycle_members(db, office, make_stop) -> None:
    members = [make_stop(2.400 + k / 1000, LAT) for k in range(3)]
    make_stop(2.404, LAT)  # in the polygon, not in the cycle
    cycle = service.create_cycle(
        db,
        actor=office,
        data=CycleCreate(code="CY-01", usage_point_ids=[m.usage_point.id for m in members]),
    )
    built = service.build_round(
        db,
        actor=office,
        data=RoundBuild(period_start=date(2025, 5, 1), by="cycle", cycle_code=cycle.code),
    )
    assert [i.usage_point_id for i in _items(db, built.id)] == [m.usage_point.id for m in members]
    assert built.selection == {"by": "cycle", "cycle_code": "CY-01"}
    with pytest.raises(RoundSelectionInvalidError):
        service.build_round(
            db,
            actor=office,
            data=RoundBuild(period_start=date(2025, 5, 1), by="cycle", cycle_code="CY-NONE"),
        )
