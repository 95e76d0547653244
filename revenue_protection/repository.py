"""Queries of revenue protection: cases under the territory rule, and what an assessment
reads from the domains below (issued bills, seal events, the contract in force)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from core.context import Actor
from core.territory import visible
from revenue_protection.enums import OPEN_CASE_STATUSES
from revenue_protection.errors import AssessmentRulesMissingError, NtlCaseNotFoundError
from revenue_protection.models import AssessmentRuleSet, NtlCase


def get_case(session: Session, actor: Actor, case_id: int, *, lock: bool = False) -> NtlCase:
    query = select(NtlCase).where(NtlCase.id == case_id, visible(actor, NtlCase))
    if lock:
        query = query.with_for_update()
    case = session.scalars(query).first()
    if case is None:
        raise NtlCaseNotFoundError(f"no NTL case {case_id}")
    return case


def open_case_at(session: Session, usage_point_id: int) -> NtlCase | None:
    return session.scalars(
        select(NtlCase)
        .where(
            NtlCase.usage_point_id == usage_point_id,
            NtlCase.status.in_([s.value for s in OPEN_CASE_STATUSES]),
        )
        .with_for_update()
    ).first()


def case_by_source(session: Session, source: str, ref: str) -> NtlCase | None:
    return session.scalars(
        select(NtlCase).where(NtlCase.source == source, NtlCase.source_ref == ref)
    ).first()


def case_by_work_order(session: Session, work_order_id: int) -> NtlCase | None:
    return session.scalars(
        select(NtlCase).where(NtlCase.inspection_work_order_id == work_order_id).with_for_update()
    ).first()


def rules_in_force(session: Session, day: date) -> AssessmentRuleSet:
    found = session.scalars(
        select(AssessmentRuleSet)
        .where(AssessmentRuleSet.effective_from <= day)
        .order_by(AssessmentRuleSet.effective_from.desc(), AssessmentRuleSet.version.desc())
        .limit(1)
    ).first()
    if found is None:
        raise AssessmentRulesMissingError(f"no assessment rule set in force on {day}")
    return found


def contract_at(session: Session, usage_point_id: int) -> int | None:
    """The usage point's contract in force (the newest started one)."""
    return session.scalar(
        text(
            "SELECT id FROM customer_contract WHERE usage_point_id = :up AND status = 'active' "
            "ORDER BY start_date DESC, id DESC LIMIT 1"
        ),
        {"up": usage_point_id},
    )


def category_of(session: Session, usage_point_id: int) -> str:
    return str(
        session.scalar(
            text("SELECT category FROM customer_usage_point WHERE id = :up"), {"up": usage_point_id}
        )
    )


# Issued bills that carry measured energy (not back-bills, not credited).
_BILLS = """
SELECT period_start, period_end, kwh FROM billing_invoice
WHERE usage_point_id = :up AND kind = 'invoice' AND status = 'issued'
  AND reason <> 'back_billing' AND period_start < :end AND period_end > :start
"""


def monthly_history(session: Session, usage_point_id: int, before: date) -> dict[date, Decimal]:
    """kWh billed per month (the bill's first month) before ``before``: the normal months
    an assessment compares against."""
    months: dict[date, Decimal] = {}
    for start, _end, kwh in session.execute(
        text(_BILLS), {"up": usage_point_id, "start": date(1900, 1, 1), "end": before}
    ):
        key = start.replace(day=1)
        months[key] = months.get(key, Decimal(0)) + Decimal(kwh)
    return months


def billed_kwh_between(session: Session, usage_point_id: int, start: date, end: date) -> Decimal:
    """kWh the issued bills charged over [start, end), each prorated by its days inside."""
    total = Decimal(0)
    for p_start, p_end, kwh in session.execute(
        text(_BILLS), {"up": usage_point_id, "start": start, "end": end}
    ):
        inside = (min(p_end, end) - max(p_start, start)).days
        total += Decimal(kwh) * inside / (p_end - p_start).days
    return total.quantize(Decimal("0.001"))


def seal_events_of(session: Session, work_order_id: int) -> list[dict[str, Any]]:
    """The seal events recorded on a visit (what the inspector found and did)."""
    rows = session.execute(
        text(
            "SELECT event, seal_number, position, note FROM field_seal_event "
            "WHERE work_order_id = :wo ORDER BY id"
        ),
        {"wo": work_order_id},
    )
    return [dict(r._mapping) for r in rows]
