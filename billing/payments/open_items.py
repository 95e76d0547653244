"""Issued bills become open items; credited bills stop being open.

Billing runs write invoices in bulk (COPY) and know nothing of allocation, so the open
items follow the invoices here, set-based and idempotent: every issued bill (kind
``invoice``, positive total) of the accounts asked gets its principal item once (the item's
``invoice_id`` is unique); a bill credited by a credit note has its item closed and the
allocations on it released, so the payments that paid it are credit again (for its
re-bill). The allocator runs this for the account it allocates; ``allocation.settle`` runs
it for every account after a billing run and spends each account's credit on its new bills.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.orm import Session

from core.context import Actor

_ACCOUNTS = "(CAST(:all_accounts AS boolean) OR i.account_id = ANY(:accounts))"

# One statement, two effects (one round trip per allocation): open the items of new bills,
# close those of credited bills and release their allocations.
_SYNC = text(
    f"""
    WITH opened AS (
    INSERT INTO billing_receivable_item (customer_account_id, kind, document_ref, due_date,
                                         amount, currency, ledger_transaction_id, invoice_id)
    SELECT i.account_id, 'principal', i.number, i.due_date, i.total, i.currency,
           i.ledger_transaction_id, i.id
    FROM billing_invoice i
    WHERE i.kind = 'invoice' AND i.total > 0 AND {_ACCOUNTS}
      AND NOT EXISTS (SELECT 1 FROM billing_receivable_item r WHERE r.invoice_id = i.id)
    ON CONFLICT DO NOTHING
    RETURNING customer_account_id
    ), closed AS (
        UPDATE billing_receivable_item r SET closed_at = now()
        FROM billing_invoice i
        WHERE r.invoice_id = i.id AND i.status = 'credited' AND r.closed_at IS NULL
          AND {_ACCOUNTS}
        RETURNING r.id, r.customer_account_id, r.document_ref
    ), released AS (
        UPDATE billing_payment_allocation a
        SET released_at = now(), released_by = :actor,
            release_reason = 'bill ' || c.document_ref || ' credited'
        FROM closed c
        WHERE a.item_id = c.id AND a.released_at IS NULL
        RETURNING a.id
    )
    SELECT customer_account_id FROM opened
    UNION SELECT customer_account_id FROM closed
    """
)


def sync_invoices(
    session: Session, actor: Actor, account_ids: Sequence[int] | None = None
) -> set[int]:
    """Open the items of new bills and close those of credited bills, for ``account_ids``
    (every account when None). Returns the accounts whose items changed."""
    params = {
        "all_accounts": account_ids is None,
        "accounts": list(account_ids or []),
        "actor": actor.user_id,
    }
    changed = {int(a) for (a,) in session.execute(_SYNC, params)}
    if changed:
        session.expire_all()
    return changed
