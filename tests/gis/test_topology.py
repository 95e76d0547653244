"""Traces, switching and retrace on the hand-made network of tests/gis/networks.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from core.context import SYSTEM
from core.outbox import OutboxEvent
from gis import service
from gis.errors import AssetNotFoundError, FeederNotFoundError, SwitchNotFoundError
from gis.topology import get_graph, graph_loads, topology_report, trace
from tests.gis.networks import consumer, feature, lv, small_network, write

TABLES = {
    "service_point": "gis_service_point",
    "transformer": "gis_power_transformer",
    "segment": "gis_line_segment",
    "switch": "gis_switch",
    "node": "gis_network_node",
}


def codes(db: Session, kind: str, ids: np.ndarray) -> set[str]:
    rows = db.execute(
        text(f"SELECT code FROM {TABLES[kind]} WHERE id = ANY(:ids)"), {"ids": ids.tolist()}
    ).scalars()
    return set(rows)


def address(db: Session, code: str) -> tuple[str | None, str | None]:
    feeder, transformer = db.execute(
        text(
            "SELECT f.code, t.code FROM gis_service_point s "
            "LEFT JOIN gis_feeder f ON f.id = s.feeder_id "
            "LEFT JOIN gis_power_transformer t ON t.id = s.transformer_id WHERE s.code = :c"
        ),
        {"c": code},
    ).one()
    return feeder, transformer


@pytest.fixture()
def small(db: Session, tmp_path: Path) -> Session:
    service.import_network(
        db, actor=SYSTEM, path=write(tmp_path / "small.geojson", small_network())
    )
    return db


def test_downstream_trace_from_the_head_reaches_every_energised_asset(small: Session) -> None:
    result = trace(small, feeder_code="F1", direction="downstream")
    assert codes(small, "service_point", result.service_point_ids) == {"B1", "B2", "D1", "D2", "E1"}
    assert codes(small, "transformer", result.transformer_ids) == {"T1", "T2", "T3"}
    assert codes(small, "segment", result.segment_ids) == {
        "m1",
        "m2",
        "m3",
        "m4",
        "l1",
        "l2",
        "l3",
        "l4",
    }
    assert codes(small, "switch", result.switch_ids) == {"S1"}
    assert codes(small, "switch", result.open_switch_ids) == {"S3"}  # where the trace stops
    assert codes(small, "node", result.node_ids) == {
        "h1",
        "a",
        "b",
        "c",
        "d",
        "e",
        "bl",
        "x1",
        "x2",
        "dl",
        "y1",
        "el",
        "z1",
    }
    f2 = trace(small, feeder_code="F2", direction="downstream")
    assert codes(small, "node", f2.node_ids) == {"h2", "g"}
    assert f2.service_point_ids.size == 0


def test_import_materialises_feeder_and_transformer_of_each_service_point(small: Session) -> None:
    assert address(small, "B2") == ("F1", "T1")
    assert address(small, "D1") == ("F1", "T2")
    assert address(small, "D2") == ("F1", "T2")
    assert address(small, "E1") == ("F1", "T3")
    precision = small.execute(
        text("SELECT code, location_precision FROM gis_service_point ORDER BY code")
    ).all()
    assert {p for _c, p in precision} == {"derived"}  # LV items placed at their transformer
    t1 = small.execute(
        text("SELECT ST_X(geom), ST_Y(geom) FROM gis_power_transformer WHERE code = 'T1'")
    ).one()
    b1 = small.execute(
        text("SELECT ST_X(geom), ST_Y(geom) FROM gis_service_point WHERE code = 'B1'")
    ).one()
    assert tuple(b1) == tuple(t1) == (2.42, 6.40)


def test_opening_a_switch_removes_exactly_the_downstream_service_points(small: Session) -> None:
    before = set(trace(small, feeder_code="F1", direction="downstream").service_point_ids)
    below = trace(small, start=("switch", "S1"), direction="downstream")
    assert codes(small, "service_point", below.service_point_ids) == {"D1", "D2"}

    service.operate_switch(small, actor=SYSTEM, code="S1", open=True, reason="works")
    after = trace(small, feeder_code="F1", direction="downstream")
    assert before - set(after.service_point_ids) == set(below.service_point_ids)
    assert codes(small, "service_point", after.service_point_ids) == {"B1", "B2", "E1"}
    assert codes(small, "transformer", after.transformer_ids) == {"T1", "T3"}
    assert codes(small, "switch", after.open_switch_ids) == {"S1"}

    service.operate_switch(small, actor=SYSTEM, code="S1", open=False)
    restored = trace(small, feeder_code="F1", direction="downstream")
    assert set(restored.service_point_ids) == before


def test_retrace_after_switching_updates_the_materialised_address(small: Session) -> None:
    service.operate_switch(small, actor=SYSTEM, code="S1", open=True)
    dirty = small.execute(text("SELECT code FROM gis_feeder WHERE topology_dirty")).scalars()
    assert set(dirty) == {"F1"}
    report = service.retrace_feeders(small)  # every dirty feeder
    assert report.retraced_feeders == ["F1"]
    # De-energised: no feeder; the transformer zone is a physical fact and stays.
    assert address(small, "D1") == (None, "T2")
    assert address(small, "D2") == (None, "T2")
    assert address(small, "B1") == ("F1", "T1")
    t2 = small.execute(text("SELECT feeder_id FROM gis_power_transformer WHERE code = 'T2'"))
    assert t2.scalar() is None
    assert not small.execute(text("SELECT bool_or(topology_dirty) FROM gis_feeder")).scalar()

    # Closing the tie S3 feeds the isolated part from F2: both feeders become dirty.
    service.operate_switch(small, actor=SYSTEM, code="S3", open=False)
    dirty = small.execute(text("SELECT code FROM gis_feeder WHERE topology_dirty")).scalars()
    assert set(dirty) == {"F2"}  # c's side had no feeder any more
    service.retrace_feeders(small)
    assert address(small, "D1") == ("F2", "T2")
    assert address(small, "D2") == ("F2", "T2")
    f2 = trace(small, feeder_code="F2", direction="downstream")
    assert codes(small, "service_point", f2.service_point_ids) == {"D1", "D2"}

    # Re-closing S1 joins F1 and F2 (two sources, one island): reported, not an error.
    service.operate_switch(small, actor=SYSTEM, code="S1", open=False)
    report = service.retrace_feeders(small)
    assert report.retraced_feeders == ["F1", "F2"]
    assert report.joined_feeders == [["F1", "F2"]]
    assert address(small, "D1") == ("F1", "T2")  # the first feeder keeps the island


def test_operating_a_switch_emits_an_event_once_and_the_same_state_is_a_no_op(
    small: Session,
) -> None:
    def events() -> int:
        return small.scalar(
            select(func.count())
            .select_from(OutboxEvent)
            .where(OutboxEvent.name == "gis.switch_operated")
        )

    start = events()
    done = service.operate_switch(small, actor=SYSTEM, code="S1", open=True, reason="r")
    assert done.switch.is_open is True and done.changed is True
    assert events() == start + 1
    payload = small.scalars(
        select(OutboxEvent.payload)
        .where(OutboxEvent.name == "gis.switch_operated")
        .order_by(OutboxEvent.created_at.desc())
    ).first()
    assert payload["code"] == "S1" and payload["open"] is True and payload["reason"] == "r"
    assert service.operate_switch(small, actor=SYSTEM, code="S1", open=True).changed is False
    assert events() == start + 1
    with pytest.raises(SwitchNotFoundError):
        service.operate_switch(small, actor=SYSTEM, code="NOPE", open=True)


def test_upstream_trace_follows_the_supply_path_to_the_head(small: Session) -> None:
    result = trace(small, start=("service_point", "D1"), direction="upstream")
    assert codes(small, "node", result.node_ids) == {"y1", "dl", "d", "c", "b", "a", "h1"}
    assert codes(small, "segment", result.segment_ids) == {"l3", "m3", "m2", "m1"}
    assert codes(small, "switch", result.switch_ids) == {"S1"}
    assert codes(small, "transformer", result.transformer_ids) == {"T2"}
    assert codes(small, "service_point", result.service_point_ids) == {"D1"}
    tx = trace(small, start=("transformer", "T1"), direction="downstream")
    assert codes(small, "service_point", tx.service_point_ids) == {"B1", "B2"}
    assert codes(small, "transformer", tx.transformer_ids) == {"T1"}


def test_connected_trace_and_unknown_starts(small: Session) -> None:
    connected = trace(small, start=("service_point", "B1"), direction="connected")
    assert codes(small, "service_point", connected.service_point_ids) == {
        "B1",
        "B2",
        "D1",
        "D2",
        "E1",
    }
    with pytest.raises(FeederNotFoundError):
        trace(small, feeder_code="NOPE", direction="downstream")
    with pytest.raises(AssetNotFoundError):
        trace(small, start=("service_point", "NOPE"), direction="upstream")


def test_loops_and_islands_are_reported_not_crashed_on(db: Session, tmp_path: Path) -> None:
    base = topology_report(db, get_graph(db))
    network = [
        *small_network(),
        lv("loop", "x2", "z1"),  # LV tie between T1's and T3's zones, closed: a loop
        lv("iso-seg", "iso1", "iso2"),  # reached by nothing: an island
        consumer("ISO", "iso2"),
    ]
    report = service.import_network(
        db, actor=SYSTEM, path=write(tmp_path / "loops.geojson", network)
    )
    topology = report.topology
    assert topology["loops"] - base.loops == 1
    cycle = {
        "segment:m2",
        "segment:m4",
        "segment:l1",
        "segment:l2",
        "segment:loop",
        "segment:l4",
        "transformer:T1",
        "transformer:T3",
    }
    assert cycle & set(topology["loop_examples"]) or base.loops >= 10
    assert topology["island_nodes"] - base.island_nodes == 2
    assert topology["island_components"] - base.island_components == 1
    assert topology["island_service_points"] - base.island_service_points == 1
    assert address(db, "ISO") == (None, None)
    # Every consumer of the meshed part is still traced, each in one transformer zone.
    result = trace(db, feeder_code="F1", direction="downstream")
    assert codes(db, "service_point", result.service_point_ids) == {"B1", "B2", "D1", "D2", "E1"}
    assert address(db, "E1")[0] == "F1" and address(db, "B2")[0] == "F1"
    island = trace(db, start=("service_point", "ISO"), direction="connected")
    assert codes(db, "node", island.node_ids) == {"iso1", "iso2"}


def test_graph_cache_follows_the_network_version(small: Session) -> None:
    first = get_graph(small)
    assert get_graph(small) is first  # nothing changed: same graph
    small.execute(text("UPDATE gis_network_node SET geom = geom WHERE code = 'a'"))
    assert get_graph(small) is first  # positions are not topology
    loads = graph_loads()
    small.execute(text("UPDATE gis_switch SET is_open = true WHERE code = 'S1'"))
    opened = get_graph(small)
    assert opened is not first
    # A switch state is not structure: only the switch states were read again, and only
    # the part of the graph they touch was re-oriented.
    assert graph_loads() == {
        **loads,
        "switch_states": loads["switch_states"] + 1,
        "reorientations": loads["reorientations"] + 1,
    }
    small.execute(text("UPDATE gis_switch SET is_open = false WHERE code = 'S1'"))
    closed = get_graph(small)
    assert graph_loads()["builds"] == loads["builds"]
    downstream = trace(small, feeder_code="F1", direction="downstream").service_point_ids
    assert np.array_equal(np.sort(first.sp_ids), np.sort(closed.sp_ids))
    assert codes(small, "service_point", downstream) == {"B1", "B2", "D1", "D2", "E1"}
    small.execute(text("UPDATE gis_switch SET from_node_id = from_node_id WHERE code = 'S1'"))
    get_graph(small)
    assert graph_loads()["structure"] == loads["structure"] + 1  # an edge's ends: structure


def test_an_unknown_kind_in_a_feature_list_never_reaches_the_graph(
    db: Session, tmp_path: Path
) -> None:
    # Guard for the fixture itself: a feature of an unknown kind makes the import fail.
    from gis.errors import NetworkImportInvalidError

    path = write(tmp_path / "bad.geojson", [*small_network(), feature("gizmo", None, code="G")])
    with pytest.raises(NetworkImportInvalidError):
        service.import_network(db, actor=SYSTEM, path=path)
