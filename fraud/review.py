"""The analyst's side: the queue of flags, a flag's evidence, raising a flag by hand, and
moving a flag along its lifecycle (``fraud.machines``). Decisions become labels: a
confirmed flag is labelled fraud (or irregularity); a flag dismissed after an inspection is
labelled no_fraud; one dismissed without a visit is not labelled (nobody saw the meter).
Sending to inspection emits ``FlagSentToInspection`` (revenue protection opens the case).

Every read applies the territory rule (a flag lies where its usage point does): a flag
outside it is a 404; a usage point outside it named in a new flag is a 422.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.context import Actor
from core.errors import FieldError
from core.outbox import emit
from core.pages import paginate
from core.periods import add_months, month_start, zone
from core.territory import visible
from customers.models import UsagePoint
from fraud.enums import FlagEvent, FlagSource, FlagStatus, LabelOutcome
from fraud.errors import FlagNotFoundError, FlagOpenExistsError, UsagePointUnknownError
from fraud.events import FlagSentToInspection
from fraud.machines import FLAG
from fraud.models import Flag, FlagStatusChange, Label
from fraud.schemas import (
    Evidence,
    FlagChange,
    FlagCreate,
    FlagPage,
    FlagRead,
    FlagStep,
)

OPEN = (FlagStatus.NEW, FlagStatus.REVIEWING, FlagStatus.SENT_TO_INSPECTION)


def _read(flag: Flag, code: str) -> FlagRead:
    return FlagRead.model_validate(
        {
            **{c: getattr(flag, c) for c in FlagRead.model_fields if hasattr(flag, c)},
            "usage_point_code": code,
        }
    )


def _codes(session: Session, ids: set[int]) -> dict[int, str]:
    return dict(
        session.execute(select(UsagePoint.id, UsagePoint.code).where(UsagePoint.id.in_(ids))).all()
    )


def list_flags(
    session: Session,
    *,
    actor: Actor,
    offset: int,
    limit: int,
    status: FlagStatus | None = None,
    open_only: bool = False,
    usage_point_id: int | None = None,
) -> FlagPage:
    """The queue: flags the actor sees, highest priority first."""
    query = select(Flag).where(visible(actor, Flag))
    if status is not None:
        query = query.where(Flag.status == status.value)
    if open_only:
        query = query.where(Flag.status.in_([s.value for s in OPEN]))
    if usage_point_id is not None:
        query = query.where(Flag.usage_point_id == usage_point_id)
    query = query.order_by(Flag.priority_minor.desc(), Flag.id)
    rows, total = paginate(session, query, offset=offset, limit=limit)
    codes = _codes(session, {r.usage_point_id for r in rows})
    return FlagPage(
        items=[_read(r, codes[r.usage_point_id]) for r in rows],
        total=total,
        offset=offset,
        limit=limit,
    )


def _get(session: Session, actor: Actor, flag_id: int, lock: bool = False) -> Flag:
    query = select(Flag).where(Flag.id == flag_id, visible(actor, Flag))
    if lock:
        query = query.with_for_update()
    flag = session.scalars(query).first()
    if flag is None:
        raise FlagNotFoundError(f"no flag {flag_id}")
    return flag


def get_flag(session: Session, *, actor: Actor, flag_id: int) -> FlagRead:
    flag = _get(session, actor, flag_id)
    return _read(flag, _codes(session, {flag.usage_point_id})[flag.usage_point_id])


def open_flag(session: Session, *, actor: Actor, data: FlagCreate) -> FlagRead:
    """Raise a flag by hand on a usage point the actor sees (one open flag at a time)."""
    seen = session.scalar(
        select(UsagePoint.id).where(
            UsagePoint.id == data.usage_point_id, visible(actor, UsagePoint)
        )
    )
    if seen is None:
        message = f"no usage point {data.usage_point_id}"
        raise UsagePointUnknownError(
            message, errors=[FieldError("usage_point_id", message, "reference_unknown")]
        )
    flag = Flag(
        usage_point_id=data.usage_point_id,
        source=FlagSource.TIP.value,
        status=FlagStatus.NEW.value,
        note=data.note,
        reasons=[{"feature": "tip", "weight": 0.0, "text": data.note or "raised by hand"}],
    )
    try:
        with session.begin_nested():
            session.add(flag)
            session.flush()
    except IntegrityError as exc:
        raise FlagOpenExistsError(
            f"usage point {data.usage_point_id} already has an open flag"
        ) from exc
    FLAG.record(session, actor, flag, "open", None, flag.status, reason=data.note or None)
    session.flush()
    return get_flag(session, actor=actor, flag_id=flag.id)


def step_flag(session: Session, *, actor: Actor, flag_id: int, data: FlagStep) -> FlagRead:
    """Move a flag one step; decisions write labels, sending emits the event."""
    flag = _get(session, actor, flag_id, lock=True)
    before, after = FLAG.fire(flag, data.event.value)
    details: dict[str, Any] = {}
    now = datetime.now(UTC)
    if data.event is FlagEvent.REVIEW:
        flag.assignee = actor.username
    if after in (FlagStatus.CONFIRMED, FlagStatus.DISMISSED):
        flag.decided_at = now
        label = _label(flag, before, data, now)
        if label is not None:
            _store_label(session, label)
            details = {"label": label}
    if data.reason:
        flag.note = (flag.note + "\n" if flag.note else "") + data.reason
    FLAG.record(
        session, actor, flag, data.event.value, before, after, reason=data.reason, details=details
    )
    session.flush()
    if after == FlagStatus.SENT_TO_INSPECTION:
        emit(
            session,
            FlagSentToInspection(
                flag_id=flag.id,
                usage_point_id=flag.usage_point_id,
                period=flag.period,
                probability=flag.probability,
                priority_minor=flag.priority_minor,
                reasons=[str(r.get("text", "")) for r in flag.reasons or []],
                note=flag.note,
            ),
        )
    return get_flag(session, actor=actor, flag_id=flag.id)


def _label(flag: Flag, before: str, data: FlagStep, now: datetime) -> dict[str, Any] | None:
    day = data.inspected_on or now.astimezone(zone()).date()
    outcome: LabelOutcome
    if data.event is FlagEvent.CONFIRM:
        # A confirmed flag found something: fraud unless the analyst says irregularity.
        irregular = data.outcome is LabelOutcome.IRREGULARITY
        outcome = LabelOutcome.IRREGULARITY if irregular else LabelOutcome.FRAUD
    elif before == FlagStatus.SENT_TO_INSPECTION:
        outcome = LabelOutcome.NO_FRAUD
    else:
        return None  # dismissed at review: nobody looked at the meter
    return {
        "outcome": outcome.value,
        "kind": data.kind,
        "inspected_on": day.isoformat(),
        "flag_id": flag.id,
        "usage_point_id": flag.usage_point_id,
    }


def _store_label(session: Session, label: dict[str, Any]) -> None:
    day = date.fromisoformat(label["inspected_on"])
    existing = session.scalars(
        select(Label).where(
            Label.usage_point_id == label["usage_point_id"],
            Label.inspected_on == day,
            Label.kind == label["kind"],
        )
    ).first()
    if existing is None:
        session.add(
            Label(
                usage_point_id=label["usage_point_id"],
                inspected_on=day,
                outcome=label["outcome"],
                kind=label["kind"],
                source="flag",
                flag_id=label["flag_id"],
            )
        )
    else:
        existing.outcome, existing.flag_id = label["outcome"], label["flag_id"]


# -- evidence ------------------------------------------------------------------------------

_PEERS_SQL = """
SELECT up2.id FROM customer_usage_point up
JOIN customer_service_location sl ON sl.id = up.service_location_id
JOIN gis_service_point sp ON sp.id = sl.service_point_id
JOIN gis_service_point sp2 ON sp2.transformer_id = sp.transformer_id
JOIN customer_service_location sl2 ON sl2.service_point_id = sp2.id
JOIN customer_usage_point up2 ON up2.service_location_id = sl2.id AND up2.category = up.category
WHERE up.id = :up AND up2.id <> up.id
ORDER BY up2.id LIMIT 200
"""

_PLACE_SQL = """
SELECT ST_AsGeoJSON(coalesce(sl.geom, sp.geom))::json, ST_AsGeoJSON(t.geom)::json,
       t.id, t.code
