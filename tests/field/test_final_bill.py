"""A move-out's whole chain across domains: the contract process asks for a final read,
field orders it, the technician's completed order stores the reading, and billing issues
the final bill as soon as that reading is in (``field.final_reading_taken`` handler)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from billing.invoices.models import Invoice
from core.context import SYSTEM
from core.outbox import InTransactionDispatcher, use_dispatcher
from customers import contract_service
from customers.schemas import MoveOutRequest
from field import service
from field.models import WorkOrder
from field.schemas import WorkOrderOutcome
from tests.billing.test_runs import bill_january
from tests.billing.world import at, customer, ledger_is_clean, read


def test_a_final_read_taken_in_the_field_issues_the_final_bill(db, office, make_technician):
    who = customer(db)
    read(db, who, date(2026, 1, 31), 150)  # index 150 at the end of January
    bill_january(db, [who.usage_point_id])
    contract_service.move_out(
        db,
        actor=SYSTEM,
        contract_id=who.contract_id,
        data=MoveOutRequest(end_date=date(2026, 2, 20), reason="leaves town"),
    )
    with use_dispatcher(InTransactionDispatcher()):
        db.commit()  # field orders the final read; billing finds no reading yet
    [order] = db.scalars(select(WorkOrder).where(WorkOrder.contract_id == who.contract_id))
    assert not db.scalars(
        select(Invoice).where(Invoice.contract_id == who.contract_id, Invoice.reason == "final")
    ).all()

    technician, tech = make_technician()  # works Monday to Friday; 20 Feb 2026 is a Friday
    service.assign_work_order(db, actor=office, work_order_id=order.id, technician_id=technician.id)
    service.complete_work_order(
        db,
        actor=tech,
        work_order_id=order.id,
        outcome=WorkOrderOutcome(
            completed_at=at(date(2026, 2, 20)), indexes={"total": Decimal(190)}
        ),
    )
    with use_dispatcher(InTransactionDispatcher()):
        db.commit()  # field.final_reading_taken -> billing's final bill

    [final] = db.scalars(
        select(Invoice).where(Invoice.contract_id == who.contract_id, Invoice.reason == "final")
    )
    assert (final.period_start, final.period_end, final.kwh) == (
        date(2026, 2, 1),
        date(2026, 2, 20),
        40,  # 190 - 150
    )
    # As in tests/billing/test_invoices.py: 19 of February's 28 days: fixed 500 * 19/28 =
    # 339.29 -> 339; 40 kWh in the prorated first block at 50 = 2000; net 2339; TVA 18 %
    # = 421.02 -> 421; total 2760
    assert final.total == 2760
    ledger_is_clean(db)
