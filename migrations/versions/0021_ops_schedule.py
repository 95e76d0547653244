"""core: scheduled jobs as data (jobs and their runs, seeded with the utility's calendar)
and background report exports

Revision ID: 0021
Revises: 0020

Jobs whose task does not exist yet (the reading-cycle and cycle-billing preparers are
still to come) are seeded paused: an admin resumes them once the
task is registered; a run of an unregistered task is recorded as failed, never silently lost.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

# name, task, cron (local time), args, kwargs, enabled, description
JOBS = [
    (
        "reading_cycle_preparation",
        "field.prepare_reading_cycles",
        "0 4 20 * *",
        [],
        {},
        False,
        "Prepare next month's reading rounds for every cycle",
    ),
    (
        "billing_runs_by_cycle",
        "billing.open_cycle_runs",
        "0 5 1 * *",
        ["@previous_month"],
        {},
        False,
        "Open and simulate the month's billing run of each reading cycle",
    ),
    (
        "dunning_advance",
        "billing.advance_collections",
        "30 6 * * *",
        [],
        {},
        True,
        "Move overdue accounts to their next dunning step",
    ),
    (
        "zone_balances",
        "fraud.compute_balances",
        "0 2 3 * *",
        ["@previous_month", "@previous_month"],
        {},
        True,
        "Energy balance of every feeder and transformer zone for the month just closed",
    ),
    (
        "fraud_scoring",
        "fraud.score_network",
        "0 3 3 * *",
        ["@previous_month"],
        {},
        True,
        "Score every usage point for the month just closed and open the flags",
    ),
    (
        "monthly_reports",
        "core.build_scheduled_reports",
        "0 7 5 * *",
        ["@previous_month"],
        {},
        False,
        "Build the regulator's monthly indicators and the management reports",
    ),
    (
        "final_bill_sweep",
        "billing.issue_pending_final_bills",
        "*/30 * * * *",
        [],
        {},
        True,
        "Issue the final bills of contracts ended since the last sweep",
    ),
    (
        "invoice_delivery_sweep",
        "billing.deliver_pending_invoices",
        "*/15 * * * *",
        [],
        {},
        True,
        "Send issued invoices not yet delivered (e-mail, SMS)",
    ),
    (
        "case_sla_breaches",
        "customers.flag_breached_cases",
        "0 * * * *",
        [],
        {},
        True,
        "Mark the cases past their SLA",
    ),
]


def upgrade() -> None:
    job = op.create_table(
        "core_scheduled_job",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("task", sa.Text(), nullable=False),
        sa.Column("args", postgresql.JSONB(), server_default="[]", nullable=False),
        sa.Column("kwargs", postgresql.JSONB(), server_default="{}", nullable=False),
        sa.Column("cron", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_scheduled_job")),
        sa.UniqueConstraint("name", name=op.f("uq_core_scheduled_job_name")),
    )
    op.create_index(
        op.f("ix_core_scheduled_job_next_run_at"), "core_scheduled_job", ["next_run_at"]
    )
    op.create_table(
        "core_scheduled_job_run",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("job_id", sa.BigInteger(), nullable=False),
        sa.Column("trigger", sa.Text(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "queued_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.Text(), server_default="queued", nullable=False),
        sa.Column("output", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["core_scheduled_job.id"],
            ondelete="CASCADE",
            name=op.f("fk_core_scheduled_job_run_job_id_core_scheduled_job"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_scheduled_job_run")),
    )
    op.create_index(op.f("ix_core_scheduled_job_run_job_id"), "core_scheduled_job_run", ["job_id"])
    op.create_table(
        "core_report_export",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("report", sa.Text(), nullable=False),
        sa.Column("filters", postgresql.JSONB(), nullable=False),
        sa.Column("format", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default="queued", nullable=False),
        sa.Column("progress", sa.Integer(), server_default="0", nullable=False),
        sa.Column("rows", sa.Integer(), nullable=True),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.Text(), nullable=False),
        sa.Column("requested_by_id", sa.BigInteger(), nullable=True),
        sa.Column("territory_agency_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_report_export")),
    )
    # The seed's first runs come at their next firing; cron arithmetic is the app's own.
    from core.scheduling.cron import next_after

    now = datetime.now(UTC)
    op.bulk_insert(
        job,
        [
            {
                "name": name,
                "task": task,
                "cron": rule,
                "args": args,
                "kwargs": kwargs,
                "enabled": enabled,
                "description": text,
                "next_run_at": next_after(rule, now),
            }
            for name, task, rule, args, kwargs, enabled, text in JOBS
        ],
    )


def downgrade() -> None:
    op.drop_table("core_report_export")
    op.drop_table("core_scheduled_job_run")
    op.drop_table("core_scheduled_job")
