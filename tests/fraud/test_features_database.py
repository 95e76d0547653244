"""The history and features loaded from the database on the hand-drawn network: monthly
energy aligned like the balance, read counts by outcome, distance, the zone's NTL share."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from pyproj import Transformer
from sqlalchemy import text
from sqlalchemy.orm import Session

from core.context import SYSTEM
from fraud.features.build import build_features
from fraud.features.series import load_history
from fraud.service import compute_balances
from tests.fraud.conftest import Net, local

JAN, FEB, MARCH, APRIL = (date(2025, m, 1) for m in (1, 2, 3, 4))


def _setup(db: Session, net: Net) -> tuple[int, int]:
    # T1's zone meter as in test_balance's hand-made balance (March: 1100 kWh in, technical
    # loss 153.265 kWh), B1 and B2 with more history.
    net.zone_meter(local(FEB), transformer="T1").reads(
        (local(MARCH), 10_000), (local(APRIL), 11_100)
    )
    b1 = net.customer("B1", local(JAN), start=100)
    # Jan: 100 -> 100 (0 kWh), Feb: 100 -> 200, March: 200 -> 260 (estimate) -> 600,
    # the 1 Apr read closes March (inside the window, not counted as a March read).
    b1.reads(
        (local(FEB), 100),
        (local(MARCH), 200),
        (local(date(2025, 3, 16)), 260, "estimated"),
        (local(APRIL), 600),
    )
    db.execute(
        text(
            "INSERT INTO meter_reading (read_at, register_id, meter_id, installation_id,"
            " usage_point_id, value, source, status, rule_set_version)"
            " SELECT :at, register_id, meter_id, installation_id, usage_point_id, 5, 'handheld',"
            " 'rejected', rule_set_version FROM meter_reading WHERE register_id = :r LIMIT 1"
        ),
        {"at": local(date(2025, 2, 10)), "r": b1.register_id},
    )
    # B2 fitted mid-February at 0: 15 Feb -> 1 Mar 140 kWh; March 140 -> 390.
    b2 = net.customer("B2", local(date(2025, 2, 15)))
    b2.reads((local(MARCH), 140), (local(APRIL), 390))
    compute_balances(db, actor=SYSTEM, first=MARCH, last=MARCH)
    assert b1.usage_point_id and b2.usage_point_id
    return b1.usage_point_id, b2.usage_point_id


def test_history_from_the_database(db: Session, net: Net) -> None:
    b1, b2 = _setup(db, net)
    h = load_history(db, MARCH, months=3, ids=[b1, b2])
    assert h.ids.tolist() == [b1, b2] and h.months == [JAN, FEB, MARCH]
    # B2 had no meter in January: unknown, not zero.
    assert h.kwh[0].tolist() == [0, 100, 400]
    assert h.kwh[1, 1:].tolist() == [140, 250] and np.isnan(h.kwh[1, 0])
    assert h.actual_reads.tolist() == [[0, 1, 1], [0, 0, 1]]
    assert h.estimated_reads[0].tolist() == [0, 0, 1]
    assert h.rejected_reads[0].tolist() == [0, 1, 0]
    assert h.hours.tolist() == [744, 672, 744]
    t1 = net.transformer("T1").id
    assert h.transformer_id.tolist() == [t1, t1]
    # T1's March balance (the only analysable month of Jan-March):
    # (1100 - (400 + 250) - 153.265) / 1100 = 0.269759
    assert h.zone_ntl_share.tolist() == [0.269759, 0.269759]
    assert np.isnan(h.feeder_ntl_share).all()  # F1 has no zone meter: not analysable


def test_distance_to_the_transformer_in_metres(db: Session, net: Net) -> None:
    b1, _ = _setup(db, net)
    db.execute(
        text(
            "UPDATE gis_service_point SET geom = ST_SetSRID(ST_MakePoint(2.421, 6.401), 4326)"
            " WHERE code = :c"
        ),
        {"c": net.prefix + "B1"},
    )
    matrix = build_features(db, MARCH, months=3, ids=[b1])
    # T1 stands at (2.42, 6.40); both points in UTM 31N (EPSG:32631), then Pythagoras.
    utm = Transformer.from_crs("EPSG:4326", "EPSG:32631", always_xy=True)
    (x0, x1), (y0, y1) = utm.transform([2.42, 2.421], [6.40, 6.401])
    assert matrix.row(b1)["distance_to_transformer_m"] == pytest.approx(
        np.hypot(x1 - x0, y1 - y0), abs=0.01
    )
    assert matrix.row(b1)["estimated_reads"] == 1
    assert matrix.row(b1)["rejected_reads"] == 1


def test_the_zone_ntl_in_kwh(db: Session, net: Net) -> None:
    b1, b2 = _setup(db, net)
    h = load_history(db, MARCH, months=3, ids=[b1, b2])
    # T1's March NTL: 1100 - (400 + 250) - 153.265 = 296.735 kWh (the ranking's balance
    # check compares a usage point's missing kWh with it).
    assert h.zone_ntl_kwh is not None and h.zone_ntl_kwh.tolist() == [296.735, 296.735]
    assert h.kwh[0].tolist() == [0, 100, 400]  # the energy is still there
