"""core: the audit trigger on the business tables of this batch that lacked it

Revision ID: 0023
Revises: 0022

Dunning steps done, interest charged, plan instalments and steps, write-off recoveries,
connection-request and NTL-case steps, and scheduled jobs (an admin's changes) leave audit
rows like every other business table. The tables that stay unaudited are listed, with the
reason, in ``core.audit.UNAUDITED_TABLES``.
"""

from __future__ import annotations

from alembic import op

from core.audit import enable_audit_sql

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

AUDITED = (
    "collection_action",
    "collection_interest",
    "collection_plan_instalment",
    "collection_plan_transition",
    "collection_write_off_recovery",
    "connection_request_step",
    "rp_ntl_case_step",
    "core_scheduled_job",
)


def upgrade() -> None:
    for table in AUDITED:
        for statement in enable_audit_sql(table):
            op.execute(statement)


def downgrade() -> None:
    for table in AUDITED:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS audit_{event} ON {table}")
