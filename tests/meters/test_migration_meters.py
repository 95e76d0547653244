"""The meters file: assets keyed by serial with their registers; rules and re-import."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session

from core.migration.spec import entity
from tests.customers.migration_files import base, count, load, refused

HEADER = "serial,make,model,meter_type,dial_digits,multiplier,phases,registers"
GOOD = ["M1,Sagemcom,CX1000,postpaid,5,1,1,total", "M2,Landis+Gyr,E450,smart,6,40,3,total;peak"]


def test_meters_are_written_with_registers_and_reimport_changes_nothing(
    db: Session, tmp_path: Path
) -> None:
    report = load(db, base(tmp_path, meters="\n".join([HEADER, *GOOD])))
    assert report.entities["meters"].inserted == 2
    assert db.execute(
        text(
            "SELECT m.serial, m.multiplier::text, string_agg(r.code, ';' ORDER BY r.id) "
            "FROM meter_asset m JOIN meter_register r ON r.meter_id = m.id "
            "WHERE m.serial IN ('M1', 'M2') GROUP BY 1, 2 ORDER BY 1"
        )
    ).all() == [("M1", "1.0000", "total"), ("M2", "40.0000", "total;peak")]
    exported = [r for r in entity("meters").export(db) if r["serial"] in ("M1", "M2")]
    again = load(db, base(tmp_path, meters="\n".join([HEADER, *GOOD])))
    assert (again.entities["meters"].inserted, again.entities["meters"].updated) == (0, 0)
    assert [r for r in entity("meters").export(db) if r["serial"] in ("M1", "M2")] == exported


def test_meter_rules(db: Session, tmp_path: Path) -> None:
    bad = [
        "M1,X,Y,gas,5,1,1,total",
        "M2,X,Y,postpaid,2,1,1,total",
        "M3,X,Y,postpaid,5,0,1,total",
        "M4,X,Y,postpaid,5,1,2,total",
        "M5,X,Y,postpaid,5,1,1,total;night",
    ]
    before = count(db, "meter_asset")
    assert refused(db, base(tmp_path, meters="\n".join([HEADER, *bad]))) == {
        ("meters.csv", 2, "meter_type", "invalid_choice"),
        ("meters.csv", 3, "dial_digits", "out_of_range"),
        ("meters.csv", 4, "multiplier", "out_of_range"),
        ("meters.csv", 5, "phases", "invalid_choice"),
        ("meters.csv", 6, "registers", "invalid_choice"),
    }
    assert count(db, "meter_asset") == before
