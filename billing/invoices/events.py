"""News of issued documents: the payments side spends the accounts' credit on new bills."""

from __future__ import annotations

from typing import ClassVar

from core.events import DomainEvent


class InvoicesIssued(DomainEvent):
    """Documents were issued for these customer accounts (one event per writer call: a
    billing run's chunk, a desk's single bill, a credit note). ``account_ids`` sorted."""

    name: ClassVar[str] = "billing.invoices_issued"

    account_ids: list[int]
    run_id: int | None = None
