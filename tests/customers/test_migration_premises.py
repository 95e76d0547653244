"""Premises, usage points and contracts files: coordinates in any CRS, the area, the
attachment to the nearest service point, references, one usage point per premises, one
active contract per usage point, and the round trip through the export."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from core.migration.service import MigrationInvalidError
from core.migration.spec import entity
from tests.customers.migration_files import base, count, load, refused, service_point

PARTIES = "party_key,kind,first_name,last_name\nC1,person,Adjoa,Houngbo\nC2,person,Koffi,Mensah"
PREMISES_HEADER = "premises_key,address_line,city,lon,lat,crs,service_point_code"
USAGE_HEADER = "usage_point_key,premises_key,category,subscribed_kva,phases,connection_state"
CONTRACT_HEADER = (
    "contract_key,holder_key,payer_key,usage_point_key,tariff_code,start_date,end_date,status,"
    "account_number"
)


def test_premises_in_utm_attach_to_the_nearest_service_point(db: Session, tmp_path: Path) -> None:
    near = service_point(db, "SP-NEAR", 2.4183, 6.3676)
    service_point(db, "SP-FAR", 2.4300, 6.3676)
    # 2.41835, 6.3676 in UTM 31N (EPSG:32631): about 5.5 m east of SP-NEAR.
    premises = "\n".join(
        [
            PREMISES_HEADER,
            "L1,Rue 1,Cotonou,2.41835,6.3676,,",
            "L2,Rue 2,Cotonou,435672.47,703876.36,EPSG:32631,",
            "L3,Rue 3,Cotonou,,,,SP-FAR",
        ]
    )
    report = load(db, base(tmp_path, premises=premises))
    assert report.entities["premises"].inserted == 3
    assert [(n.line, n.code, n.message) for n in report.notes] == [
        (2, "attached_to_nearest", "attached to service point SP-NEAR, 5.5 m away"),
        (3, "attached_to_nearest", "attached to service point SP-NEAR, 5.5 m away"),
    ]
    assert report.as_dict()["notes"][0]["file"] == "premises.csv"
    rows = db.execute(
        text(
            "SELECT k.external_key, sp.code, round(ST_X(l.geom)::numeric, 5) "
            "FROM customer_service_location l JOIN core_migration_key k "
            "ON k.kilowatch_id = l.id AND k.entity = 'premises' "
            "JOIN gis_service_point sp ON sp.id = l.service_point_id ORDER BY 1"
        )
    ).all()
    assert [(r[0], r[1]) for r in rows] == [("L1", "SP-NEAR"), ("L2", "SP-NEAR"), ("L3", "SP-FAR")]
    assert [float(r[2]) for r in rows[:2]] == [2.41835, 2.41835]  # the UTM point, in degrees
    assert near


def test_premises_rules(db: Session, tmp_path: Path) -> None:
    service_point(db, "SP-1", 2.4183, 6.3676)
    premises = "\n".join(
        [
            PREMISES_HEADER,
            "L1,Rue 1,Cotonou,2.5,6.5,,",  # ~15 km from the only service point
            "L2,Rue 2,Paris,2.35,48.85,,",
            "L3,Rue 3,Cotonou,2.41,,,",
            "L4,Rue 4,Cotonou,,,,",
            "L5,Rue 5,Cotonou,2.41,6.36,EPSG:999999,",
            "L6,Rue 6,Cotonou,,,,SP-NONE",
        ]
    )
    before = count(db, "customer_service_location")
    assert refused(db, base(tmp_path, premises=premises)) == {
        ("premises.csv", 2, "service_point_code", "no_service_point_within"),
        ("premises.csv", 3, "lon", "outside_area"),
        ("premises.csv", 4, "lat", "coordinates_incomplete"),
        ("premises.csv", 5, "service_point_code", "location_missing"),
        ("premises.csv", 6, "crs", "invalid_crs"),
        ("premises.csv", 7, "service_point_code", "reference_unknown"),
    }
    assert count(db, "customer_service_location") == before


def _customer_base(tmp_path: Path, contracts: list[str], usage: list[str] | None = None) -> Path:
    return base(
        tmp_path,
        parties=PARTIES,
        premises="\n".join(
            [PREMISES_HEADER, *(f"L{i},Rue {i},Cotonou,,,,SP-1" for i in range(1, 5))]
        ),
        usage_points="\n".join(
            [USAGE_HEADER, *(usage or ["U1,L1,residential,3.30,1,", "U2,L2,commercial,9.90,3,"])]
        ),
        contracts="\n".join([CONTRACT_HEADER, *contracts]),
    )


GOOD_CONTRACTS = [
    "K1,C1,,U1,BT1,2020-01-01,,active,A-100",
    "K0,C2,,U1,BT1,2018-01-01,2020-01-01,ended,A-200",
    "K2,C2,,U2,BT2,2021-06-01,,active,A-200",
]


def test_contracts_open_accounts_and_reimport_changes_nothing(db: Session, tmp_path: Path) -> None:
    service_point(db, "SP-1", 2.4183, 6.3676)
    report = load(db, _customer_base(tmp_path, GOOD_CONTRACTS))
    assert report.entities["contracts"].inserted == 3
    assert db.execute(
        text(
            "SELECT a.number, count(*) FROM customer_contract c "
            "JOIN customer_account a ON a.id = c.account_id GROUP BY 1 ORDER BY 1"
        )
    ).all() == [("A-100", 1), ("A-200", 2)]
    exported = {e.name: list(e.export(db)) for e in map(entity, ["parties", "contracts"])}
    again = load(db, _customer_base(tmp_path, GOOD_CONTRACTS))
    assert {n: (e.inserted, e.updated) for n, e in again.entities.items()} == {
        n: (0, 0) for n in again.entities
    }
    assert {e.name: list(e.export(db)) for e in map(entity, ["parties", "contracts"])} == exported
    assert [r["contract_key"] for r in exported["contracts"]] == ["K0", "K1", "K2"]


def test_contract_and_usage_point_rules(db: Session, tmp_path: Path) -> None:
    service_point(db, "SP-1", 2.4183, 6.3676)
    contracts = [
        "K1,C1,,U1,BT1,2020-01-01,,active,A-100",
        "K2,C2,,U1,BT1,2021-01-01,,active,A-200",  # a second active contract on U1
        "K3,C9,,U2,BT1,2021-01-01,,active,A-300",  # unknown holder
        "K4,C1,,U9,BT1,2021-01-01,,active,A-100",  # unknown usage point
        "K5,C2,,U2,BT1,2021-01-01,2020-01-01,ended,A-200",  # ends before it starts
        "K6,C2,,U2,BT1,2019-01-01,2019-06-01,ended,A-100",  # A-100 is C1's account
    ]
    usage = [
        "U1,L1,residential,3.30,1,",
        "U2,L2,commercial,9.90,3,",
        "U3,L2,residential,3.30,1,",  # a second usage point at L2
        "U4,L3,residential,3.30,2,",
        "U5,L4,residential,0,1,",
    ]
    before = count(db, "customer_contract")
    assert refused(db, _customer_base(tmp_path, contracts, usage)) == {
        ("usage_points.csv", 4, "premises_key", "premises_has_usage_point"),
        ("usage_points.csv", 5, "phases", "invalid_choice"),
        ("usage_points.csv", 6, "subscribed_kva", "out_of_range"),
        ("contracts.csv", 3, "usage_point_key", "usage_point_two_active_contracts"),
        ("contracts.csv", 4, "holder_key", "reference_unknown"),
        ("contracts.csv", 5, "usage_point_key", "reference_unknown"),
        ("contracts.csv", 6, "end_date", "invalid_dates"),
        ("contracts.csv", 7, "account_number", "account_payer_mismatch"),
    }
    assert count(db, "customer_contract") == before


def test_a_second_active_contract_against_a_stored_one_is_refused(
    db: Session, tmp_path: Path
) -> None:
    service_point(db, "SP-1", 2.4183, 6.3676)
    load(db, _customer_base(tmp_path, GOOD_CONTRACTS[:1]))
    found = refused(db, _customer_base(tmp_path, ["K9,C2,,U1,BT1,2022-01-01,,active,A-900"]))
    assert found == {("contracts.csv", 2, "usage_point_key", "usage_point_two_active_contracts")}


def _transformer(db: Session, code: str, lon: float, lat: float) -> tuple[int, int]:
    """A distribution transformer at lon/lat on a feeder: (transformer id, feeder id)."""
    from geoalchemy2 import WKTElement

    from gis.models import Feeder, NetworkNode, PowerTransformer

    point = WKTElement(f"POINT({lon} {lat})", srid=4326)
    feeder = Feeder(code=f"F-{code}")
    hv, lv = NetworkNode(code=f"N-{code}-HV", geom=point), NetworkNode(code=f"N-{code}-LV")
    db.add_all([feeder, hv, lv])
    db.flush()
    tr = PowerTransformer(
        code=code,
        rated_kva=100,
        hv_node_id=hv.id,
        lv_node_id=lv.id,
        geom=point,
        feeder_id=feeder.id,
    )
    db.add(tr)
    db.flush()
    return int(tr.id), int(feeder.id)


def test_premises_beyond_service_points_hang_on_one_derived_from_the_nearest_transformer(
    db: Session, tmp_path: Path
) -> None:
    service_point(db, "SP-NEAR", 2.4183, 6.3676)
    transformer_id, feeder_id = _transformer(db, "T-EAST", 2.4400, 6.3676)  # 2.4 km east
    near_sp = "L1,Rue 1,Cotonou,2.41835,6.3676,,"  # 5.5 m from SP-NEAR
    near_tr = "L2,Rue 2,Cotonou,2.4402,6.3676,,"  # 22.1 m from T-EAST, 2.4 km from SP-NEAR
    far = "L3,Rue 3,Cotonou,2.4600,6.3676,,"  # 2.2 km from T-EAST
    service_points = count(db, "gis_service_point")
    with pytest.raises(MigrationInvalidError) as error:
        load(db, base(tmp_path, premises="\n".join([PREMISES_HEADER, near_sp, near_tr, far])))
    assert [(p.line, p.code, p.message) for p in error.value.problems] == [
        (
            4,
            "no_service_point_within",
            "the nearest service point is 4611.9 m away, beyond 50 m, "
            "the nearest transformer 2212.0 m away",
        )
    ]
    assert count(db, "gis_service_point") == service_points

    folder = base(tmp_path, premises="\n".join([PREMISES_HEADER, near_sp, near_tr]))
    report = load(db, folder)
    assert report.entities["premises"].inserted == 2
    assert [(n.line, n.code, n.message) for n in report.notes] == [
        (2, "attached_to_nearest", "attached to service point SP-NEAR, 5.5 m away"),
        (3, "service_point_derived", "a new service point hanging on transformer T-EAST, 22.1 m away"),
    ]  # fmt: skip
    assert count(db, "gis_service_point") == service_points + 1
    derived = db.execute(
        text(
            "SELECT sp.code, sp.kind, sp.location_precision, sp.transformer_id, sp.feeder_id, "
            "sp.node_id = t.lv_node_id, ST_Equals(sp.geom, l.geom) "
            "FROM customer_service_location l JOIN core_migration_key k "
            "ON k.kilowatch_id = l.id AND k.entity = 'premises' AND k.external_key = 'L2' "
            "JOIN gis_service_point sp ON sp.id = l.service_point_id "
            "JOIN gis_power_transformer t ON t.id = sp.transformer_id"
        )
    ).one()
    code = derived[0]
    assert code.startswith("SPD-")
    assert tuple(derived[1:]) == ("connection", "derived", transformer_id, feeder_id, True, True)

    # The same file again, and the exported one (naming the derived service point): nothing.
    exported = list(entity("premises").export(db))
    assert [(r["premises_key"], r["service_point_code"]) for r in exported] == [
        ("L1", "SP-NEAR"),
        ("L2", code),
    ]
    again = load(db, folder)
    assert (again.entities["premises"].inserted, again.entities["premises"].updated) == (0, 0)
    assert again.notes == []
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(exported[0]))
    writer.writeheader()
    writer.writerows({k: "" if v is None else v for k, v in r.items()} for r in exported)
    round_trip = load(db, base(tmp_path, premises=out.getvalue()))
    assert round_trip.entities["premises"].unchanged == 2
    assert (round_trip.entities["premises"].inserted, round_trip.entities["premises"].updated) == (
        0,
        0,
    )
    assert count(db, "gis_service_point") == service_points + 1
    assert list(entity("premises").export(db)) == exported
