"""Flags: the lifecycle (steps refused when the status does not allow them), its history,
the event sending to inspection emits, decisions becoming labels; and importing past
inspections (bad rows reported, nothing half-written, idempotent)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.context import SYSTEM
from core.outbox import OutboxEvent
from fraud import review
from fraud.errors import (
    FlagOpenExistsError,
    FlagTransitionInvalidError,
    LabelFileInvalidError,
    UsagePointUnknownError,
)
from fraud.models import FlagStatusChange, Label
from fraud.schemas import FlagCreate, FlagStep
from fraud.scoring.labels import import_labels
from tests.fraud.conftest import Net, local


def _step(db: Session, flag_id: int, event: str, **kw: object) -> str:
    flag = review.step_flag(db, actor=SYSTEM, flag_id=flag_id, data=FlagStep(event=event, **kw))
    return flag.status


def test_flag_lifecycle_history_event_and_label(net: Net) -> None:
    db = net.db
    up = net.customer("B1", local(date(2025, 1, 1))).usage_point_id
    flag = review.open_flag(db, actor=SYSTEM, data=FlagCreate(usage_point_id=up, note="tip"))
    assert (flag.status, flag.source) == ("new", "tip")
    with pytest.raises(FlagOpenExistsError):
        review.open_flag(db, actor=SYSTEM, data=FlagCreate(usage_point_id=up))
    # Confirming a flag nobody sent to inspection is refused, and says what is allowed.
    with pytest.raises(FlagTransitionInvalidError) as refused:
        _step(db, flag.id, "confirm")
    assert refused.value.extra["allowed_events"] == ["dismiss", "review"]
    assert _step(db, flag.id, "review") == "reviewing"
    assert _step(db, flag.id, "send_to_inspection", reason="drop after March") == (
        "sent_to_inspection"
    )
    event = db.scalars(
        select(OutboxEvent).where(OutboxEvent.name == "fraud.flag_sent_to_inspection")
    ).one()
    assert event.payload["flag_id"] == flag.id and event.payload["usage_point_id"] == up
    with pytest.raises(FlagTransitionInvalidError):
        _step(db, flag.id, "review")
    assert (
        _step(db, flag.id, "confirm", outcome="fraud", kind="bypass", inspected_on=date(2025, 6, 3))
        == "confirmed"
    )
    label = db.scalars(select(Label).where(Label.usage_point_id == up)).one()
    assert (label.outcome, label.kind, label.inspected_on, label.source, label.flag_id) == (
        "fraud",
        "bypass",
        date(2025, 6, 3),
        "flag",
        flag.id,
    )
    steps = db.scalars(
        select(FlagStatusChange.event)
        .where(FlagStatusChange.flag_id == flag.id)
        .order_by(FlagStatusChange.id)
    ).all()
    assert steps == ["open", "review", "send_to_inspection", "confirm"]
    with pytest.raises(FlagTransitionInvalidError):
        _step(db, flag.id, "dismiss")  # final
    # A decided flag no longer blocks a new one; dismissed without a visit: no label.
    second = review.open_flag(db, actor=SYSTEM, data=FlagCreate(usage_point_id=up))
    assert _step(db, second.id, "dismiss", reason="vacant house") == "dismissed"
    assert len(db.scalars(select(Label).where(Label.usage_point_id == up)).all()) == 1
    with pytest.raises(UsagePointUnknownError):
        review.open_flag(db, actor=SYSTEM, data=FlagCreate(usage_point_id=10**15))


def test_label_import_reports_bad_rows_and_is_idempotent(net: Net) -> None:
    db = net.db
    b1 = net.customer("B1", local(date(2025, 1, 1)))
    d1 = net.customer("D1", local(date(2025, 1, 1)))
    code = {
        u: db.scalar(select(review.UsagePoint.code).where(review.UsagePoint.id == u))
        for u in (b1.usage_point_id, d1.usage_point_id)
    }
    b, d = code[b1.usage_point_id], code[d1.usage_point_id]
    bad = (
        "usage_point,date,outcome,kind\n"
        f"{b},2025-03-04,fraud,bypass\n"
        f"{d},2025-13-01,no_fraud,\n"
        "UNKNOWN,2025-03-04,fraud,\n"
        f"{b},2025-03-04,maybe,\n"
        f"{b},2025-03-04,no_fraud,bypass\n"
    )
    with pytest.raises(LabelFileInvalidError) as refused:
        import_labels(db, actor=SYSTEM, content=bad, source="import:bad.csv")
    assert refused.value.extra["problems"] == [
        {"line": 3, "problem": "date '2025-13-01' is not YYYY-MM-DD"},
        {"line": 4, "problem": "unknown usage point 'UNKNOWN'"},
        {
            "line": 5,
            "problem": "outcome 'maybe' is not one of fraud, irregularity, no_fraud",
        },
        {"line": 6, "problem": "repeats line 2"},
    ]
    assert db.scalars(select(Label)).all() == []  # nothing half-written
    good = f"usage_point,date,outcome,kind\n{b},2025-03-04,fraud,bypass\n{d},2025-03-05,no,\n"
    first = import_labels(db, actor=SYSTEM, content=good, source="import:good.csv")
    assert (first.rows, first.inserted, first.updated, first.unchanged) == (2, 2, 0, 0)
    again = import_labels(db, actor=SYSTEM, content=good, source="import:good.csv")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 2)
    changed = good.replace("2025-03-05,no,", "2025-03-05,irregularity,")
    third = import_labels(db, actor=SYSTEM, content=changed, source="import:good.csv")
    assert (third.inserted, third.updated, third.unchanged) == (0, 1, 1)
    assert len(db.scalars(select(Label)).all()) == 2
