"""billing: billing runs (items, chunks, history), invoices and credit notes

Revision ID: 0013
Revises: 0010 (while developing; the coordinator re-chains it after 0012)
Create Date: 2026-12-02 06:14:10

The database keeps the documents honest, whatever the application does:
- an issued invoice is immutable: a trigger refuses any UPDATE changing a column other than
  the allowed status fields (the arguments of the trigger: ``status``, issued -> credited
  only) and every DELETE; lines are append-only (core.audit.append_only_sql);
- numbering has no gap: a statement-level trigger refuses a number whose predecessor in
  its series is missing, or beyond the series counter (which the issuing transaction
  locks); with deletes refused, every series holds exactly 1..n;
- issued bills of a usage point never overlap (exclusion constraint, btree_gist over the
  usage point and ``daterange(period_start, period_end)``; credited bills excluded).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from core.audit import append_only_sql, enable_audit_sql

revision = "0013"
down_revision = "0010"
branch_labels = None
depends_on = None

TABLES = (
    "billing_invoice_series",
    "billing_run",
    "billing_run_chunk",
    "billing_run_transition",
    "billing_run_item",
    "billing_invoice",
    "billing_invoice_line",
)

# Columns of an issued invoice that may still change (the trigger's arguments). A later
# migration that adds, say, a delivery status recreates the trigger with it listed too.
MUTABLE_INVOICE_COLUMNS = ("status",)

INVOICE_SQL = [
    """
    CREATE FUNCTION billing_invoice_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            RAISE EXCEPTION 'invoice % is issued: it is never deleted (issue a credit note)',
                OLD.number USING ERRCODE = 'insufficient_privilege',
                CONSTRAINT = 'billing_invoice_immutable';
        END IF;
        IF (to_jsonb(NEW) - TG_ARGV) IS DISTINCT FROM (to_jsonb(OLD) - TG_ARGV)
           OR (NEW.status IS DISTINCT FROM OLD.status
               AND NOT (OLD.status = 'issued' AND NEW.status = 'credited')) THEN
            RAISE EXCEPTION 'invoice % is issued: only its status may change (issued -> '
                'credited, by a credit note)', OLD.number
                USING ERRCODE = 'insufficient_privilege',
                      CONSTRAINT = 'billing_invoice_immutable';
        END IF;
        RETURN NEW;
    END $$
    """,
    "CREATE TRIGGER immutable BEFORE UPDATE OR DELETE ON billing_invoice FOR EACH ROW "
    f"EXECUTE FUNCTION billing_invoice_immutable({', '.join(repr(c) for c in MUTABLE_INVOICE_COLUMNS)})",
    "ALTER TABLE billing_invoice ENABLE ALWAYS TRIGGER immutable",
    """
    CREATE FUNCTION billing_invoice_no_gap() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        bad record;
    BEGIN
        SELECT n.series, n.seq INTO bad FROM new_rows n
        WHERE n.seq > 1 AND NOT EXISTS (
            SELECT 1 FROM billing_invoice i WHERE i.series = n.series AND i.seq = n.seq - 1)
        LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'number % of series % leaves a gap: % is missing',
                bad.seq, bad.series, bad.seq - 1
                USING ERRCODE = 'integrity_constraint_violation',
                      CONSTRAINT = 'billing_invoice_numbering_gap';
        END IF;
        SELECT n.series, n.seq INTO bad FROM new_rows n
        JOIN billing_invoice_series s ON s.series = n.series
        WHERE n.seq > s.last_number LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'number % of series % was not drawn from its counter',
                bad.seq, bad.series
                USING ERRCODE = 'integrity_constraint_violation',
                      CONSTRAINT = 'billing_invoice_numbering_gap';
        END IF;
        RETURN NULL;
    END $$
    """,
    "CREATE TRIGGER no_gap AFTER INSERT ON billing_invoice REFERENCING NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION billing_invoice_no_gap()",
    "ALTER TABLE billing_invoice ENABLE ALWAYS TRIGGER no_gap",
    *append_only_sql("billing_invoice_line", "issue a credit note and a re-bill instead"),
]


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.create_table(
        "billing_invoice_series",
        sa.Column("series", sa.Text(), nullable=False),
        sa.Column("last_number", sa.BigInteger(), server_default="0", nullable=False),
        sa.CheckConstraint(
            "last_number >= 0", name=op.f("ck_billing_invoice_series_last_number_positive")
        ),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_invoice_series")),
        sa.UniqueConstraint("series", name=op.f("uq_billing_invoice_series_series")),
    )
    op.create_table(
        "billing_run",
        sa.Column("label", sa.Text(), server_default="", nullable=False),
        sa.Column("status", sa.Text(), server_default="draft", nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("issue_date", sa.Date(), nullable=False),
        sa.Column("due_days", sa.Integer(), server_default="15", nullable=False),
        sa.Column("selection", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("agency_id", sa.BigInteger(), nullable=True),
        sa.Column("amount_threshold", sa.BigInteger(), nullable=True),
        sa.Column(
            "history_factor", sa.Numeric(precision=6, scale=2), server_default="3", nullable=False
        ),
        sa.Column("park_estimated", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("chunk_size", sa.Integer(), server_default="5000", nullable=False),
        sa.Column("series", sa.Text(), server_default="F", nullable=False),
        sa.Column("prepared_by", sa.Text(), nullable=False),
        sa.Column("prepared_by_id", sa.BigInteger(), nullable=True),
        sa.Column("approved_by", sa.Text(), nullable=True),
        sa.Column("approved_by_id", sa.BigInteger(), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
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
        sa.CheckConstraint(
            "status IN ('draft', 'simulated', 'approved', 'issuing', 'issued', 'cancelled')",
            name=op.f("ck_billing_run_status_known"),
        ),
        sa.CheckConstraint(
            "approved_by IS NULL OR approved_by <> prepared_by",
            name=op.f("ck_billing_run_four_eyes"),
        ),
        sa.CheckConstraint("chunk_size >= 1", name=op.f("ck_billing_run_chunk_size_positive")),
        sa.CheckConstraint("period_end > period_start", name=op.f("ck_billing_run_period_ordered")),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["core_agency.id"],
            name=op.f("fk_billing_run_agency_id_core_agency"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["approved_by_id"],
            ["core_user.id"],
            name=op.f("fk_billing_run_approved_by_id_core_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["prepared_by_id"],
            ["core_user.id"],
            name=op.f("fk_billing_run_prepared_by_id_core_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_run")),
    )
    op.create_index(op.f("ix_billing_run_agency_id"), "billing_run", ["agency_id"], unique=False)
    op.create_table(
        "billing_run_chunk",
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.Column("chunk_no", sa.Integer(), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("simulated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("invoices", sa.Integer(), server_default="0", nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["billing_run.id"],
            name=op.f("fk_billing_run_chunk_run_id_billing_run"),
            ondelete="CASCADE",
        ),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_run_chunk")),
        sa.UniqueConstraint(
            "run_id", "chunk_no", name=op.f("uq_billing_run_chunk_run_id_chunk_no")
        ),
    )
    op.create_table(
        "billing_run_transition",
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.Column("event", sa.Text(), nullable=False),
        sa.Column("from_status", sa.Text(), nullable=True),
        sa.Column("to_status", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column(
            "details", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["billing_run.id"],
            name=op.f("fk_billing_run_transition_run_id_billing_run"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_run_transition")),
    )
    op.create_index(
        op.f("ix_billing_run_transition_run_id"), "billing_run_transition", ["run_id"], unique=False
    )
    op.create_table(
        "billing_invoice",
        sa.Column("series", sa.Text(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("number", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default="issued", nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("usage_point_id", sa.BigInteger(), nullable=False),
        sa.Column("contract_id", sa.BigInteger(), nullable=False),
        sa.Column("run_id", sa.BigInteger(), nullable=True),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("issue_date", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("tariff_code", sa.Text(), nullable=False),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("connection_type", sa.Text(), nullable=False),
        sa.Column("subscribed_kva", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column("consumption", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("kwh", sa.Numeric(precision=14, scale=3), nullable=False),
        sa.Column("estimated", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("net", sa.BigInteger(), nullable=False),
        sa.Column("taxes", sa.BigInteger(), nullable=False),
        sa.Column("rounding", sa.BigInteger(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("credits_invoice_id", sa.BigInteger(), nullable=True),
        sa.Column("replaces_invoice_id", sa.BigInteger(), nullable=True),
        sa.Column("payment_reference", sa.Text(), nullable=False),
        sa.Column("ledger_transaction_id", sa.BigInteger(), nullable=True),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column("issued_by", sa.Text(), nullable=False),
        sa.Column("issued_by_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        postgresql.ExcludeConstraint(
            (sa.text("usage_point_id"), "="),
            (sa.text("daterange(period_start, period_end, '[)')"), "&&"),
            where=sa.text("kind = 'invoice' AND status = 'issued'"),
            using="gist",
            name="ex_billing_invoice_usage_point_period",
        ),
        sa.CheckConstraint(
            "(kind = 'credit_note') = (credits_invoice_id IS NOT NULL)",
            name=op.f("ck_billing_invoice_credit_names_bill"),
        ),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f("ck_billing_invoice_currency_iso")),
        sa.CheckConstraint(
            "kind = 'invoice' OR status = 'issued'",
            name=op.f("ck_billing_invoice_credit_note_final"),
        ),
        sa.CheckConstraint(
            "kind IN ('invoice', 'credit_note')", name=op.f("ck_billing_invoice_kind_known")
        ),
        sa.CheckConstraint(
            "reason IN ('cycle', 'rebill', 'true_up', 'final', 'correction')",
            name=op.f("ck_billing_invoice_reason_known"),
        ),
        sa.CheckConstraint(
            "status IN ('issued', 'credited')", name=op.f("ck_billing_invoice_status_known")
        ),
        sa.CheckConstraint(
            "period_end > period_start", name=op.f("ck_billing_invoice_period_ordered")
        ),
        sa.CheckConstraint("seq >= 1", name=op.f("ck_billing_invoice_seq_positive")),
        sa.CheckConstraint(
            "total = net + taxes + rounding", name=op.f("ck_billing_invoice_total_adds_up")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["customer_account.id"],
            name=op.f("fk_billing_invoice_account_id_customer_account"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["customer_contract.id"],
            name=op.f("fk_billing_invoice_contract_id_customer_contract"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["credits_invoice_id"],
            ["billing_invoice.id"],
            name=op.f("fk_billing_invoice_credits_invoice_id_billing_invoice"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["issued_by_id"],
            ["core_user.id"],
            name=op.f("fk_billing_invoice_issued_by_id_core_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["ledger_transaction_id"],
            ["billing_ledger_transaction.id"],
            name=op.f("fk_billing_invoice_ledger_transaction_id_billing_ledger_transaction"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["replaces_invoice_id"],
            ["billing_invoice.id"],
            name=op.f("fk_billing_invoice_replaces_invoice_id_billing_invoice"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["billing_run.id"],
            name=op.f("fk_billing_invoice_run_id_billing_run"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["series"],
            ["billing_invoice_series.series"],
            name=op.f("fk_billing_invoice_series_billing_invoice_series"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["usage_point_id"],
            ["customer_usage_point.id"],
            name=op.f("fk_billing_invoice_usage_point_id_customer_usage_point"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_invoice")),
        sa.UniqueConstraint(
            "credits_invoice_id", name=op.f("uq_billing_invoice_credits_invoice_id")
        ),
        sa.UniqueConstraint("number", name=op.f("uq_billing_invoice_number")),
        sa.UniqueConstraint("series", "seq", name=op.f("uq_billing_invoice_series_seq")),
    )
    op.create_index(
        op.f("ix_billing_invoice_account_id"), "billing_invoice", ["account_id"], unique=False
    )
    op.create_index(
        op.f("ix_billing_invoice_contract_id"), "billing_invoice", ["contract_id"], unique=False
    )
    op.create_index(
        op.f("ix_billing_invoice_replaces_invoice_id"),
        "billing_invoice",
        ["replaces_invoice_id"],
        unique=False,
    )
    op.create_index(op.f("ix_billing_invoice_run_id"), "billing_invoice", ["run_id"], unique=False)
    op.create_index(
        "ix_billing_invoice_usage_point_period",
        "billing_invoice",
        ["usage_point_id", "period_start"],
        unique=False,
    )
    op.create_table(
        "billing_invoice_line",
        sa.Column("invoice_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("component", sa.Text(), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("quantity", sa.Numeric(), nullable=False),
        sa.Column("unit", sa.Text(), nullable=False),
        sa.Column("unit_price", sa.Numeric(), nullable=True),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("tax_base", sa.BigInteger(), nullable=True),
        sa.Column("block", sa.Integer(), nullable=True),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["billing_invoice.id"],
            name=op.f("fk_billing_invoice_line_invoice_id_billing_invoice"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_invoice_line")),
        sa.UniqueConstraint(
            "invoice_id", "position", name=op.f("uq_billing_invoice_line_invoice_id_position")
        ),
    )
    op.create_table(
        "billing_run_item",
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.Column("chunk_no", sa.Integer(), nullable=False),
        sa.Column("usage_point_id", sa.BigInteger(), nullable=False),
        sa.Column("contract_id", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.Text(), server_default="selected", nullable=False),
        sa.Column("period_start", sa.Date(), nullable=True),
        sa.Column("period_end", sa.Date(), nullable=True),
        sa.Column("consumption", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("kwh", sa.Numeric(precision=14, scale=3), nullable=True),
        sa.Column("estimated", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.Text(), nullable=True),
        sa.Column("checks", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("detail", sa.Text(), server_default="", nullable=False),
        sa.Column("invoice_id", sa.BigInteger(), nullable=True),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.CheckConstraint(
            "status IN ('selected', 'ready', 'parked', 'skipped', 'issued')",
            name=op.f("ck_billing_run_item_status_known"),
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["customer_contract.id"],
            name=op.f("fk_billing_run_item_contract_id_customer_contract"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["billing_invoice.id"],
            name=op.f("fk_billing_run_item_invoice_id_billing_invoice"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["billing_run.id"],
            name=op.f("fk_billing_run_item_run_id_billing_run"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["usage_point_id"],
            ["customer_usage_point.id"],
            name=op.f("fk_billing_run_item_usage_point_id_customer_usage_point"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_run_item")),
        sa.UniqueConstraint(
            "run_id", "usage_point_id", name=op.f("uq_billing_run_item_run_id_usage_point_id")
        ),
    )
    op.create_index("ix_billing_run_item_chunk", "billing_run_item", ["run_id", "chunk_no"])
    for statement in INVOICE_SQL:
        op.execute(statement)
    for table in TABLES:
        for statement in enable_audit_sql(table):
            op.execute(statement)
    series = sa.table("billing_invoice_series", sa.column("series"))
    op.bulk_insert(series, [{"series": "F"}, {"series": "AV"}])


def downgrade() -> None:
    op.drop_table("billing_run_item")
    op.drop_table("billing_invoice_line")
    op.drop_index("ix_billing_invoice_usage_point_period", table_name="billing_invoice")
    op.drop_index(op.f("ix_billing_invoice_run_id"), table_name="billing_invoice")
    op.drop_index(op.f("ix_billing_invoice_replaces_invoice_id"), table_name="billing_invoice")
    op.drop_index(op.f("ix_billing_invoice_contract_id"), table_name="billing_invoice")
    op.drop_index(op.f("ix_billing_invoice_account_id"), table_name="billing_invoice")
    op.drop_table("billing_invoice")
    op.drop_index(op.f("ix_billing_run_transition_run_id"), table_name="billing_run_transition")
    op.drop_table("billing_run_transition")
    op.drop_table("billing_run_chunk")
    op.drop_index(op.f("ix_billing_run_agency_id"), table_name="billing_run")
    op.drop_table("billing_run")
    op.drop_table("billing_invoice_series")
    for function in ("immutable", "no_gap"):
        op.execute(f"DROP FUNCTION billing_invoice_{function}()")