FROM customer_usage_point up
JOIN customer_service_location sl ON sl.id = up.service_location_id
LEFT JOIN gis_service_point sp ON sp.id = sl.service_point_id
LEFT JOIN gis_power_transformer t ON t.id = sp.transformer_id
WHERE up.id = :up
"""

_BALANCE_SQL = """
SELECT period_start, energy_in_kwh::float8, metered_kwh::float8, technical_loss_kwh::float8,
       ntl_kwh::float8, ntl_share::float8, analysable, reason, flagged
FROM fraud_zone_balance WHERE transformer_id = :t AND period_start >= :first
ORDER BY period_start
"""

_METERS_SQL = """
SELECT m.serial, m.meter_type, i.installed_at, i.removed_at, i.register_set
FROM meter_installation i JOIN meter_asset m ON m.id = i.meter_id
WHERE i.usage_point_id = :up ORDER BY i.installed_at
"""

_PAYMENTS_SQL = """
SELECT t.entry_date, -sum(p.amount) AS amount, t.currency
FROM customer_contract c
JOIN billing_ledger_posting p ON p.customer_account_id = c.account_id
JOIN billing_ledger_transaction t ON t.id = p.transaction_id AND t.kind = 'payment'
WHERE c.usage_point_id = :up
GROUP BY t.id, t.entry_date, t.currency ORDER BY t.entry_date DESC LIMIT 24
"""


def _newest_read_month(session: Session, usage_point_id: int) -> date:
    """The local month of the usage point's newest reading (last month without any)."""
    at = session.scalar(
        text("SELECT max(read_at) FROM meter_reading WHERE usage_point_id = :up"),
        {"up": usage_point_id},
    )
    if at is None:
        return add_months(month_start(datetime.now(UTC).astimezone(zone())), -1)
    return month_start(at.astimezone(zone()))


