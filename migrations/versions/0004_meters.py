"""meters: assets, registers, installations, validation rule sets, readings (partitioned)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 01:53:21.381939
"""

from __future__ import annotations

import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from core.audit import enable_audit_sql
from meters.readings.rules import RuleParameters

METER_TABLES = (
    "meter_asset",
    "meter_register",
    "meter_installation",
    "meter_validation_rule_set",
    "meter_reading",
)

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    # Monthly partitions of meter_reading live in their own schema, out of autogenerate's way.
    op.execute("CREATE SCHEMA IF NOT EXISTS meter_reading_part")
    op.execute("CREATE SEQUENCE meter_reading_id_seq CACHE 1000")
    op.create_table(
        "meter_asset",
        sa.Column("serial", sa.Text(), nullable=False),
        sa.Column("make", sa.Text(), server_default="", nullable=False),
        sa.Column("model", sa.Text(), server_default="", nullable=False),
        sa.Column("meter_type", sa.Text(), nullable=False),
        sa.Column("dial_digits", sa.Integer(), server_default="5", nullable=False),
        sa.Column(
            "multiplier", sa.Numeric(precision=12, scale=4), server_default="1", nullable=False
        ),
        sa.Column("phases", sa.Integer(), server_default="1", nullable=False),
        sa.Column("status", sa.Text(), server_default="in_stock", nullable=False),
        sa.Column("stock_location", sa.Text(), nullable=True),
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
            "meter_type IN ('postpaid', 'prepaid', 'smart')", name=op.f("ck_meter_asset_meter_type")
        ),
        sa.CheckConstraint(
            "status IN ('in_stock', 'installed', 'removed', 'scrapped')",
            name=op.f("ck_meter_asset_status"),
        ),
        sa.CheckConstraint("dial_digits BETWEEN 3 AND 10", name=op.f("ck_meter_asset_dial_digits")),
        sa.CheckConstraint("multiplier > 0", name=op.f("ck_meter_asset_multiplier")),
        sa.CheckConstraint("phases IN (1, 3)", name=op.f("ck_meter_asset_phases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meter_asset")),
        sa.UniqueConstraint("serial", name=op.f("uq_meter_asset_serial")),
    )
    op.create_table(
        "meter_reading",
        sa.Column(
            "id",
            sa.BigInteger(),
            server_default=sa.text("nextval('meter_reading_id_seq')"),
            nullable=False,
        ),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("register_id", sa.BigInteger(), nullable=False),
        sa.Column("meter_id", sa.BigInteger(), nullable=False),
        sa.Column("installation_id", sa.BigInteger(), nullable=True),
        sa.Column("usage_point_id", sa.BigInteger(), nullable=True),
        sa.Column("value", sa.Numeric(precision=16, scale=3), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("quality", sa.Text(), server_default="actual", nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("reason_codes", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("rule_set_version", sa.Integer(), nullable=False),
        sa.Column("reader_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "gps",
            geoalchemy2.types.Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.Column("photo_sha256", sa.Text(), nullable=True),
        sa.Column("estimation_method", sa.Text(), nullable=True),
        sa.Column("superseded_by_id", sa.BigInteger(), nullable=True),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("import_job", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "photo_sha256 ~ '^[0-9a-f]{64}$'", name=op.f("ck_meter_reading_photo_sha256")
        ),
        sa.CheckConstraint(
            "source IN ('handheld', 'self_read', 'ami', 'estimated')",
            name=op.f("ck_meter_reading_source"),
        ),
        sa.CheckConstraint(
            "status IN ('accepted', 'flagged', 'rejected', 'superseded')",
            name=op.f("ck_meter_reading_status"),
        ),
        sa.UniqueConstraint(
            "register_id",
            "read_at",
            "source",
            name=op.f("uq_meter_reading_register_id_read_at_source"),
        ),
        postgresql_partition_by="RANGE (read_at)",
    )
    op.create_index(
        "ix_meter_reading_open_estimate",
        "meter_reading",
        ["register_id", "read_at"],
        unique=False,
        postgresql_where=sa.text("source = 'estimated' AND status IN ('accepted', 'flagged')"),
    )
    op.create_table(
        "meter_register",
        sa.Column("meter_id", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("unit", sa.Text(), server_default="kWh", nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["meter_id"],
            ["meter_asset.id"],
            name=op.f("fk_meter_register_meter_id_meter_asset"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meter_register")),
        sa.UniqueConstraint("meter_id", "code", name=op.f("uq_meter_register_meter_id_code")),
    )
    op.create_index(
        op.f("ix_meter_register_meter_id"), "meter_register", ["meter_id"], unique=False
    )
    op.create_table(
        "meter_validation_rule_set",
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), server_default="", nullable=False),
        sa.Column("parameters", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default="false", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["core_user.id"],
            name=op.f("fk_meter_validation_rule_set_created_by_core_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meter_validation_rule_set")),
        sa.UniqueConstraint("version", name=op.f("uq_meter_validation_rule_set_version")),
    )
    op.create_index(
        "uq_meter_validation_rule_set_active",
        "meter_validation_rule_set",
        ["is_active"],
        unique=True,
        postgresql_where=sa.text("is_active"),
    )
    op.create_table(
        "meter_installation",
        sa.Column("meter_id", sa.BigInteger(), nullable=False),
        sa.Column("usage_point_id", sa.BigInteger(), nullable=False),
        sa.Column("register_set", sa.Text(), server_default="main", nullable=False),
        sa.Column("installed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("start_indexes", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_indexes", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("replaces_installation_id", sa.BigInteger(), nullable=True),
        sa.Column("removal_reason", sa.Text(), nullable=True),
        sa.Column("installed_by", sa.BigInteger(), nullable=True),
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
            "register_set IN ('main', 'export', 'check')",
            name=op.f("ck_meter_installation_register_set"),
        ),
        sa.CheckConstraint(
            "(removed_at IS NULL) = (end_indexes IS NULL)",
            name=op.f("ck_meter_installation_end_index"),
        ),
        sa.CheckConstraint(
            "removed_at IS NULL OR removed_at > installed_at",
            name=op.f("ck_meter_installation_dates"),
        ),
        sa.ForeignKeyConstraint(
            ["installed_by"],
            ["core_user.id"],
            name=op.f("fk_meter_installation_installed_by_core_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["meter_id"],
            ["meter_asset.id"],
            name=op.f("fk_meter_installation_meter_id_meter_asset"),
        ),
        sa.ForeignKeyConstraint(
            ["replaces_installation_id"],
            ["meter_installation.id"],
            name=op.f("fk_meter_installation_replaces_installation_id_meter_installation"),
        ),
        sa.ForeignKeyConstraint(
            ["usage_point_id"],
            ["customer_usage_point.id"],
            name=op.f("fk_meter_installation_usage_point_id_customer_usage_point"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meter_installation")),
    )
    op.create_index(
        op.f("ix_meter_installation_meter_id"), "meter_installation", ["meter_id"], unique=False
    )
    op.create_index(
        op.f("ix_meter_installation_usage_point_id"),
        "meter_installation",
        ["usage_point_id"],
        unique=False,
    )
    # A meter is installed at most once at a time; a usage point has at most one meter per
    # register set at a time: exclusion constraints on [installed_at, removed_at).
    op.execute(
        "ALTER TABLE meter_installation ADD CONSTRAINT ex_meter_installation_meter "
        "EXCLUDE USING gist (meter_id WITH =, tstzrange(installed_at, removed_at, '[)') WITH &&)"
    )
    op.execute(
        "ALTER TABLE meter_installation ADD CONSTRAINT ex_meter_installation_usage_point "
        "EXCLUDE USING gist (usage_point_id WITH =, register_set WITH =, "
        "tstzrange(installed_at, removed_at, '[)') WITH &&)"
    )
    for table in METER_TABLES:
        for statement in enable_audit_sql(table):
            op.execute(statement)
    rule_sets = sa.table(
        "meter_validation_rule_set",
        sa.column("version", sa.Integer),
        sa.column("name", sa.Text),
        sa.column("parameters", postgresql.JSONB),
        sa.column("is_active", sa.Boolean),
    )
    op.bulk_insert(
        rule_sets,
        [
            {
                "version": 1,
                "name": "Initial rules",
                "is_active": True,
                "parameters": RuleParameters().model_dump(mode="json"),
            }
        ],
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_meter_installation_usage_point_id"), table_name="meter_installation")
    op.drop_index(op.f("ix_meter_installation_meter_id"), table_name="meter_installation")
    op.drop_table("meter_installation")
    op.drop_index(
        "uq_meter_validation_rule_set_active",
        table_name="meter_validation_rule_set",
        postgresql_where=sa.text("is_active"),
    )
    op.drop_table("meter_validation_rule_set")
    op.drop_index(op.f("ix_meter_register_meter_id"), table_name="meter_register")
    op.drop_table("meter_register")
    op.drop_index("ix_meter_reading_open_estimate", table_name="meter_reading")
    op.drop_table("meter_reading")
    op.drop_table("meter_asset")
    op.execute("DROP SEQUENCE IF EXISTS meter_reading_id_seq")
    op.execute("DROP SCHEMA IF EXISTS meter_reading_part CASCADE")
