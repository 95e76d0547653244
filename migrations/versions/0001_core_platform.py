"""core platform

Revision ID: 0001
Revises:
Create Date: 2026-11-25 01:33:59.703073
"""

from __future__ import annotations

import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from core.audit import CREATE_AUDIT_FUNCTIONS, enable_audit_sql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    for extension in ("postgis", "pg_trgm", "unaccent"):
        op.execute(f"CREATE EXTENSION IF NOT EXISTS {extension}")
    op.execute(CREATE_AUDIT_FUNCTIONS)
    op.create_table(
        "core_agency",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column(
            "territory",
            geoalchemy2.types.Geometry(
                geometry_type="MULTIPOLYGON",
                srid=4326,
                dimension=2,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                spatial_index=False,
            ),
            nullable=True,
        ),
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_agency")),
        sa.UniqueConstraint("code", name=op.f("uq_core_agency_code")),
    )
    op.create_index(
        "idx_core_agency_territory",
        "core_agency",
        ["territory"],
        unique=False,
        postgresql_using="gist",
    )
    op.create_table(
        "core_audit_log",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("request_id", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("table_name", sa.Text(), nullable=False),
        sa.Column("entity_key", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("before", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("after", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_audit_log")),
    )
    op.create_index(
        "ix_core_audit_log_entity",
        "core_audit_log",
        ["table_name", "entity_key", "id"],
        unique=False,
    )
    op.create_table(
        "core_login_attempt",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("client_address", sa.Text(), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_login_attempt")),
    )
    op.create_index(
        "ix_core_login_attempt_client_at",
        "core_login_attempt",
        ["client_address", "at"],
        unique=False,
    )
    op.create_index(
        "ix_core_login_attempt_username_at", "core_login_attempt", ["username", "at"], unique=False
    )
    op.create_table(
        "core_outbox_event",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_outbox_event")),
    )
    op.create_index(
        op.f("ix_core_outbox_event_dispatched_at"),
        "core_outbox_event",
        ["dispatched_at"],
        unique=False,
    )
    op.create_index(op.f("ix_core_outbox_event_name"), "core_outbox_event", ["name"], unique=False)
    op.create_table(
        "core_event_delivery",
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("handler", sa.Text(), nullable=False),
        sa.Column(
            "handled_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["core_outbox_event.id"],
            name=op.f("fk_core_event_delivery_event_id_core_outbox_event"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("event_id", "handler", name=op.f("pk_core_event_delivery")),
    )
    op.create_table(
        "core_user",
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("full_name", sa.Text(), server_default="", nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("roles", sa.ARRAY(sa.Text()), nullable=False),
        sa.Column("agency_id", sa.BigInteger(), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
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
        sa.ForeignKeyConstraint(
            ["agency_id"], ["core_agency.id"], name=op.f("fk_core_user_agency_id_core_agency")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_user")),
    )
    op.create_index(
        "uq_core_user_username_lower", "core_user", [sa.text("lower(username)")], unique=True
    )
    for table in ("core_agency", "core_user"):
        for statement in enable_audit_sql(table):
            op.execute(statement)


def downgrade() -> None:
    op.drop_index("uq_core_user_username_lower", table_name="core_user")
    op.drop_table("core_user")
    op.drop_table("core_event_delivery")
    op.drop_index(op.f("ix_core_outbox_event_name"), table_name="core_outbox_event")
    op.drop_index(op.f("ix_core_outbox_event_dispatched_at"), table_name="core_outbox_event")
    op.drop_table("core_outbox_event")
    op.drop_index("ix_core_login_attempt_username_at", table_name="core_login_attempt")
    op.drop_index("ix_core_login_attempt_client_at", table_name="core_login_attempt")
    op.drop_table("core_login_attempt")
    op.drop_index("ix_core_audit_log_entity", table_name="core_audit_log")
    op.drop_table("core_audit_log")
    op.drop_index("idx_core_agency_territory", table_name="core_agency", postgresql_using="gist")
    op.drop_table("core_agency")
    op.execute("DROP FUNCTION IF EXISTS core_audit_statement, core_audit_diff, core_audit_mask")
