"""data migration: runs, the legacy key map and parked rows (issue 9)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from core.audit import enable_audit_sql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TABLES = ("core_migration_run", "core_migration_key", "core_migration_parked")


def upgrade() -> None:
    op.create_table(
        "core_migration_run",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("partial", sa.Boolean(), nullable=False),
        sa.Column("source_name", sa.Text(), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "started_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("progress", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("report", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["core_user.id"],
            ondelete="SET NULL",
            name=op.f("fk_core_migration_run_actor_id_core_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_migration_run")),
    )
    op.create_table(
        "core_migration_key",
        sa.Column("entity", sa.Text(), nullable=False),
        sa.Column("external_key", sa.Text(), nullable=False),
        sa.Column("kilowatch_id", sa.BigInteger(), nullable=False),
        sa.Column("run_id", sa.BigInteger(), nullable=True),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["core_migration_run.id"],
            ondelete="SET NULL",
            name=op.f("fk_core_migration_key_run_id_core_migration_run"),
        ),
        sa.PrimaryKeyConstraint("entity", "external_key", name=op.f("pk_core_migration_key")),
        sa.UniqueConstraint("id", name=op.f("uq_core_migration_key_id")),
    )
    op.create_index(
        op.f("ix_core_migration_key_run_id"), "core_migration_key", ["run_id"], unique=False
    )
    op.create_index(
        "ix_core_migration_key_entity_kilowatch_id",
        "core_migration_key",
        ["entity", "kilowatch_id"],
        unique=False,
    )
    op.create_table(
        "core_migration_parked",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.Column("entity", sa.Text(), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("problems", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["core_migration_run.id"],
            ondelete="CASCADE",
            name=op.f("fk_core_migration_parked_run_id_core_migration_run"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_migration_parked")),
    )
    op.create_index(
        op.f("ix_core_migration_parked_run_id"), "core_migration_parked", ["run_id"], unique=False
    )
    for table in TABLES:
        for statement in enable_audit_sql(table):
            op.execute(statement)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
