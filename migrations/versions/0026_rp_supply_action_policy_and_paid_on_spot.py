"""revenue protection: the reduce-instead-of-cut policy (versioned data), each campaign
item's action (cut or reduce, and to how many kVA), and a visit where the customer paid on
the spot (the payment taken, or the receipt shown as a claim to verify)

Revision ID: 0026
Revises: 0025
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from core.audit import enable_audit_sql

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rp_supply_action_policy",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition", postgresql.JSONB(), nullable=False),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rp_supply_action_policy")),
        sa.UniqueConstraint("version", name=op.f("uq_rp_supply_action_policy_version")),
    )
    for statement in enable_audit_sql("rp_supply_action_policy"):
        op.execute(statement)
    op.add_column("rp_campaign_item", sa.Column("action", sa.Text(), nullable=True))
    op.add_column("rp_campaign_item", sa.Column("limit_kva", sa.Numeric(8, 2), nullable=True))
    op.add_column("rp_campaign_item", sa.Column("paid_amount", sa.BigInteger(), nullable=True))
    op.add_column("rp_campaign_item", sa.Column("paid_reference", sa.Text(), nullable=True))
    # posted (the agent took the money: a payment) | to_verify (a receipt shown: a claim)
    op.add_column("rp_campaign_item", sa.Column("paid_status", sa.Text(), nullable=True))
    op.add_column("rp_campaign_item", sa.Column("payment_id", sa.BigInteger(), nullable=True))
    op.create_foreign_key(
        op.f("fk_rp_campaign_item_payment_id_billing_payment"),
        "rp_campaign_item",
        "billing_payment",
        ["payment_id"],
        ["id"],
    )
    op.create_check_constraint(
        op.f("ck_rp_campaign_item_action_known"),
        "rp_campaign_item",
        "action IS NULL OR action IN ('cut', 'reduce', 'restore', 'inspect')",
    )
    op.create_check_constraint(
        op.f("ck_rp_campaign_item_paid_status_known"),
        "rp_campaign_item",
        "paid_status IS NULL OR paid_status IN ('posted', 'to_verify', 'verified', 'rejected')",
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("ck_rp_campaign_item_paid_status_known"), "rp_campaign_item", type_="check"
    )
    op.drop_constraint(op.f("ck_rp_campaign_item_action_known"), "rp_campaign_item", type_="check")
    op.drop_constraint(
        op.f("fk_rp_campaign_item_payment_id_billing_payment"),
        "rp_campaign_item",
        type_="foreignkey",
    )
    for column in ("payment_id", "paid_status", "paid_reference", "paid_amount", "limit_kva",
                   "action"):  # fmt: skip
        op.drop_column("rp_campaign_item", column)
    op.drop_table("rp_supply_action_policy")
