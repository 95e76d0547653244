"""Automatic restoration: money arrived on an account (``PaymentPosted``,
``PaymentCleared``); each of its usage points that is cut or reduced is decided by the
decision table in force (``rp_restoration_rule_set``, versioned data): restore remotely
through the head-end, send a restore work order at the top of the field's list, or hold
with the reason. A head-end failure or time-out falls back to the field order. Every step
is timed from the payment's commit (``billing_payment.created_at``).

The table's rules are evaluated in order; each names a condition of ``CONDITIONS`` (code,
one function each) and a decision. Conditions: ``not_cleared`` (the instrument may still
bounce: a cheque), ``ntl_case_open``, ``hold_active`` (``rp_supply_hold``, and any source
registered in ``HOLD_SOURCES``, e.g. collections' holds), ``balance_above_threshold``
(what the account still owes, above ``threshold`` minor units), ``meter_smart``,
``in_crew_hours`` (``crew_hours``: local start/end hour and ISO weekdays), ``always``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from billing.ledger import repository as ledger
from core.context import SYSTEM, Actor
from core.periods import zone
from customers import service as customers
from customers.enums import ConnectionState
from field import service as field
from field.enums import WorkOrderKind
from field.schemas import WorkOrderCreate
from revenue_protection.enums import OPEN_CASE_STATUSES
from revenue_protection.head_end import CommandOutcome, head_end
from revenue_protection.models import NtlCase, Restoration, RestorationRuleSet, SupplyHold


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    when: str
    then: str = Field(pattern="^(remote|field|hold)$")
    reason: str = ""


class CrewHours(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start_hour: int = Field(7, ge=0, le=23)
    end_hour: int = Field(18, ge=1, le=24)
    weekdays: list[int] = Field(default_factory=lambda: [1, 2, 3, 4, 5, 6])


class DecisionTable(BaseModel):
    """One version of the restoration decision table."""

    model_config = ConfigDict(extra="forbid")

    threshold: int = 0  # minor units the account may still owe and be restored
    head_end_timeout_s: float = Field(5, gt=0, le=120)
    crew_hours: CrewHours = Field(default_factory=CrewHours)
    rules: list[Rule] = Field(min_length=1)


DEFAULT_TABLE = DecisionTable(
    rules=[
        Rule(when="not_cleared", then="hold", reason="payment_not_cleared"),
        Rule(when="ntl_case_open", then="hold", reason="ntl_case_open"),
        Rule(when="hold_active", then="hold", reason="supply_hold"),
        Rule(when="balance_above_threshold", then="hold", reason="balance_above_threshold"),
        Rule(when="meter_smart", then="remote"),
        Rule(when="always", then="field"),
    ]
)


@dataclass(frozen=True)
class Facts:
    usage_point_id: int
    account_id: int
    cleared: bool
    balance: int
    meter_type: str | None
    meter_serial: str | None
    now: datetime


HoldSource = Callable[[Session, int], str | None]


def _own_holds(session: Session, usage_point_id: int) -> str | None:
    return session.scalar(
        select(SupplyHold.reason).where(
            SupplyHold.usage_point_id == usage_point_id, SupplyHold.released_at.is_(None)
        )
    )


# Sources of holds (collections registers its own when it lands): the first reason wins.
HOLD_SOURCES: list[HoldSource] = [_own_holds]
# Whether an account has an agreed payment plan in force (collections registers one):
# a plan makes the balance left acceptable.
PLAN_SOURCES: list[Callable[[Session, int], bool]] = []


def _crew_on(table: DecisionTable, now: datetime) -> bool:
    local = now.astimezone(zone())
    hours = table.crew_hours
    return local.isoweekday() in hours.weekdays and hours.start_hour <= local.hour < hours.end_hour


CONDITIONS: dict[str, Callable[[Session, DecisionTable, Facts], bool]] = {
    "not_cleared": lambda s, t, f: not f.cleared,
    "ntl_case_open": lambda s, t, f: (
        s.scalar(
            select(NtlCase.id).where(
                NtlCase.usage_point_id == f.usage_point_id,
                NtlCase.status.in_([x.value for x in OPEN_CASE_STATUSES]),
            )
        )
        is not None
    ),
    "hold_active": lambda s, t, f: any(src(s, f.usage_point_id) for src in HOLD_SOURCES),
    "balance_above_threshold": lambda s, t, f: (
        f.balance > t.threshold and not any(plan(s, f.account_id) for plan in PLAN_SOURCES)
    ),
    "meter_smart": lambda s, t, f: f.meter_type == "smart" and f.meter_serial is not None,
    "in_crew_hours": lambda s, t, f: _crew_on(t, f.now),
    "always": lambda s, t, f: True,
}


def table_in_force(session: Session) -> tuple[DecisionTable, int | None]:
    found = session.scalars(
        select(RestorationRuleSet).order_by(RestorationRuleSet.version.desc()).limit(1)
    ).first()
    if found is None:
        return DEFAULT_TABLE, None
    return DecisionTable.model_validate(found.definition), found.version


def publish_table(session: Session, *, table: DecisionTable, note: str = "") -> RestorationRuleSet:
    version = (session.scalar(select(func.max(RestorationRuleSet.version))) or 0) + 1
    row = RestorationRuleSet(version=version, definition=table.model_dump(mode="json"), note=note)
    session.add(row)
    session.flush()
    return row


def decide(session: Session, table: DecisionTable, facts: Facts) -> Rule:
    for rule in table.rules:
        check = CONDITIONS.get(rule.when)
        if check is not None and check(session, table, facts):
            return rule
    return Rule(when="none", then="hold", reason="no_rule_matched")


_POINTS = """
SELECT up.id, up.connection_state, m.meter_type, m.serial
FROM customer_contract c
JOIN customer_usage_point up ON up.id = c.usage_point_id
LEFT JOIN meter_installation i ON i.usage_point_id = up.id AND i.removed_at IS NULL
LEFT JOIN meter_asset m ON m.id = i.meter_id
WHERE c.account_id = :account AND c.status = 'active'
  AND up.connection_state IN ('disconnected', 'reduced')
