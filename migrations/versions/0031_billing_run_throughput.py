"""billing: what a run's issue writes per bill, cut

Revision ID: 0031
Revises: 0028

- ``billing_run_item.invoice_id`` is checked at commit (DEFERRABLE INITIALLY DEFERRED):
  a run's chunk marks its items issued with the invoice ids drawn ahead, before it takes
  its numbers, so the UPDATE runs outside the numbering lock and a second worker's
  chunk waits less. The reference is still checked in the same transaction.
- The one-to-one links of a correction (``credits_invoice_id``, unique) and of a re-bill
  (``replaces_invoice_id``) are NULL on every bill of a run: their indexes keep only the
  rows that name a document (partial), so a million bills add no index entry there.
"""

from __future__ import annotations

from alembic import op

revision = "0031"
down_revision = "0028"
branch_labels = None
depends_on = None

UPGRADE_SQL = [
    "ALTER TABLE billing_run_item ALTER CONSTRAINT fk_billing_run_item_invoice_id_billing_invoice "
    "DEFERRABLE INITIALLY DEFERRED",
    "ALTER TABLE billing_invoice DROP CONSTRAINT uq_billing_invoice_credits_invoice_id",
    "CREATE UNIQUE INDEX uq_billing_invoice_credits_invoice_id ON billing_invoice "
    "(credits_invoice_id) WHERE credits_invoice_id IS NOT NULL",
    "DROP INDEX ix_billing_invoice_replaces_invoice_id",
    "CREATE INDEX ix_billing_invoice_replaces_invoice_id ON billing_invoice "
    "(replaces_invoice_id) WHERE replaces_invoice_id IS NOT NULL",
]

DOWNGRADE_SQL = [
    "DROP INDEX ix_billing_invoice_replaces_invoice_id",
    "CREATE INDEX ix_billing_invoice_replaces_invoice_id ON billing_invoice (replaces_invoice_id)",
    "DROP INDEX uq_billing_invoice_credits_invoice_id",
    "ALTER TABLE billing_invoice ADD CONSTRAINT uq_billing_invoice_credits_invoice_id "
    "UNIQUE (credits_invoice_id)",
    "ALTER TABLE billing_run_item ALTER CONSTRAINT fk_billing_run_item_invoice_id_billing_invoice "
    "NOT DEFERRABLE",
]


def upgrade() -> None:
    for statement in UPGRADE_SQL:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE_SQL:
        op.execute(statement)
