"""Reading collections: an account's file, its steps, holds and plan; the cut list."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from billing.collections.engine import BLOCKING_HOLD, eve_of_non_working_day
from billing.collections.models import (
    CollectionAction,
    CollectionHold,
    CollectionPolicy,
    CollectionStep,
    PaymentPlan,
    PaymentPlanInstalment,
)
from core.context import Actor
from core.territory import rule_sql, visible
from customers.models import Account


def policies(session: Session, actor: Actor) -> list[CollectionPolicy]:
    """``actor``'s company's dunning policies, by code."""
    query = select(CollectionPolicy).where(visible(actor, CollectionPolicy))
    return list(session.scalars(query.order_by(CollectionPolicy.code)))


def steps_of(session: Session, policy_id: int) -> list[CollectionStep]:
    return list(
        session.scalars(
            select(CollectionStep)
            .where(CollectionStep.policy_id == policy_id)
            .order_by(CollectionStep.position)
        )
    )


def step_at(session: Session, policy_id: int | None, position: int) -> CollectionStep | None:
    if policy_id is None:
        return None
    return session.scalars(
        select(CollectionStep).where(
            CollectionStep.policy_id == policy_id, CollectionStep.position == position
        )
    ).first()


def actions_of(session: Session, customer_account_id: int) -> list[CollectionAction]:
    return list(
        session.scalars(
            select(CollectionAction)
            .where(CollectionAction.customer_account_id == customer_account_id)
            .order_by(CollectionAction.id)
        )
    )


def holds_of(session: Session, customer_account_id: int) -> list[CollectionHold]:
    return list(
        session.scalars(
            select(CollectionHold)
            .where(
                (CollectionHold.customer_account_id == customer_account_id)
                | CollectionHold.customer_account_id.is_(None)
            )
            .order_by(CollectionHold.id)
        )
    )


def latest_plan(session: Session, customer_account_id: int) -> PaymentPlan | None:
    return session.scalars(
        select(PaymentPlan)
        .where(PaymentPlan.customer_account_id == customer_account_id)
        .order_by(PaymentPlan.id.desc())
        .limit(1)
    ).first()


def instalments(session: Session, plan_id: int) -> list[PaymentPlanInstalment]:
    return list(
        session.scalars(
            select(PaymentPlanInstalment)
            .where(PaymentPlanInstalment.plan_id == plan_id)
            .order_by(PaymentPlanInstalment.sequence)
        )
    )


def cut_eligible(
    session: Session, actor: Actor, *, on: date, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """Accounts whose dunning allows a cut on ``on``: overdue (no plan in good standing,
    nothing paid off), a cut step done, and no hold blocking cuts that day. Within the
    caller's territory."""
    territory = rule_sql(actor, Account, "a")
    where = f"AND {territory}" if territory else ""
    sql = f"""
        SELECT f.customer_account_id, a.number AS account_number,
               (SELECT u.category FROM customer_contract c
                JOIN customer_usage_point u ON u.id = c.usage_point_id
                WHERE c.account_id = a.id ORDER BY c.status = 'active' DESC, c.id DESC
                LIMIT 1) AS category,
               y.agency_id, f.overdue_amount, f.unpaid_bills, f.oldest_due_date,
               (:on - f.oldest_due_date) AS days_overdue, f.cut_eligible_since,
               (SELECT ST_X(l.geom) FROM customer_contract c
                JOIN customer_usage_point u ON u.id = c.usage_point_id
                JOIN customer_service_location l ON l.id = u.service_location_id
                WHERE c.account_id = a.id ORDER BY c.status = 'active' DESC, c.id DESC
                LIMIT 1) AS lon,
               (SELECT ST_Y(l.geom) FROM customer_contract c
                JOIN customer_usage_point u ON u.id = c.usage_point_id
                JOIN customer_service_location l ON l.id = u.service_location_id
                WHERE c.account_id = a.id ORDER BY c.status = 'active' DESC, c.id DESC
                LIMIT 1) AS lat,
               count(*) OVER () AS total
        FROM collection_file f
        JOIN customer_account a ON a.id = f.customer_account_id
        JOIN customer_party y ON y.id = a.payer_party_id
        CROSS JOIN (SELECT 'cut_eligible'::text AS action, ''::text AS code) st
        WHERE f.status = 'overdue' AND f.cut_eligible_since IS NOT NULL
          AND f.overdue_amount > 0
          AND NOT {BLOCKING_HOLD}
          {where}
        ORDER BY f.overdue_amount DESC, f.customer_account_id
        LIMIT :limit OFFSET :offset
    """
    rows = (
        session.execute(
            text(sql),
            {"on": on, "eve": eve_of_non_working_day(on), "limit": limit, "offset": offset},
        )
        .mappings()
        .all()
    )
    total = int(rows[0]["total"]) if rows else 0
    return [{k: v for k, v in r.items() if k != "total"} for r in rows], total
