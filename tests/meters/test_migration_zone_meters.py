"""The zone meters file: a meter measuring a transformer or a feeder head from a date;
references to the network by code, one zone per meter and one meter per zone at a time
(in the file and against stored zone meters), re-import and export."""

from __future__ import annotations

from pathlib import Path

from geoalchemy2 import WKTElement
from sqlalchemy import text
from sqlalchemy.orm import Session

from core.migration.spec import entity
from gis.models import Feeder, NetworkNode, PowerTransformer
from tests.customers.migration_files import base, count, load, refused

HEADER = "zone_meter_key,serial,transformer_code,feeder_code,installed_at,removed_at"
GOOD = [
    "Z1,ZT1,TR-1,,2023-01-01T00:00:00+00:00,2024-01-01T00:00:00+00:00",
    "Z2,ZT2,TR-1,,2024-01-01T00:00:00+00:00,",
    "Z3,ZF1,,FD-1,2023-01-01T00:00:00+00:00,",
]


def network(db: Session) -> None:
    """A feeder FD-1 and a transformer TR-1 on it."""
    point = WKTElement("POINT(2.4183 6.3676)", srid=4326)
    nodes = [NetworkNode(code=f"N-ZM-{i}", geom=point) for i in range(2)]
    db.add_all(nodes)
    db.flush()
    feeder = Feeder(code="FD-1", head_node_id=nodes[0].id)
    db.add(feeder)
    db.flush()
    db.add(
        PowerTransformer(
            code="TR-1",
            rated_kva=160,
            hv_node_id=nodes[0].id,
            lv_node_id=nodes[1].id,
            geom=point,
            feeder_id=feeder.id,
        )
    )
    db.flush()


def zone_base(tmp_path: Path, rows: list[str]) -> Path:
    return base(
        tmp_path,
        meters="serial,meter_type\nZT1,smart\nZT2,smart\nZF1,smart\nZF2,smart",
        zone_meters="\n".join([HEADER, *rows]),
    )


def test_zone_meters_are_written_and_reimport_changes_nothing(db: Session, tmp_path: Path) -> None:
    network(db)
    report = load(db, zone_base(tmp_path, GOOD))
    assert report.entities["zone_meters"].inserted == 3
    assert db.execute(
        text(
            "SELECT m.serial, m.status, t.code, f.code FROM meter_zone_installation z "
            "JOIN meter_asset m ON m.id = z.meter_id "
            "LEFT JOIN gis_power_transformer t ON t.id = z.transformer_id "
            "LEFT JOIN gis_feeder f ON f.id = z.feeder_id ORDER BY 1"
        )
    ).all() == [
        ("ZF1", "installed", None, "FD-1"),
        ("ZT1", "in_stock", "TR-1", None),
        ("ZT2", "installed", "TR-1", None),
    ]
    exported = list(entity("zone_meters").export(db))
    assert [(r["zone_meter_key"], r["serial"], r["installed_at"].year) for r in exported] == [
        ("Z1", "ZT1", 2023),
        ("Z2", "ZT2", 2024),
        ("Z3", "ZF1", 2023),
    ]
    again = load(db, zone_base(tmp_path, GOOD))
    assert {n: (e.inserted, e.updated) for n, e in again.entities.items()} == {
        n: (0, 0) for n in again.entities
    }
    assert list(entity("zone_meters").export(db)) == exported


def test_zone_meter_rules(db: Session, tmp_path: Path) -> None:
    network(db)
    bad = [
        "Z1,ZT1,TR-1,,2023-01-01T00:00:00+00:00,",
        "Z2,ZT1,,FD-1,2023-06-01T00:00:00+00:00,",  # ZT1 measures TR-1 then
        "Z3,ZT2,TR-1,,2023-03-01T00:00:00+00:00,",  # TR-1 has ZT1 then
        "Z4,ZF1,TR-1,FD-1,2023-01-01T00:00:00+00:00,",
        "Z5,ZF1,,,2023-01-01T00:00:00+00:00,",
        "Z6,ZF1,,FD-1,2023-01-01T00:00:00+00:00,2022-01-01T00:00:00+00:00",
        "Z7,ZX9,,FD-1,2020-01-01T00:00:00+00:00,2021-01-01T00:00:00+00:00",
        "Z8,ZF2,TR-9,,2023-01-01T00:00:00+00:00,",
        "Z9,ZF2,,FD-9,2023-01-01T00:00:00+00:00,",
    ]
    before = count(db, "meter_zone_installation")
    assert refused(db, zone_base(tmp_path, bad)) == {
        ("zone_meters.csv", 3, "serial", "meter_installed_twice"),
        ("zone_meters.csv", 4, "transformer_code", "zone_has_meter"),
        ("zone_meters.csv", 5, "transformer_code", "zone_required"),
        ("zone_meters.csv", 6, "transformer_code", "zone_required"),
        ("zone_meters.csv", 7, "removed_at", "invalid_dates"),
        ("zone_meters.csv", 8, "serial", "reference_unknown"),
        ("zone_meters.csv", 9, "transformer_code", "reference_unknown"),
        ("zone_meters.csv", 10, "feeder_code", "reference_unknown"),
    }
    assert count(db, "meter_zone_installation") == before


def test_a_zone_measured_by_a_stored_meter_is_refused(db: Session, tmp_path: Path) -> None:
    network(db)
    load(db, zone_base(tmp_path, GOOD))
    later = [
        "Z7,ZF2,,FD-1,2024-06-01T00:00:00+00:00,",  # FD-1 still has ZF1 (Z3)
        "Z8,ZF1,TR-1,,2020-01-01T00:00:00+00:00,2021-01-01T00:00:00+00:00",  # before: fine
    ]
    assert refused(db, zone_base(tmp_path, later)) == {
        ("zone_meters.csv", 2, "feeder_code", "zone_has_meter"),
    }
