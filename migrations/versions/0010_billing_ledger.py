"""billing: the double-entry ledger (chart of accounts, transactions, append-only postings)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 03:40:00

The database itself keeps the books honest: a deferred constraint trigger refuses at commit a
transaction whose postings do not sum to zero (or that has none), postings and transactions
are never updated or deleted (a correction is a reversing transaction), and a receivable
posting must name its customer account (the sub-ledger) while no other posting may.
Postings are not partitioned by month yet: a later migration may, the primary key and the
indexes below do not prevent it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from core.audit import append_only_sql, enable_audit_sql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

LEDGER_TABLES = ("billing_ledger_account", "billing_ledger_transaction", "billing_ledger_posting")

KINDS = "'invoice', 'credit_note', 'payment', 'fee', 'interest', 'write_off', 'opening_balance'"

# The default chart: (code, name, kind, per customer account). Configurable afterwards
# (billing.ledger.service.define_account): a utility adds a revenue account per tariff
# component ("revenue:<component code>") or a payable per tax ("tax:<tax code>").
DEFAULT_CHART = [
    ("receivable", "Customer receivables (control; sub-ledger per account)", "asset", True),
    ("cash", "Cash desks", "asset", False),
    ("bank", "Bank and mobile money", "asset", False),
    ("revenue:energy", "Energy sales", "revenue", False),
    ("revenue:fixed", "Fixed and subscribed-power charges", "revenue", False),
    ("revenue:surcharge", "Surcharges (fuel, scarcity adders)", "revenue", False),
    ("revenue:minimum", "Minimum charges", "revenue", False),
    ("revenue:levy", "Per-bill levies", "revenue", False),
    ("revenue:rounding", "Bill rounding", "revenue", False),
    ("revenue:fees", "Fees (reconnection, late payment)", "revenue", False),
    ("revenue:interest", "Interest on arrears", "revenue", False),
    ("tax:vat", "VAT payable", "liability", False),
    ("expense:write_off", "Bad debts written off", "expense", False),
    ("equity:opening", "Opening balances taken over from the legacy system", "equity", False),
]

LEDGER_SQL = [
    # -- a transaction balances: checked once per transaction, at commit ------------------
    """
    CREATE FUNCTION billing_ledger_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        txn bigint;
        postings bigint;
        total numeric;
    BEGIN
        IF TG_TABLE_NAME = 'billing_ledger_posting' THEN
            txn := NEW.transaction_id;
        ELSE
            txn := NEW.id;
        END IF;
        SELECT count(*), coalesce(sum(amount), 0) INTO postings, total
        FROM billing_ledger_posting WHERE transaction_id = txn;
        IF postings < 2 OR total <> 0 THEN
            RAISE EXCEPTION 'ledger transaction % does not balance: % postings summing to %',
                txn, postings, total
                USING ERRCODE = 'integrity_constraint_violation',
                      CONSTRAINT = 'billing_ledger_transaction_balanced';
        END IF;
        RETURN NULL;
    END $$
    """,
    "CREATE CONSTRAINT TRIGGER balanced AFTER INSERT ON billing_ledger_posting "
    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION billing_ledger_balanced()",
    "CREATE CONSTRAINT TRIGGER balanced AFTER INSERT ON billing_ledger_transaction "
    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION billing_ledger_balanced()",
    # -- the books are append-only ------------------------------------------------------
    *(
        statement
        for table in ("billing_ledger_transaction", "billing_ledger_posting")
        for statement in append_only_sql(table, "post a reversing transaction instead")
    ),
    # -- a receivable posting names its customer account, no other posting does ----------
    """
    CREATE FUNCTION billing_ledger_subledger() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF (SELECT per_customer_account FROM billing_ledger_account WHERE id = NEW.account_id)
           IS DISTINCT FROM (NEW.customer_account_id IS NOT NULL) THEN
            RAISE EXCEPTION 'posting on account %: a customer account is named exactly when '
                'the account keeps a sub-ledger per customer account', NEW.account_id
                USING ERRCODE = 'integrity_constraint_violation',
                      CONSTRAINT = 'billing_ledger_posting_subledger';
        END IF;
        RETURN NEW;
    END $$
    """,
    "CREATE TRIGGER subledger BEFORE INSERT ON billing_ledger_posting "
    "FOR EACH ROW EXECUTE FUNCTION billing_ledger_subledger()",
    # -- a balance is a sum of postings, never a stored number ----------------------------
    """
    CREATE VIEW billing_ledger_balance AS
    SELECT p.account_id, p.customer_account_id, t.currency, sum(p.amount)::bigint AS balance
    FROM billing_ledger_posting p
    JOIN billing_ledger_transaction t ON t.id = p.transaction_id
    GROUP BY p.account_id, p.customer_account_id, t.currency
    """,
]


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "billing_ledger_account",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("per_customer_account", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        *_timestamps(),
        sa.CheckConstraint(
            "kind IN ('asset', 'liability', 'equity', 'revenue', 'expense')",
            name=op.f("ck_billing_ledger_account_kind_known"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_ledger_account")),
        sa.UniqueConstraint("code", name=op.f("uq_billing_ledger_account_code")),
    )
    op.create_table(
        "billing_ledger_transaction",
        sa.Column("entry_date", sa.Date(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("source_ref", sa.Text(), nullable=True),
        sa.Column("memo", sa.Text(), server_default="", nullable=False),
        sa.Column("reverses_id", sa.BigInteger(), nullable=True),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.CheckConstraint(
            f"kind IN ({KINDS})", name=op.f("ck_billing_ledger_transaction_kind_known")
        ),
        sa.CheckConstraint(
            "currency ~ '^[A-Z]{3}$'", name=op.f("ck_billing_ledger_transaction_currency_iso")
        ),
        sa.ForeignKeyConstraint(
            ["reverses_id"],
            ["billing_ledger_transaction.id"],
            name=op.f("fk_billing_ledger_transaction_reverses_id_billing_ledger_transaction"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["core_user.id"],
            name=op.f("fk_billing_ledger_transaction_created_by_core_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_ledger_transaction")),
        sa.UniqueConstraint("reverses_id", name=op.f("uq_billing_ledger_transaction_reverses_id")),
    )
    # One posting per source document: an invoice posted twice is refused.
    op.create_index(
        "uq_billing_ledger_transaction_source",
        "billing_ledger_transaction",
        ["kind", "source_ref"],
        unique=True,
        postgresql_where=sa.text("reverses_id IS NULL AND source_ref IS NOT NULL"),
    )
    op.create_table(
        "billing_ledger_posting",
        sa.Column("transaction_id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("customer_account_id", sa.BigInteger(), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.CheckConstraint("amount <> 0", name=op.f("ck_billing_ledger_posting_amount_nonzero")),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["billing_ledger_transaction.id"],
            name=op.f("fk_billing_ledger_posting_transaction_id_billing_ledger_transaction"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["billing_ledger_account.id"],
            name=op.f("fk_billing_ledger_posting_account_id_billing_ledger_account"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["customer_account_id"],
            ["customer_account.id"],
            name=op.f("fk_billing_ledger_posting_customer_account_id_customer_account"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_ledger_posting")),
    )
    op.create_index(
        op.f("ix_billing_ledger_posting_transaction_id"),
        "billing_ledger_posting",
        ["transaction_id"],
    )
    op.create_index(
        op.f("ix_billing_ledger_posting_account_id"), "billing_ledger_posting", ["account_id"]
    )
    op.create_index(
        op.f("ix_billing_ledger_posting_customer_account_id"),
        "billing_ledger_posting",
        ["customer_account_id"],
    )
    for statement in LEDGER_SQL:
        op.execute(statement)
    for table in LEDGER_TABLES:
        for statement in enable_audit_sql(table):
            op.execute(statement)
    chart = sa.table(
        "billing_ledger_account",
        sa.column("code"),
        sa.column("name"),
        sa.column("kind"),
        sa.column("per_customer_account"),
    )
    op.bulk_insert(
        chart,
        [
            {"code": c, "name": n, "kind": k, "per_customer_account": p}
            for c, n, k, p in DEFAULT_CHART
        ],
    )


def downgrade() -> None:
    op.execute("DROP VIEW billing_ledger_balance")
    op.drop_table("billing_ledger_posting")
    op.drop_table("billing_ledger_transaction")
    op.drop_table("billing_ledger_account")
    for function in ("balanced", "subledger"):  # core_append_only is migration 0006's
        op.execute(f"DROP FUNCTION billing_ledger_{function}()")
