"""The billing domain's part of the customer file (``customers.customer_file``): each
account's balance, its latest invoices and payments; and the account header of the
account statement page.

Every figure is a sum of ledger postings made when asked (``billing.ledger.repository``):
nothing here stores a balance. Invoices and payments are the ledger transactions of those
kinds on the account's receivable sub-ledger (their ``source_ref``: the invoice or receipt
number), newest first. Registered when the composition root imports this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from billing.invoices.models import Invoice
from billing.ledger import repository
from billing.ledger.models import LedgerAccount, LedgerPosting, LedgerTransaction, TransactionKind
from core.context import Actor
from core.territory import visible
from customers.customer_file import FileScope, register_section
from customers.models import Account, Party

RECENT = 6  # invoices and payments shown per account in the customer file
INVOICE_KINDS = (TransactionKind.INVOICE.value, TransactionKind.CREDIT_NOTE.value)
PAYMENT_KINDS = (TransactionKind.PAYMENT.value,)


@dataclass(frozen=True)
class AccountHeader:
    """Who an account is, for the statement page."""

    id: int
    number: str
    status: str
    delivery_channel: str
    language: str
    payer_party_id: int
    payer_name: str


def account_header(session: Session, actor: Actor, account_id: int) -> AccountHeader | None:
    """The account, when ``actor`` may see it (None otherwise: the page answers 404)."""
    row = session.execute(
        select(
            Account.id,
            Account.number,
            Account.status,
            Account.delivery_channel,
            Account.language,
            Account.payer_party_id,
            Party.display_name,
        )
        .join(Party, Party.id == Account.payer_party_id)
        .where(Account.id == account_id, visible(actor, Account))
    ).one_or_none()
    return None if row is None else AccountHeader(*row)


def recent_documents(
    session: Session, account_ids: list[int], kinds: tuple[str, ...], limit: int = RECENT
) -> dict[int, list[dict[str, Any]]]:
    """The latest ``limit`` ledger transactions of ``kinds`` per customer account (their
    amount on the receivable: positive owed, negative paid or credited)."""
    if not account_ids:
        return {}
    ranked = (
        select(
            LedgerPosting.customer_account_id.label("account_id"),
            LedgerTransaction.id.label("transaction_id"),
            LedgerTransaction.entry_date,
            LedgerTransaction.kind,
            LedgerTransaction.source_ref,
            LedgerTransaction.currency,
            LedgerTransaction.reverses_id,
            LedgerPosting.amount,
            Invoice.id.label("invoice_id"),
        )
        .join(LedgerTransaction, LedgerTransaction.id == LedgerPosting.transaction_id)
        .outerjoin(Invoice, Invoice.ledger_transaction_id == LedgerTransaction.id)
        .join(LedgerAccount, LedgerAccount.id == LedgerPosting.account_id)
        .where(
            LedgerPosting.customer_account_id.in_(account_ids),
            LedgerAccount.per_customer_account.is_(True),
            LedgerTransaction.kind.in_(kinds),
        )
        .order_by(
            LedgerPosting.customer_account_id,
            LedgerTransaction.entry_date.desc(),
            LedgerTransaction.id.desc(),
        )
    )
    found: dict[int, list[dict[str, Any]]] = {}
    for row in session.execute(ranked):
        items = found.setdefault(row.account_id, [])
        if len(items) < limit:
            items.append(dict(row._mapping))
    return found


def billing_section(scope: FileScope) -> None:
    """Balance, latest invoices and payments of each account in a customer's file (a
    premises' file lists no accounts: nothing to add)."""
    accounts = scope.body.get("accounts")
    if accounts is None or not scope.actor.has_scope("billing:read"):
        return  # a premises' file, or a reader who may not see money
    ids = [a["id"] for a in accounts]
    balances = repository.balances(scope.session, ids)
    invoices = recent_documents(scope.session, ids, INVOICE_KINDS)
    payments = recent_documents(scope.session, ids, PAYMENT_KINDS)
    scope.body["billing"] = {
        "accounts": [
            {
                "account_id": a["id"],
                "number": a["number"],
                "balance": balances.get(a["id"], {}),
                "invoices": invoices.get(a["id"], []),
                "payments": payments.get(a["id"], []),
            }
            for a in accounts
        ]
    }


register_section("billing", billing_section)
