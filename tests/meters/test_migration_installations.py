"""The installations file: meters fitted at usage points with their indexes, replacements,
the meter's status, the rules (one place per meter, one meter per usage point and register
set, at a time; in the file and against stored installations), re-import and export."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session

from core.migration.spec import entity
from tests.customers.migration_files import (
    audit_since,
    base,
    count,
    last_audit_id,
    load,
    refused,
    service_point,
)

HEADER = (
    "installation_key,serial,usage_point_key,register_set,installed_at,start_indexes,"
    "removed_at,end_indexes,removal_reason,replaces_key"
)
GOOD = [
    "I1,M1,U1,main,2023-01-01T00:00:00+00:00,total=100,2024-01-01T00:00:00+00:00,total=500,faulty,",
    "I2,M2,U1,main,2024-01-01T00:00:00+00:00,total=0;peak=0,,,,I1",
    "I3,M3,U2,,2023-06-01T08:00:00+01:00,total=10,,,,",
]


def installation_base(tmp_path: Path, installations: list[str]) -> Path:
    return base(
        tmp_path,
        premises="premises_key,service_point_code\nL1,SP-1\nL2,SP-1",
        usage_points=(
            "usage_point_key,premises_key,category,subscribed_kva\n"
            "U1,L1,residential,3.30\nU2,L2,commercial,9.90"
        ),
        meters="serial,meter_type,registers\nM1,postpaid,total\nM2,smart,total;peak\n"
        "M3,postpaid,total\nM4,postpaid,total",
        installations="\n".join([HEADER, *installations]),
    )


def _stored(db: Session) -> list[tuple]:
    return db.execute(
        text(
            "SELECT k.external_key, m.serial, m.status, x.start_indexes, x.end_indexes, "
            "x.installed_at::text, r.external_key "
            "FROM meter_installation x JOIN meter_asset m ON m.id = x.meter_id "
            "JOIN core_migration_key k ON k.entity = 'installations' AND k.kilowatch_id = x.id "
            "LEFT JOIN core_migration_key r ON r.entity = 'installations' "
            "AND r.kilowatch_id = x.replaces_installation_id ORDER BY 1"
        )
    ).all()


def test_installations_are_written_and_reimport_changes_nothing(
    db: Session, tmp_path: Path
) -> None:
    service_point(db, "SP-1", 2.4183, 6.3676)
    db.execute(text("SET LOCAL timezone = 'UTC'"))
    report = load(db, installation_base(tmp_path, GOOD))
    assert report.entities["installations"].inserted == 3
    assert _stored(db) == [
        (
            "I1",
            "M1",
            "in_stock",
            {"total": "100"},
            {"total": "500"},
            "2023-01-01 00:00:00+00",
            None,
        ),
        (
            "I2",
            "M2",
            "installed",
            {"total": "0", "peak": "0"},
            None,
            "2024-01-01 00:00:00+00",
            "I1",
        ),
        ("I3", "M3", "installed", {"total": "10"}, None, "2023-06-01 07:00:00+00", None),
    ]  # fmt: skip  (M1: its only installation is over, and no status given: in stock)
    assert db.scalar(text("SELECT status FROM meter_asset WHERE serial = 'M4'")) == "in_stock"
    exported = list(entity("installations").export(db))
    assert [(r["installation_key"], r["start_indexes"], r["replaces_key"]) for r in exported] == [
        ("I1", "total=100", None),
        ("I2", "peak=0;total=0", "I1"),
        ("I3", "total=10", None),
    ]
    since = last_audit_id(db)
    again = load(db, installation_base(tmp_path, GOOD))
    assert {n: (e.inserted, e.updated) for n, e in again.entities.items()} == {
        n: (0, 0) for n in again.entities
    }
    assert audit_since(db, since) == []
    assert list(entity("installations").export(db)) == exported


def test_a_removal_in_a_corrected_file_updates_the_installation_and_the_meter(
    db: Session, tmp_path: Path
) -> None:
    service_point(db, "SP-1", 2.4183, 6.3676)
    load(db, installation_base(tmp_path, GOOD))
    removed = GOOD[2].replace(",,,,", ",2024-02-01T00:00:00+00:00,total=90,stolen,")
    report = load(db, installation_base(tmp_path, [*GOOD[:2], removed]))
    assert (
        report.entities["installations"].inserted,
        report.entities["installations"].updated,
    ) == (
        0,
        1,
    )
    assert db.execute(
        text(
            "SELECT m.status, x.end_indexes, x.removal_reason FROM meter_installation x "
            "JOIN meter_asset m ON m.id = x.meter_id WHERE m.serial = 'M3'"
        )
    ).one() == ("removed", {"total": "90"}, "stolen")


def test_installation_rules(db: Session, tmp_path: Path) -> None:
    service_point(db, "SP-1", 2.4183, 6.3676)
    bad = [
        "I1,M1,U1,main,2023-01-01T00:00:00+00:00,total=100,,,,",
        "I2,M1,U2,main,2023-06-01T00:00:00+00:00,total=5,,,,",  # M1 is at U1 then
        "I3,M2,U1,main,2023-03-01T00:00:00+00:00,total=0,,,,",  # U1 has M1 then
        "I4,M3,U2,spare,2023-01-01T00:00:00+00:00,total=0,,,,",
        "I5,M3,U2,main,2023-01-01T00:00:00+00:00,total=0,2022-01-01T00:00:00+00:00,total=1,,",
        "I6,M3,U2,main,2023-01-01T00:00:00+00:00,total=0,2024-01-01T00:00:00+00:00,,,",
        "I7,M3,U2,main,2023-01-01T00:00:00+00:00,night=4,,,,",
        "I8,M9,U2,main,2023-01-01T00:00:00+00:00,total=0,,,,",
        "I9,M4,U9,main,2023-01-01T00:00:00+00:00,total=0,,,,",
        "I10,M4,U2,check,2023-01-01T00:00:00+00:00,total=0,,,,I99",
    ]
    before = count(db, "meter_installation")
    assert refused(db, installation_base(tmp_path, bad)) == {
        ("installations.csv", 3, "serial", "meter_installed_twice"),
        ("installations.csv", 4, "usage_point_key", "usage_point_has_meter"),
        ("installations.csv", 5, "register_set", "invalid_choice"),
        ("installations.csv", 6, "removed_at", "invalid_dates"),
        ("installations.csv", 7, "end_indexes", "removal_incomplete"),
        ("installations.csv", 8, "start_indexes", "invalid_indexes"),
        ("installations.csv", 9, "serial", "reference_unknown"),
        ("installations.csv", 10, "usage_point_key", "reference_unknown"),
        ("installations.csv", 11, "replaces_key", "reference_unknown"),
    }
    assert count(db, "meter_installation") == before
    assert count(db, "meter_asset WHERE serial LIKE 'M_'") == 0


def test_overlaps_with_stored_installations_are_refused(db: Session, tmp_path: Path) -> None:
    service_point(db, "SP-1", 2.4183, 6.3676)
    load(db, installation_base(tmp_path, GOOD))
    before = count(db, "meter_installation")
    later = [
        "I7,M2,U2,main,2024-06-01T00:00:00+00:00,total=9,,,,",  # M2 still at U1 (I2)
        "I8,M4,U2,main,2024-06-01T00:00:00+00:00,total=0,,,,",  # U2 still has M3 (I3)
    ]
    assert refused(db, installation_base(tmp_path, later)) == {
        ("installations.csv", 2, "serial", "meter_installed_twice"),
        ("installations.csv", 3, "usage_point_key", "usage_point_has_meter"),
    }
    assert count(db, "meter_installation") == before
    # Restating I3 with its removal frees U2 for M4: the file's dates replace the stored.
    moved = [GOOD[2].replace(",,,,", ",2024-05-01T00:00:00+00:00,total=50,,"), later[1]]
    report = load(db, installation_base(tmp_path, moved))
    assert (
        report.entities["installations"].inserted,
        report.entities["installations"].updated,
    ) == (
        1,
        1,
    )
