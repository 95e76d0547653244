"""core: the notification log (every e-mail and SMS sent, with its outcome); billing: print
batches (many invoices rendered into one file for a print shop, with progress)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 06:40:00

The notification log is append-only: what was sent stays sent (a resend is a new row).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from core.audit import append_only_sql, drop_append_only_sql, enable_audit_sql

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "core_notification",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("backend", sa.Text(), nullable=False),
        sa.Column("recipients", postgresql.JSONB(), nullable=False),
        sa.Column("subject", sa.Text(), server_default="", nullable=False),
        sa.Column("language", sa.Text(), nullable=False),
        sa.Column("reference", sa.Text(), nullable=True),
        sa.Column("attachments", postgresql.JSONB(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("provider_id", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("sent_by", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "channel IN ('email', 'sms')", name=op.f("ck_core_notification_channel_known")
        ),
        sa.CheckConstraint(
            "status IN ('sent', 'failed')", name=op.f("ck_core_notification_status_known")
        ),
        sa.ForeignKeyConstraint(
            ["sent_by"],
            ["core_user.id"],
            name=op.f("fk_core_notification_sent_by_core_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_notification")),
    )
    op.create_index("ix_core_notification_reference", "core_notification", ["reference"])
    for statement in append_only_sql("core_notification", "send again: a new row"):
        op.execute(statement)

    op.create_table(
        "billing_print_batch",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("label", sa.Text(), server_default="", nullable=False),
        sa.Column("output", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("invoice_ids", postgresql.JSONB(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), server_default="0", nullable=False),
        sa.Column("file_name", sa.Text(), nullable=True),
        sa.Column("file_bytes", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("agency_id", sa.BigInteger(), nullable=True),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "output IN ('pdf', 'zip')", name=op.f("ck_billing_print_batch_output_known")
        ),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'done', 'failed')",
            name=op.f("ck_billing_print_batch_status_known"),
        ),
        sa.CheckConstraint(
            "done BETWEEN 0 AND total", name=op.f("ck_billing_print_batch_done_counted")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["core_user.id"],
            name=op.f("fk_billing_print_batch_created_by_core_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["core_agency.id"],
            name=op.f("fk_billing_print_batch_agency_id_core_agency"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_print_batch")),
    )
    op.create_index(op.f("ix_billing_print_batch_agency_id"), "billing_print_batch", ["agency_id"])
    for statement in enable_audit_sql("billing_print_batch"):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("billing_print_batch")
    for statement in drop_append_only_sql("core_notification"):
        op.execute(statement)
    op.drop_table("core_notification")
