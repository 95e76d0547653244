"""the audit log is append-only: UPDATE, DELETE and TRUNCATE of core_audit_log refused

Every business table already carries its three audit triggers (insert, update, delete;
checked from the catalogue by tests/core/test_audit.py), so none is added here.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 10:00:00
"""

from __future__ import annotations

from alembic import op

from core.audit import PROTECT_AUDIT_LOG_SQL, UNPROTECT_AUDIT_LOG_SQL

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for statement in PROTECT_AUDIT_LOG_SQL:
        op.execute(statement)


def downgrade() -> None:
    for statement in UNPROTECT_AUDIT_LOG_SQL:
        op.execute(statement)
