"""Property: whatever balanced transactions (and reversals) are posted, in any order, the
trial balance stays at zero, every receivable sub-ledger sums to its control account and
``ledger check`` finds nothing."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from billing.ledger import repository, service
from billing.ledger.models import TransactionKind
from billing.ledger.service import Line
from core.context import SYSTEM
from tests.billing.test_ledger import enforce_now, make_account

ACCOUNTS = ["cash", "bank", "revenue:energy", "revenue:fees", "tax:vat", "expense:write_off"]
CUSTOMERS = 3

# One transaction: postings on (account index or a customer number, amount), balanced by a
# last posting; ``reverse``: reverse the n-th earlier transaction instead (when it exists).
posting = st.tuples(
    st.one_of(st.sampled_from(ACCOUNTS), st.integers(0, CUSTOMERS - 1)),
    st.integers(-(10**9), 10**9).filter(bool),
)
transaction = st.one_of(
    st.tuples(
        st.sampled_from(list(TransactionKind)),
        st.sampled_from(["XOF", "EUR"]),
        st.lists(posting, min_size=1, max_size=5),
        st.one_of(st.sampled_from(ACCOUNTS), st.integers(0, CUSTOMERS - 1)),
    ),
    st.integers(0, 20).map(lambda n: ("reverse", n)),
)


def _line(target, amount: int, customers: list[int]) -> Line:
    if isinstance(target, int):
        return Line("receivable", amount, customers[target])
    return Line(target, amount)


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(transactions=st.lists(transaction, min_size=1, max_size=12))
def test_balanced_transactions_keep_the_trial_balance_at_zero(db, transactions) -> None:
    example = db.begin_nested()
    try:
        customers = [make_account(db).id for _ in range(CUSTOMERS)]
        posted: list[int] = []
        on = date(2025, 1, 1)
        for step in transactions:
            on += timedelta(days=1)
            if step[0] == "reverse":
                if step[1] < len(posted):
                    reversal = service.reverse(db, SYSTEM, posted.pop(step[1]), entry_date=on)
                    assert reversal.reverses_id is not None
                continue
            kind, currency, postings, balancing = step
            lines = [_line(target, amount, customers) for target, amount in postings]
            rest = -sum(amount for _, amount in postings)
            if rest == 0:
                continue  # already balanced: no balancing posting of zero
            lines.append(_line(balancing, rest, customers))
            posted.append(
                service.post(
                    db, SYSTEM, kind=kind, entry_date=on, currency=currency, lines=lines
                ).id
            )
        enforce_now(db)  # the database agrees: every transaction balances
        trial = db.execute(
            text("SELECT currency, sum(balance) FROM billing_ledger_balance GROUP BY currency")
        ).all()
        assert all(total == 0 for _, total in trial)
        report = repository.check(db)
        assert report.ok and report.total_imbalance == 0
        control = dict(
            db.execute(
                text(
                    "SELECT b.currency, sum(b.balance) FROM billing_ledger_balance b "
                    "JOIN billing_ledger_account a ON a.id = b.account_id "
                    "WHERE a.code = 'receivable' GROUP BY b.currency"
                )
            ).all()
        )
        per_customer: dict[str, int] = {}
        for by_currency in repository.balances(db, customers).values():
            for currency, amount in by_currency.items():
                per_customer[currency] = per_customer.get(currency, 0) + amount
        assert per_customer == {c: int(v) for c, v in control.items()}
    finally:
        example.rollback()
