"""Celery tasks of invoices: thin, idempotent."""

from __future__ import annotations

from billing.invoices import service
from core.celery_app import celery_app
from core.context import SYSTEM, acting_as
from core.db import session_scope


@celery_app.task(name="billing.issue_pending_final_bills")
def issue_pending_final_bills() -> int:
    """Issue the final bill of each ended contract whose final reading is now in (a
    contract already billed to its end is not pending, so re-running bills nothing twice)."""
    issued = 0
    with acting_as(SYSTEM, reason="final bills"), session_scope() as session:
        for contract_id in service.pending_final_bills(session):
            if service.final_bill_if_ready(session, SYSTEM, contract_id=contract_id):
                issued += 1
    return issued
