"""Committed switching: the outbox event's handler sends gis.retrace_feeder, which re-traces
the dirty feeders after commit (Celery in-process here: same code path as with a broker).
Data is committed, so every row is removed at the end."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from core.context import SYSTEM, acting_as
from core.db import session_scope
from gis import service
from gis.tasks import retrace_feeder
from gis.topology import graph_loads, trace
from tests.gis.networks import small_network, with_buses_prefixed, write

P = "TASK-"


def _delete(prefix: str) -> None:
    like = {"p": f"{prefix}%"}
    with session_scope() as session:
        for table in (
            "gis_service_point",
            "gis_switch",
            "gis_line_segment",
            "gis_power_transformer",
        ):
            session.execute(text(f"DELETE FROM {table} WHERE code LIKE :p"), like)
        session.execute(text("UPDATE gis_feeder SET head_node_id = NULL WHERE code LIKE :p"), like)
        session.execute(text("DELETE FROM gis_network_node WHERE code LIKE :p"), like)
        session.execute(text("DELETE FROM gis_feeder WHERE code LIKE :p"), like)


@pytest.fixture()
def committed(database_url: str, tmp_path: Path) -> Iterator[None]:
    path = write(tmp_path / "task.geojson", with_buses_prefixed(small_network(P), P.lower()))
    try:
        with acting_as(SYSTEM), session_scope() as session:
            service.import_network(session, actor=SYSTEM, path=path)
        yield
    finally:
        _delete(P)
        _delete(P.lower())


def feeder_of(code: str) -> str | None:
    with session_scope() as session:
        return session.execute(
            text(
                "SELECT f.code FROM gis_service_point s LEFT JOIN gis_feeder f "
                "ON f.id = s.feeder_id WHERE s.code = :c"
            ),
            {"c": code},
        ).scalar()


def test_operating_a_switch_retraces_its_feeder_after_commit(committed: None) -> None:
    assert feeder_of(f"{P}D1") == f"{P}F1"
    with acting_as(SYSTEM), session_scope() as session:
        service.operate_switch(session, actor=SYSTEM, code=f"{P}S1", open=True)
        # Before commit nothing is re-traced.
        assert feeder_of(f"{P}D1") == f"{P}F1"
    # After commit: event -> handler -> gis.retrace_feeder -> materialised address.
    assert feeder_of(f"{P}D1") is None
    assert feeder_of(f"{P}D2") is None
    assert feeder_of(f"{P}B1") == f"{P}F1"
    with session_scope() as session:
        dirty = session.execute(
            text("SELECT count(*) FROM gis_feeder WHERE code LIKE :p AND topology_dirty"),
            {"p": f"{P}%"},
        ).scalar()
    assert dirty == 0
    with acting_as(SYSTEM), session_scope() as session:
        service.operate_switch(session, actor=SYSTEM, code=f"{P}S1", open=False)
    assert feeder_of(f"{P}D1") == f"{P}F1"


def test_the_task_leaves_a_clean_feeder_alone(committed: None) -> None:
    with session_scope() as session:
        feeder_id = session.execute(
            text("SELECT id FROM gis_feeder WHERE code = :c"), {"c": f"{P}F1"}
        ).scalar()
    assert retrace_feeder.run(feeder_id) == 0  # not dirty: nothing to do (idempotent)


def test_a_committed_switch_operation_keeps_the_cached_structure(committed: None) -> None:
    def downstream_of_f1() -> set[int]:
        with session_scope() as session:
            ids = trace(session, feeder_code=f"{P}F1", direction="downstream").service_point_ids
            return set(
                session.execute(
                    text("SELECT code FROM gis_service_point WHERE id = ANY(:i)"),
                    {"i": ids.tolist()},
                ).scalars()
            )

    everything = {f"{P}B1", f"{P}B2", f"{P}D1", f"{P}D2", f"{P}E1"}
    assert downstream_of_f1() == everything
    loads = graph_loads()
    with acting_as(SYSTEM), session_scope() as session:
        service.operate_switch(session, actor=SYSTEM, code=f"{P}S1", open=True)
    assert downstream_of_f1() == everything - {f"{P}D1", f"{P}D2"}
    after = graph_loads()
    assert after["structure"] == loads["structure"]  # no full reload of the network
    assert after["switch_states"] >= loads["switch_states"] + 1
    with acting_as(SYSTEM), session_scope() as session:
        service.operate_switch(session, actor=SYSTEM, code=f"{P}S1", open=False)
    assert downstream_of_f1() == everything
    assert graph_loads()["structure"] == loads["structure"]
