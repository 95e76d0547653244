"""API shapes of the ledger: the chart of accounts and a customer account's statement."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict


class LedgerAccountRead(BaseModel):
    """An account of the chart of accounts."""

    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    kind: str
    per_customer_account: bool


class StatementLineRead(BaseModel):
    """A receivable posting, amounts in integer minor units of ``currency``."""

    model_config = ConfigDict(from_attributes=True)

    transaction_id: int
    entry_date: date
    kind: str
    source_ref: str | None
    memo: str
    currency: str
    amount: int
    balance: int


class StatementRead(BaseModel):
    """A customer account's statement: balances per currency (minor units) before the
    range and after it, and every posting of the range with the running balance."""

    model_config = ConfigDict(from_attributes=True)

    customer_account_id: int
    date_from: date | None
    date_to: date | None
    opening: dict[str, int]
    lines: list[StatementLineRead]
    closing: dict[str, int]
