"""billing: tariffs and their dated versions (a version is never edited)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from core.audit import enable_audit_sql

TARIFF_TABLES = ("billing_tariff", "billing_tariff_version")

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# What was in force must stay what was in force: issued bills are re-rated with it.
FROZEN_VERSION_SQL = [
    """
    CREATE FUNCTION billing_tariff_version_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'a tariff version is never edited: publish a new version'
            USING ERRCODE = 'integrity_constraint_violation',
                  CONSTRAINT = 'billing_tariff_version_frozen';
    END $$
    """,
    "CREATE TRIGGER frozen BEFORE UPDATE OF tariff_id, version, effective_from, definition "
    "ON billing_tariff_version FOR EACH ROW EXECUTE FUNCTION billing_tariff_version_frozen()",
]


def upgrade() -> None:
    op.create_table(
        "billing_tariff",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
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
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f("ck_billing_tariff_currency_iso")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_tariff")),
        sa.UniqueConstraint("code", name=op.f("uq_billing_tariff_code")),
    )
    op.create_table(
        "billing_tariff_version",
        sa.Column("tariff_id", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("definition", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.CheckConstraint("version >= 1", name=op.f("ck_billing_tariff_version_version_positive")),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["core_user.id"],
            name=op.f("fk_billing_tariff_version_created_by_core_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["tariff_id"],
            ["billing_tariff.id"],
            name=op.f("fk_billing_tariff_version_tariff_id_billing_tariff"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_tariff_version")),
        sa.UniqueConstraint(
            "tariff_id",
            "effective_from",
            name=op.f("uq_billing_tariff_version_tariff_id_effective_from"),
        ),
        sa.UniqueConstraint(
            "tariff_id", "version", name=op.f("uq_billing_tariff_version_tariff_id_version")
        ),
    )
    op.create_index(
        op.f("ix_billing_tariff_version_tariff_id"), "billing_tariff_version", ["tariff_id"]
    )
    for statement in FROZEN_VERSION_SQL:
        op.execute(statement)
    for table in TARIFF_TABLES:
        for statement in enable_audit_sql(table):
            op.execute(statement)


def downgrade() -> None:
    op.drop_table("billing_tariff_version")
    op.execute("DROP FUNCTION billing_tariff_version_frozen()")
    op.drop_table("billing_tariff")