ORDER BY up.id
"""


def _ms(start: datetime, end: datetime) -> int:
    return int((end - start).total_seconds() * 1000)


def _step(r: Restoration, name: str, **extra: Any) -> datetime:
    now = datetime.now(UTC)
    r.steps = [
        *r.steps,
        {"step": name, "at": now.isoformat(), "ms": _ms(r.payment_at, now), **extra},
    ]
    return now


def on_payment(
    session: Session,
    *,
    account_id: int,
    payment_id: int,
    cleared: bool,
    trigger: str,
    actor: Actor = SYSTEM,
) -> list[Restoration]:
    """Decide (and start) the restoration of every cut or reduced usage point of the
    account. Once per payment, trigger and usage point (a redelivered event does
    nothing)."""
    started = datetime.now(UTC)
    points = session.execute(text(_POINTS), {"account": account_id}).all()
    if not points:
        return []
    payment_at = session.scalar(
        text("SELECT created_at FROM billing_payment WHERE id = :id"), {"id": payment_id}
    )
    table, version = table_in_force(session)
    owed = sum(ledger.balances(session, [account_id]).get(account_id, {}).values())
    done = []
    for up_id, _state, meter_type, serial in points:
        restoration = Restoration(
            usage_point_id=up_id,
            account_id=account_id,
            payment_id=payment_id,
            trigger=trigger,
            status="deciding",
            branch="hold",
            rule_version=version,
            payment_at=payment_at or started,
            started_at=started,
            steps=[],
        )
        try:
            with session.begin_nested():
                session.add(restoration)
                session.flush()
        except IntegrityError:
            continue  # this payment already started it
        _step(restoration, "received")
        facts = Facts(up_id, account_id, cleared, owed, meter_type, serial, started)
        rule = decide(session, table, facts)
        restoration.decided_at = _step(restoration, "decided", rule=rule.when, then=rule.then)
        if rule.then == "hold":
            restoration.status, restoration.branch, restoration.reason = "held", "hold", rule.reason
        elif rule.then == "remote":
            _remote(session, actor, restoration, serial or "", table)
        else:
            _field_order(session, actor, restoration, rule.reason or "restore after payment")
        session.flush()
        done.append(restoration)
    return done


def _remote(
    session: Session, actor: Actor, r: Restoration, serial: str, table: DecisionTable
) -> None:
    r.branch = "remote"
    r.command_at = _step(r, "command_sent", meter_serial=serial)
    result = head_end().send(
        meter_serial=serial, command="connect", timeout_s=table.head_end_timeout_s
    )
    r.head_end_ref = result.reference
    if result.outcome is CommandOutcome.ACKNOWLEDGED:
        r.restored_at = _step(r, "acknowledged")
        r.status = "restored"
        customers.set_connection_state(
            session, usage_point_id=r.usage_point_id, state=ConnectionState.CONNECTED,
            at=r.restored_at,
        )  # fmt: skip
        return
    _step(r, f"head_end_{result.outcome.value}", detail=result.detail)
    _field_order(session, actor, r, f"head_end_{result.outcome.value}")


def _field_order(session: Session, actor: Actor, r: Restoration, reason: str) -> None:
    """A restore order at the top of the field's list (priority 1)."""
    order = field.create_work_order(
        session,
        actor=actor,
        data=WorkOrderCreate(
            kind=WorkOrderKind.RESTORE,
            usage_point_id=r.usage_point_id,
            priority=1,
            reason=f"restore after payment: {reason}",
            instructions={"restoration_id": r.id, "payment_id": r.payment_id},
            source_key=f"restoration:{r.id}",
        ),
    )
    r.work_order_id = order.id
    r.branch = "field" if r.branch != "remote" else "remote_fallback"
    r.status, r.reason = "field_order", reason
    r.command_at = r.command_at or _step(r, "work_order_created", work_order_id=order.id)
    if r.command_at and r.steps[-1]["step"] != "work_order_created":
        _step(r, "work_order_created", work_order_id=order.id)


def restored_in_field(session: Session, *, work_order_id: int, at: datetime) -> None:
    """The restore order was done: the restoration ends."""
    r = session.scalars(
        select(Restoration).where(Restoration.work_order_id == work_order_id).with_for_update()
    ).first()
    if r is None or r.status == "restored":
        return
    r.restored_at = at
    r.status = "restored"
    _step(r, "restored_in_field")
    session.flush()