def evidence(session: Session, *, actor: Actor, flag_id: int, months: int = 24) -> Evidence:
    """Everything the flag page shows (see ``Evidence``)."""
    import numpy as np

    from fraud.features.series import load_history

    flag = get_flag(session, actor=actor, flag_id=flag_id)
    up = flag.usage_point_id
    period = flag.period or _newest_read_month(session, up)
    peers = [int(i) for (i,) in session.execute(text(_PEERS_SQL), {"up": up})]
    history = load_history(session, period, months, [up, *peers])
    own = np.flatnonzero(history.ids == up)
    others = history.kwh[history.ids != up]

    def values(row: Any) -> list[float | None]:
        return [None if not np.isfinite(v) else round(float(v), 1) for v in row]

    consumption = values(history.kwh[own[0]]) if len(own) else [None] * months
    with np.errstate(all="ignore"):
        median = (
            np.nanmedian(np.where(np.isfinite(others), others, np.nan), axis=0)
            if len(others)
            else np.full(months, np.nan)
        )
    location, t_location, t_id, t_code = session.execute(text(_PLACE_SQL), {"up": up}).one()
    balance = []
    if t_id is not None:
        for row in session.execute(
            text(_BALANCE_SQL), {"t": t_id, "first": history.months[0]}
        ).mappings():
            balance.append(
                {k: (v.isoformat() if isinstance(v, date) else v) for k, v in row.items()}
            )
    meters = [
        {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in r.items()}
        for r in session.execute(text(_METERS_SQL), {"up": up}).mappings()
    ]
    payments = [
        {"date": r[0].isoformat(), "amount_minor": int(r[1]), "currency": r[2]}
        for r in session.execute(text(_PAYMENTS_SQL), {"up": up})
    ]
    changes = session.scalars(
        select(FlagStatusChange)
        .where(FlagStatusChange.flag_id == flag.id)
        .order_by(FlagStatusChange.at, FlagStatusChange.id)
    ).all()
    return Evidence(
        flag=flag,
        months=history.months,
        consumption_kwh=consumption,
        peers_median_kwh=values(median),
        peers=len(peers),
        transformer_code=t_code,
        zone_balance=balance,
        meter_history=meters,
        seal_history=[],  # seals arrive with the field domain's records (not yet here)
        payments=payments,
        location=location,
        transformer_location=t_location,
        history=[FlagChange.model_validate(c) for c in changes],
    )


def record_inspection_label(
    session: Session,
    *,
    actor: Actor,
    usage_point_id: int,
    inspected_on: date,
    outcome: LabelOutcome,
    kind: str,
    source: str,
) -> None:
    """A label from an inspection no flag asked for (an NTL case from a seal anomaly or a
    tip): what was found at the usage point that day. Updates the same day's label."""
    del actor  # the caller's own territory check covers the usage point
    existing = session.scalars(
        select(Label).where(
            Label.usage_point_id == usage_point_id,
            Label.inspected_on == inspected_on,
            Label.kind == kind,
        )
    ).first()
    if existing is None:
        session.add(
            Label(
                usage_point_id=usage_point_id,
                inspected_on=inspected_on,
                outcome=outcome.value,
                kind=kind,
                source=source,
            )
        )
    else:
        existing.outcome = outcome.value
    session.flush()
