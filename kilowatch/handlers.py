"""Domain-event handlers, registered at start-up. Each domain's news reaches the domains
above it only through here."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from billing.collections import service as collections
from billing.invoices.service import final_bill_if_ready
from billing.payments.events import PaymentPosted, PaymentReversed
from core.context import SYSTEM
from core.events import handles
from core.tasks import send_after_commit
from customers.events import FinalReadingRequested
from field import service as field_service
from field.connections import service as connections
from field.events import FinalReadingTaken, WorkOrderCompleted
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


@handles(PaymentPosted, name="billing.collections_after_payment")
def collections_after_payment(session: Session, event: PaymentPosted, _event_id: uuid.UUID) -> None:
    """Money arrived: the account's overdue state is recomputed at once (a payment that
    clears the arrears stops the steps), its plan settled, written-off debt recovered."""
    payment = collections.payment(session, event.payment_id)
    if payment is not None and payment.status == "posted":
        collections.on_payment(session, SYSTEM, payment, reason=f"payment {payment.number}")


@handles(PaymentReversed, name="billing.collections_after_reversal")
def collections_after_reversal(
    session: Session, event: PaymentReversed, _event_id: uuid.UUID
) -> None:
    """A payment was reversed (a bounced cheque ...): the debt is back, the steps resume
    from where they were, a recovery it made is undone."""
    payment = collections.payment(session, event.payment_id)
    if payment is not None:
        collections.on_payment(
            session, SYSTEM, payment, reason=f"payment {payment.number} reversed: {event.reason}"
        )


@handles(WorkOrderCompleted, name="field.connections.work_order_done")
def connection_work_done(session: Session, event: WorkOrderCompleted, _event_id: uuid.UUID) -> None:
    """A survey or works order of a connection request is done: quote it, or connect it
    (contract started) once the last works order is in."""
    connections.work_order_done(session, actor=SYSTEM, work_order_id=event.work_order_id)


@handles(FinalReadingRequested, name="field.connections.settle_deposit")
def settle_connection_deposit(
    session: Session, event: FinalReadingRequested, _event_id: uuid.UUID
) -> None:
    """A contract ends: the guarantee deposit taken at its connection is used against the
    customer's account (once: the ledger refuses the same document twice)."""
    if connections.deposit_settled(session, contract_id=event.contract_id):
        return
    connections.settle_deposit(
        session, actor=SYSTEM, contract_id=event.contract_id, how="use", on=event.reading_date
    )
