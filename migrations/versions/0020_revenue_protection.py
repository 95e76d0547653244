"""revenue protection: NTL cases with their step history, assessment rule sets; back-bills

Revision ID: 0020
Revises: 0019

A back-bill (invoice reason ``back_billing``) claims energy of months that were billed
already, so it leaves the no-overlap exclusion constraint of issued bills.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from core.audit import enable_audit_sql

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

_REASONS = "'cycle', 'rebill', 'true_up', 'final', 'correction'"


def _invoice_rules(reasons: str, excluded: str) -> None:
    op.execute("ALTER TABLE billing_invoice DROP CONSTRAINT ck_billing_invoice_reason_known")
    op.execute(
        "ALTER TABLE billing_invoice ADD CONSTRAINT ck_billing_invoice_reason_known "
        f"CHECK (reason IN ({reasons}))"
    )
    op.execute("ALTER TABLE billing_invoice DROP CONSTRAINT ex_billing_invoice_usage_point_period")
    op.execute(
        "ALTER TABLE billing_invoice ADD CONSTRAINT ex_billing_invoice_usage_point_period "
        "EXCLUDE USING gist (usage_point_id WITH =, "
        "daterange(period_start, period_end, '[)') WITH &&) "
        f"WHERE (kind = 'invoice' AND status = 'issued'{excluded})"
    )


def upgrade() -> None:
    _invoice_rules(_REASONS + ", 'back_billing'", " AND reason <> 'back_billing'")
    op.create_table(
        "rp_assessment_rule_set",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("definition", postgresql.JSONB(), nullable=False),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rp_assessment_rule_set")),
        sa.UniqueConstraint("version", name=op.f("uq_rp_assessment_rule_set_version")),
    )
    op.create_table(
        "rp_ntl_case",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("usage_point_id", sa.BigInteger(), nullable=False),
        sa.Column("contract_id", sa.BigInteger(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("source_ref", sa.Text(), nullable=True),
        sa.Column("flag_id", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.Text(), server_default="open", nullable=False),
        sa.Column("priority", sa.Integer(), server_default="3", nullable=False),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column("inspection_work_order_id", sa.BigInteger(), nullable=True),
        sa.Column("findings", postgresql.JSONB(), server_default="{}", nullable=False),
        sa.Column("irregularity", sa.Text(), nullable=True),
        sa.Column("inspected_on", sa.Date(), nullable=True),
        sa.Column("irregularity_since", sa.Date(), nullable=True),
        sa.Column("assessment", postgresql.JSONB(), server_default="{}", nullable=False),
        sa.Column("unbilled_kwh", sa.Numeric(14, 3), nullable=True),
        sa.Column("penalty", sa.BigInteger(), nullable=True),
        sa.Column("back_bill_invoice_id", sa.BigInteger(), nullable=True),
        sa.Column("contestation", postgresql.JSONB(), server_default="{}", nullable=False),
        sa.Column("recovered_kwh", sa.Numeric(14, 3), nullable=True),
        sa.Column("recovered_amount", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.Text(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "source IN ('fraud_flag', 'seal_anomaly', 'field_tip', 'manual')",
            name=op.f("ck_rp_ntl_case_source_known"),
        ),
        sa.CheckConstraint(
            "status IN ('open', 'inspecting', 'inspected', 'assessed', 'billed', 'contested',"
            " 'closed', 'dismissed')",
            name=op.f("ck_rp_ntl_case_status_known"),
        ),
        sa.ForeignKeyConstraint(["usage_point_id"], ["customer_usage_point.id"]),
        sa.ForeignKeyConstraint(["contract_id"], ["customer_contract.id"]),
        sa.ForeignKeyConstraint(["flag_id"], ["fraud_flag.id"]),
        sa.ForeignKeyConstraint(["inspection_work_order_id"], ["field_work_order.id"]),
        sa.ForeignKeyConstraint(["back_bill_invoice_id"], ["billing_invoice.id"]),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rp_ntl_case")),
        sa.UniqueConstraint("source", "source_ref", name="uq_rp_ntl_case_source"),
    )
    op.create_index("ix_rp_ntl_case_usage_point_id", "rp_ntl_case", ["usage_point_id"])
    op.create_index(
        "ix_rp_ntl_case_inspection_work_order_id", "rp_ntl_case", ["inspection_work_order_id"]
    )
    op.create_index(
        "uq_rp_ntl_case_open_usage_point",
        "rp_ntl_case",
        ["usage_point_id"],
        unique=True,
        postgresql_where=sa.text("status NOT IN ('closed', 'dismissed')"),
    )
    op.create_table(
        "rp_ntl_case_step",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("event", sa.Text(), nullable=False),
        sa.Column("from_status", sa.Text(), nullable=True),
        sa.Column("to_status", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("details", postgresql.JSONB(), server_default="{}", nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["rp_ntl_case.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rp_ntl_case_step")),
    )
    op.create_index("ix_rp_ntl_case_step_case_id", "rp_ntl_case_step", ["case_id"])
    _restoration_tables()
    _campaign_tables()
    for table in (
        "rp_ntl_case",
        "rp_assessment_rule_set",
        "rp_restoration_rule_set",
        "rp_supply_hold",
        "rp_restoration",
        "rp_campaign",
        "rp_campaign_item",
    ):
        for statement in enable_audit_sql(table):
            op.execute(statement)


def _stamps() -> list[sa.Column]:
    return [
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    ]


def _restoration_tables() -> None:
    op.create_table(
        "rp_restoration_rule_set",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition", postgresql.JSONB(), nullable=False),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        *_stamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rp_restoration_rule_set")),
        sa.UniqueConstraint("version", name=op.f("uq_rp_restoration_rule_set_version")),
    )
    op.create_table(
        "rp_supply_hold",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("usage_point_id", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        *_stamps(),
        sa.ForeignKeyConstraint(["usage_point_id"], ["customer_usage_point.id"]),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rp_supply_hold")),
    )
    op.create_index("ix_rp_supply_hold_usage_point_id", "rp_supply_hold", ["usage_point_id"])
    op.create_table(
        "rp_restoration",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("usage_point_id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("payment_id", sa.BigInteger(), nullable=False),
        sa.Column("trigger", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("branch", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("rule_version", sa.Integer(), nullable=True),
        sa.Column("work_order_id", sa.BigInteger(), nullable=True),
        sa.Column("head_end_ref", sa.Text(), nullable=True),
        sa.Column("payment_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("command_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("restored_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("steps", postgresql.JSONB(), nullable=False),
        *_stamps(),
        sa.ForeignKeyConstraint(["usage_point_id"], ["customer_usage_point.id"]),
        sa.ForeignKeyConstraint(["account_id"], ["customer_account.id"]),
        sa.ForeignKeyConstraint(["work_order_id"], ["field_work_order.id"]),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rp_restoration")),
        sa.UniqueConstraint(
            "trigger", "payment_id", "usage_point_id", name="uq_rp_restoration_once"
        ),
    )
    op.create_index("ix_rp_restoration_usage_point_id", "rp_restoration", ["usage_point_id"])
    op.create_index("ix_rp_restoration_work_order_id", "rp_restoration", ["work_order_id"])
    op.create_index("ix_rp_restoration_status", "rp_restoration", ["status", "started_at"])


def _campaign_tables() -> None:
    op.create_table(
        "rp_campaign",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("agency_id", sa.BigInteger(), nullable=True),
        sa.Column("criteria", postgresql.JSONB(), nullable=False),
        sa.Column("status", sa.Text(), server_default="draft", nullable=False),
        sa.Column("planned_date", sa.Date(), nullable=True),
        sa.Column("reconnection_fee", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("reduce_to_kva", sa.Numeric(8, 2), nullable=True),
        *_stamps(),
        sa.ForeignKeyConstraint(["agency_id"], ["core_agency.id"]),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rp_campaign")),
    )
    op.create_table(
        "rp_campaign_item",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("usage_point_id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=True),
        sa.Column("technician_id", sa.BigInteger(), nullable=True),
        sa.Column("sequence", sa.Integer(), nullable=True),
        sa.Column("work_order_id", sa.BigInteger(), nullable=True),
        sa.Column("remote_ref", sa.Text(), nullable=True),
        sa.Column("outcome", sa.Text(), server_default="pending", nullable=False),
        sa.Column("outcome_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["campaign_id"], ["rp_campaign.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["usage_point_id"], ["customer_usage_point.id"]),
        sa.ForeignKeyConstraint(["technician_id"], ["field_technician.id"]),
        sa.ForeignKeyConstraint(["work_order_id"], ["field_work_order.id"]),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rp_campaign_item")),
        sa.UniqueConstraint(
            "campaign_id", "usage_point_id", name="uq_rp_campaign_item_campaign_id"
        ),
    )
    op.create_index("ix_rp_campaign_item_campaign_id", "rp_campaign_item", ["campaign_id"])
    op.create_index("ix_rp_campaign_item_work_order_id", "rp_campaign_item", ["work_order_id"])


def downgrade() -> None:
    op.drop_table("rp_campaign_item")
    op.drop_table("rp_campaign")
    op.drop_table("rp_restoration")
    op.drop_table("rp_supply_hold")
    op.drop_table("rp_restoration_rule_set")
    op.drop_table("rp_ntl_case_step")
    op.drop_table("rp_ntl_case")
    op.drop_table("rp_assessment_rule_set")
    op.execute("DELETE FROM billing_invoice WHERE reason = 'back_billing'")
    _invoice_rules(_REASONS, "")
