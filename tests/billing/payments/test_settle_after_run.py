"""A billing run's bills are paid at once by the accounts' credit: the invoice writer tells
(``InvoicesIssued``, after commit) and the payments side settles the accounts it names."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.invoices.models import Invoice
from billing.payments import repository
from billing.payments.models import ReceivableItem
from core.outbox import InTransactionDispatcher, use_dispatcher
from customers.models import Account
from tests.billing.payments.helpers import assert_books_hold, pay
from tests.billing.test_runs import bill_january
from tests.billing.world import customer, read


def test_credit_pays_the_new_bill_right_after_the_run(db: Session) -> None:
    who = customer(db)
    account = db.get_one(Account, who.account_id)
    pay(db, account, 20_000, date(2026, 1, 15))  # an overpayment: nothing to pay yet
    read(db, who, date(2026, 1, 31), 150)
    with use_dispatcher(InTransactionDispatcher()):
        bill_january(db, [who.usage_point_id])
        db.commit()  # the event is handled after commit
    bill = db.scalars(select(Invoice).where(Invoice.account_id == who.account_id)).one()
    # 150 kWh: 500 + 100*50 + 50*80 = 9500 net, TVA 18 % = 1710 -> 11 210
    assert bill.total == 11_210
    item = db.scalars(select(ReceivableItem).where(ReceivableItem.invoice_id == bill.id)).one()
    assert repository.open_amounts(db, [item.id]) == {item.id: 0}
    # what is left of the credit: 20 000 - 11 210 = 8 790
    assert sum(c.remaining for c in repository.credits(db, who.account_id)) == 8_790
    assert_books_hold(db)
