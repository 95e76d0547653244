"""Background jobs of the fraud domain (thin: open a session, call a service, commit)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from core.celery_app import celery_app
from core.context import SYSTEM, acting_as
from core.db import session_scope
from fraud import service


@celery_app.task(name="fraud.compute_balances")
def compute_balances(first_month: str, last_month: str) -> dict[str, Any]:
    """Compute (or recompute: idempotent, the balances are replaced) every zone's balance
    for the months ``first_month``..``last_month`` (``YYYY-MM``), and re-judge flags."""
    with (
        acting_as(SYSTEM, request_id=f"fraud.compute_balances:{first_month}:{last_month}"),
        session_scope() as session,
    ):
        report = service.compute_balances(
            session,
            actor=SYSTEM,
            first=service.parse_month(first_month),
            last=service.parse_month(last_month),
        )
        return asdict(report)


@celery_app.task(name="fraud.train_models")
def train_models(period: str) -> dict[str, Any]:
    """Fit and register the detectors for ``period`` (YYYY-MM)."""
    from fraud.scoring import service as scoring

    with (
        acting_as(SYSTEM, request_id=f"fraud.train_models:{period}"),
        session_scope() as session,
    ):
        return asdict(
            scoring.train_models(session, actor=SYSTEM, period=service.parse_month(period))
        )


@celery_app.task(name="fraud.score_network")
def score_network(period: str, rules: dict[str, Any] | None = None) -> dict[str, Any]:
    """Score every usage point for ``period`` (YYYY-MM) and open the flags the budget
    selects. Re-running makes a new run; flags already open are kept, never doubled."""
    from fraud.scoring import service as scoring
    from fraud.scoring.ranking import RankingRules

    with (
        acting_as(SYSTEM, request_id=f"fraud.score_network:{period}"),
        session_scope() as session,
    ):
        return asdict(
            scoring.score_network(
                session,
                actor=SYSTEM,
                period=service.parse_month(period),
                rules=RankingRules(**(rules or {})),
            )
        )
