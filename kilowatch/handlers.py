"""Domain-event handlers, registered at start-up. Each domain's news reaches the domains
above it only through here."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from billing.invoices.events import InvoicesIssued
from billing.invoices.service import final_bill_if_ready
from billing.payments import allocation
from core.context import SYSTEM
from core.events import handles
from core.tasks import send_after_commit
from customers.events import FinalReadingRequested
from field import service as field_service
from field.events import FinalReadingTaken
from gis.events import SwitchOperated
from gis.tasks import retrace_feeder


@handles(SwitchOperated, name="gis.retrace_after_switch")
def retrace_after_switch(session: Session, event: SwitchOperated, _event_id: uuid.UUID) -> None:
    """A switch changed state: re-trace the feeders on both sides in the background, once
    this handler's delivery record has committed (the task checks they are still dirty, so
    a redelivered event does no harm)."""
    for feeder_id in event.feeder_ids:
        send_after_commit(session, retrace_feeder, feeder_id)


@handles(FinalReadingRequested, name="field.final_read_order")
def final_read_order(session: Session, event: FinalReadingRequested, _event_id: uuid.UUID) -> None:
    """A contract process (move-out, transfer, termination) needs a final reading: a
    final-read work order for that day (one per contract and date, however often asked)."""
    field_service.order_final_reading(
        session,
        actor=SYSTEM,
        contract_id=event.contract_id,
        usage_point_id=event.usage_point_id,
        reading_date=event.reading_date,
        process=event.process,
    )


@handles(FinalReadingRequested, name="billing.final_bill_after_contract_end")
def final_bill_after_contract_end(
    session: Session, event: FinalReadingRequested, _event_id: uuid.UUID
) -> None:
    """A contract ended (move-out, transfer, termination): issue its final bill now if
    the final reading is already in (taken at the desk); otherwise the sweep
    ``billing.issue_pending_final_bills`` issues it once the reading arrives."""
    final_bill_if_ready(session, SYSTEM, contract_id=event.contract_id)


@handles(FinalReadingTaken, name="billing.final_bill_after_final_read")
def final_bill_after_final_read(
    session: Session, event: FinalReadingTaken, _event_id: uuid.UUID
) -> None:
    """The final reading a contract process asked for was taken in the field: issue the
    final bill now (once: a redelivered event finds the period billed)."""
    final_bill_if_ready(session, SYSTEM, contract_id=event.contract_id)


@handles(InvoicesIssued, name="billing.settle_after_issue")
def settle_after_issue(session: Session, event: InvoicesIssued, _event_id: uuid.UUID) -> None:
    """Bills were issued (a billing run's chunk, a single bill, a credit note): their open
    items appear and each account's credit (an overpayment) pays them at once. Idempotent:
    an item is opened once, credit spent once."""
    allocation.settle(session, SYSTEM, event.account_ids)
