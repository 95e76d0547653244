"""Domain-event handlers, registered at start-up. Each domain's news reaches the domains
above it only through here."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from billing.collections import service as collections
from billing.invoices.events import InvoicesIssued
from billing.invoices.service import final_bill_if_ready
from billing.payments import allocation
from billing.payments.events import PaymentCleared, PaymentPosted, PaymentReversed
from core.context import SYSTEM
from core.events import handles
from core.tasks import send_after_commit
from customers.events import CaseClosed, FinalReadingRequested
from customers.portal import preferences as portal_notices
from field import service as field_service
from field.connections import service as connections
from field.events import (
    FinalReadingTaken,
    SealAnomalyFound,
    WorkOrderCompleted,
    WorkOrderFailed,
)
from fraud.events import FlagSentToInspection
from gis.events import SwitchOperated
from gis.tasks import retrace_feeder
from revenue_protection import campaigns, restoration
from revenue_protection import service as rp_service
from revenue_protection.enums import CaseSource


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


@handles(CaseClosed, name="customers.portal.case_closed_notice")
def case_closed_notice(session: Session, event: CaseClosed, _event_id: uuid.UUID) -> None:
    """A customer's case is closed: a portal customer hears of it the way they chose
    (e-mail, SMS, a letter, or not at all) in their language; once per case."""
    portal_notices.case_closed(session, SYSTEM, case_id=event.case_id)


# -- revenue protection -------------------------------------------------------------------


@handles(FlagSentToInspection, name="revenue_protection.case_from_flag")
def ntl_case_from_flag(session: Session, event: FlagSentToInspection, _event_id: uuid.UUID) -> None:
    """An analyst sent a flag to inspection: an NTL case with its inspection order (one
    per flag, however often delivered)."""
    rp_service.open_case(
        session,
        actor=SYSTEM,
        usage_point_id=event.usage_point_id,
        source=CaseSource.FRAUD_FLAG,
        source_ref=str(event.flag_id),
        flag_id=event.flag_id,
        note="; ".join(event.reasons[:3]) or event.note,
        priority=2,
    )


@handles(SealAnomalyFound, name="revenue_protection.case_from_seal_anomaly")
def ntl_case_from_seal_anomaly(
    session: Session, event: SealAnomalyFound, _event_id: uuid.UUID
) -> None:
    """A seal found broken, missing or foreign at a usage point: an NTL case (or news for
    the one already open there)."""
    if event.usage_point_id is None:
        return
    rp_service.open_case(
        session,
        actor=SYSTEM,
        usage_point_id=event.usage_point_id,
        source=CaseSource.SEAL_ANOMALY,
        source_ref=str(event.seal_event_id),
        note=f"seal {event.seal_number} {event.anomaly.replace('_', ' ')}",
    )


@handles(PaymentPosted, name="revenue_protection.restore_after_payment")
def restore_after_payment(session: Session, event: PaymentPosted, _event_id: uuid.UUID) -> None:
    """Money arrived: decide the restoration of the account's cut usage points (a cheque
    not cleared yet is held, with that reason)."""
    restoration.on_payment(
        session,
        account_id=event.customer_account_id,
        payment_id=event.payment_id,
        cleared=event.cleared,
        trigger="payment_posted",
    )


@handles(PaymentCleared, name="revenue_protection.restore_after_clearing")
def restore_after_clearing(session: Session, event: PaymentCleared, _event_id: uuid.UUID) -> None:
    """A cheque cleared: decide again, the instrument being money now."""
    restoration.on_payment(
        session,
        account_id=event.customer_account_id,
        payment_id=event.payment_id,
        cleared=True,
        trigger="payment_cleared",
    )


@handles(WorkOrderCompleted, name="revenue_protection.restored_in_field")
def restoration_done_in_field(
    session: Session, event: WorkOrderCompleted, _event_id: uuid.UUID
) -> None:
    """A restore order was done: its restoration (if any) ends."""
    if event.kind == "restore":
        restoration.restored_in_field(
            session, work_order_id=event.work_order_id, at=event.completed_at
        )


@handles(WorkOrderCompleted, name="revenue_protection.campaign_visit_done")
def campaign_visit_done(session: Session, event: WorkOrderCompleted, _event_id: uuid.UUID) -> None:
    """A campaign visit was done (or the customer paid on the spot): its outcome."""
    campaigns.outcome_of_work_order(
        session,
        work_order_id=event.work_order_id,
        finding=str(event.outcome.get("finding") or ""),
        failure_code=None,
        at=event.completed_at,
        paid=event.outcome.get("paid"),
    )


@handles(WorkOrderFailed, name="revenue_protection.campaign_visit_failed")
def campaign_visit_failed(session: Session, event: WorkOrderFailed, _event_id: uuid.UUID) -> None:
    """A campaign visit failed (refused, no access, meter not found ...): its outcome."""
    campaigns.outcome_of_work_order(
        session,
        work_order_id=event.work_order_id,
        finding=None,
        failure_code=event.failure_code,
        at=event.failed_at,
    )


@handles(WorkOrderCompleted, name="revenue_protection.findings_from_inspection")
def ntl_findings_from_inspection(
    session: Session, event: WorkOrderCompleted, _event_id: uuid.UUID
) -> None:
    """An inspection order was completed: if it is an NTL case's, its outcome becomes
    the case's findings."""
    if event.kind != "inspect":
        return
    rp_service.findings_from_work_order(
        session,
        actor=SYSTEM,
        work_order_id=event.work_order_id,
        outcome=event.outcome,
        at=event.completed_at,
    )


@handles(InvoicesIssued, name="billing.settle_after_issue")
def settle_after_issue(session: Session, event: InvoicesIssued, _event_id: uuid.UUID) -> None:
    """Bills were issued (a billing run's chunk, a single bill, a credit note): their open
    items appear and each account's credit (an overpayment) pays them at once. Idempotent:
    an item is opened once, credit spent once."""
    allocation.settle(session, SYSTEM, event.account_ids)
