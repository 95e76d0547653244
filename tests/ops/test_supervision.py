"""Supervision: work orders driven through their steps at known instants give exact step
durations (p50 / p95 interpolated as PostgreSQL's percentile_cont does), the right counts
by state, the stuck one past its SLA, an instance's drill-down and the monthly chart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete
from sqlalchemy.orm import Session

from core.context import SYSTEM, Actor
from core.supervision import (
    ProcessUnknownError,
    by_state,
    instance_steps,
    monthly_entries,
    source,
    step_durations,
    stuck,
)
from field.machines import WORK_ORDER
from field.models import WorkOrder, WorkOrderTransition

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
H = timedelta(hours=1)


def _order(db: Session, number: str, steps: list[tuple[str, timedelta]]) -> WorkOrder:
    """A work order created at T0, then each (event, offset from T0) at T0 + offset."""
    order = WorkOrder(number=number, kind="inspect", created_at=T0)
    db.add(order)
    db.flush()
    for event, offset in steps:
        before, after = WORK_ORDER.fire(order, event)
        WORK_ORDER.record(db, SYSTEM, order, event, before, after, at=T0 + offset)
    db.flush()
    return order


@pytest.fixture()
def orders(db: Session) -> list[WorkOrder]:
    db.execute(delete(WorkOrderTransition))
    db.execute(delete(WorkOrder))
    return [
        # created 1h, planned 2h, assigned 3h, in progress 4h -> completed
        _order(
            db, "WO-S1", [("plan", H), ("assign", 3 * H), ("start", 6 * H), ("complete", 10 * H)]
        ),
        # created 3h, planned 4h, assigned 5h, in progress 6h -> completed
        _order(
            db,
            "WO-S2",
            [("plan", 3 * H), ("assign", 7 * H), ("start", 12 * H), ("complete", 18 * H)],
        ),
        # created 5h, planned 6h, then assigned since T0 + 11h (still there)
        _order(db, "WO-S3", [("plan", 5 * H), ("assign", 11 * H)]),
        # created and never touched
        _order(db, "WO-S4", []),
    ]


def test_step_durations_are_exact(db: Session, orders: list[WorkOrder]) -> None:
    src = source("work_order")
    figures = {f.state: f for f in step_durations(db, SYSTEM, src)}
    # created: 1h, 3h, 5h -> p50 3h; p95 = 3h + 0.9 * (5h - 3h) = 4.8h; mean 3h
    created = figures["created"]
    assert (created.done, created.p50_seconds, created.p95_seconds, created.mean_seconds) == (
        3,
        3 * 3600.0,
        4.8 * 3600,
        3 * 3600.0,
    )
    # planned: 2h, 4h, 6h -> p50 4h; p95 = 4h + 0.9 * 2h = 5.8h
    planned = figures["planned"]
    assert (planned.done, planned.p50_seconds, planned.p95_seconds) == (3, 4 * 3600.0, 5.8 * 3600)
    # assigned: 3h, 5h (WO-S3 has not left it) -> p50 = 4h, p95 = 3h + 0.95 * 2h = 4.9h
    assigned = figures["assigned"]
    assert (assigned.done, assigned.p50_seconds, assigned.p95_seconds) == (
        2,
        4 * 3600.0,
        4.9 * 3600,
    )
    # in progress: 4h, 6h -> p50 5h, p95 = 4h + 0.95 * 2h = 5.9h
    assert figures["in_progress"].p50_seconds == 5 * 3600.0
    assert figures["in_progress"].p95_seconds == pytest.approx(5.9 * 3600, abs=1e-6)
    assert set(figures) == {"created", "planned", "assigned", "in_progress"}  # no final states
    # Only steps entered from T0 + 2h on: created steps all entered at T0 -> none.
    late = {f.state: f.done for f in step_durations(db, SYSTEM, src, since=T0 + 2 * H)}
    assert late == {"created": 0, "planned": 2, "assigned": 2, "in_progress": 2}


def test_states_stuck_drill_down_and_chart(db: Session, orders: list[WorkOrder]) -> None:
    src = source("work_order")
    counts = by_state(db, SYSTEM, src)
    assert counts == {
        "created": 1,
        "planned": 0,
        "assigned": 1,
        "in_progress": 0,
        "completed": 2,
        "failed": 0,
        "cancelled": 0,
    }
    # SLA: created 2 days, assigned 5 days. Four days after T0: WO-S4 (created at T0) is
    # 96h old > 48h; WO-S3 assigned 85h ago < 120h.
    now = T0 + timedelta(days=4)
    (late,) = stuck(db, SYSTEM, src, now)
    assert (late.id, late.state, late.since, late.age_seconds, late.sla_seconds) == (
        orders[3].id,
        "created",
        T0,
        96 * 3600.0,
        48 * 3600.0,
    )
    # Six days after: WO-S3 also (133h > 120h), oldest entry first.
    assert [s.id for s in stuck(db, SYSTEM, src, T0 + timedelta(days=6))] == [
        orders[3].id,
        orders[2].id,
    ]

    steps = instance_steps(db, SYSTEM, src, orders[0].id)
    assert [(s.state, s.seconds) for s in steps] == [
        ("created", 3600.0),
        ("planned", 7200.0),
        ("assigned", 10800.0),
        ("in_progress", 14400.0),
        ("completed", None),
    ]
    assert steps[1].event == "plan"
    with pytest.raises(ProcessUnknownError):
        instance_steps(db, SYSTEM, src, -1)
    # Out of territory: an agency-bound user sees no order without agency or usage point.
    bound = Actor(user_id=None, username="bound", territory_agency_id=10**9)
    assert sum(by_state(db, bound, src).values()) == 0
    with pytest.raises(ProcessUnknownError):
        instance_steps(db, bound, src, orders[0].id)

    chart = dict(
        ((m, s), n) for m, s, n in monthly_entries(db, SYSTEM, src, tz="Africa/Porto-Novo")
    )
    assert chart[("2026-11", "created")] == 4
    assert chart[("2026-11", "completed")] == 2
    assert chart[("2026-11", "assigned")] == 3
