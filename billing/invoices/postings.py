"""What an issued document posts to the ledger (one balanced transaction per document).

A bill debits the customer's receivable with its total and credits, per line, the
account its component names in the chart of accounts (billing.ledger, migration 0010):

- a tax line credits ``tax:<tax code>`` when the chart has it, else ``tax:vat`` (the
  default taxes-payable account);
- any other line credits ``revenue:<component code>`` when the chart has it (a utility
  may open a revenue account per tariff component), else ``revenue:<line kind>``
  (``revenue:energy``, ``revenue:fixed``, ``revenue:surcharge``, ``revenue:minimum``,
  ``revenue:levy``, ``revenue:rounding``).

Amounts on one account are summed and zero sums dropped. A credit note's lines are its
bill's with opposite signs, so the same rule posts the exact mirror (the reversal-like
transaction): the receivable is credited, revenue and taxes debited.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from billing.tariffs.definition import LineKind

RECEIVABLE = "receivable"
DEFAULT_TAX_ACCOUNT = "tax:vat"


@dataclass(frozen=True)
class Chart:
    """The chart of accounts as the poster needs it: code -> ledger account id."""

    ids: Mapping[str, int]

    @classmethod
    def load(cls, session: Session) -> Chart:
        rows = session.execute(text("SELECT code, id FROM billing_ledger_account"))
        return cls({code: int(id_) for code, id_ in rows})

    def account_for(self, kind: str, component: str) -> str:
        """The account code a line of ``kind`` and ``component`` is credited to."""
        if kind == LineKind.TAX:
            own = f"tax:{component}"
            return own if own in self.ids else DEFAULT_TAX_ACCOUNT
        own = f"revenue:{component}"
        return own if own in self.ids else f"revenue:{kind}"


def posting_amounts(
    chart: Chart, total: int, lines: Iterable[tuple[str, str, int]]
) -> dict[str, int]:
    """Account code -> amount (debit positive) for a document of ``total`` whose lines are
    (kind, component, amount); zero sums dropped. The receivable is debited the total."""
    amounts: dict[str, int] = {RECEIVABLE: total}
    for kind, component, amount in lines:
        code = chart.account_for(kind, component)
        amounts[code] = amounts.get(code, 0) - amount
    return {code: amount for code, amount in amounts.items() if amount != 0}
