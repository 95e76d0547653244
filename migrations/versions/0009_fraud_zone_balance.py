"""fraud: zone energy balances, zone loss models, the loss model's calibration, unmetered
loads

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from core.audit import enable_audit_sql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TABLES = (
    "fraud_zone_balance",
    "fraud_zone_loss_model",
    "fraud_loss_calibration",
    "fraud_unmetered_load",
)


def _timestamps() -> list[sa.Column]:
    return [
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
    ]


def _zone(table: str) -> list[sa.SchemaItem]:
    return [
        sa.Column("transformer_id", sa.BigInteger(), nullable=True),
        sa.Column("feeder_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "num_nonnulls(transformer_id, feeder_id) = 1", name=op.f(f"ck_{table}_one_zone")
        ),
        sa.ForeignKeyConstraint(
            ["transformer_id"],
            ["gis_power_transformer.id"],
            ondelete="CASCADE",
            name=op.f(f"fk_{table}_transformer_id_gis_power_transformer"),
        ),
        sa.ForeignKeyConstraint(
            ["feeder_id"],
            ["gis_feeder.id"],
            ondelete="CASCADE",
            name=op.f(f"fk_{table}_feeder_id_gis_feeder"),
        ),
    ]


def _zone_indexes(table: str) -> None:
    for column in ("transformer_id", "feeder_id"):
        op.create_index(op.f(f"ix_{table}_{column}"), table, [column])


def _kwh(name: str, nullable: bool) -> sa.Column:
    return sa.Column(name, sa.Numeric(16, 3), nullable=nullable)


def upgrade() -> None:
    table = "fraud_zone_balance"
    op.create_table(
        table,
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        *_zone(table),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        _kwh("energy_in_kwh", True),
        _kwh("metered_kwh", False),
        _kwh("estimated_kwh", False),
        sa.Column("usage_points", sa.Integer(), nullable=False),
        sa.Column("usage_points_unread", sa.Integer(), nullable=False),
        _kwh("unmetered_kwh", False),
        _kwh("technical_loss_kwh", True),
        sa.Column("loss_method", sa.Text(), nullable=True),
        _kwh("ntl_kwh", True),
        sa.Column("ntl_share", sa.Numeric(9, 6), nullable=True),
        sa.Column("analysable", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("threshold_share", sa.Numeric(9, 6), nullable=True),
        sa.Column("flagged", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        *_timestamps(),
        sa.CheckConstraint("period_end > period_start", name=op.f(f"ck_{table}_period")),
        sa.CheckConstraint("analysable = (reason IS NULL)", name=op.f(f"ck_{table}_reason")),
        sa.CheckConstraint("NOT analysable OR ntl_kwh IS NOT NULL", name=op.f(f"ck_{table}_ntl")),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    )
    _zone_indexes(table)
    op.create_index(
        "uq_fraud_zone_balance_zone_period",
        table,
        ["transformer_id", "feeder_id", "period_start"],
        unique=True,
        postgresql_nulls_not_distinct=True,
    )
    op.create_index("ix_fraud_zone_balance_period_start", table, ["period_start"])

    table = "fraud_zone_loss_model"
    op.create_table(
        table,
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        *_zone(table),
        sa.Column("method", sa.Text(), nullable=False),
        sa.Column("samples", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    )
    _zone_indexes(table)
    op.create_index(
        "uq_fraud_zone_loss_model_zone",
        table,
        ["transformer_id", "feeder_id"],
        unique=True,
        postgresql_nulls_not_distinct=True,
    )

    op.create_table(
        "fraud_loss_calibration",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("no_load_factor", sa.Float(), nullable=False),
        sa.Column("load_factor", sa.Float(), nullable=False),
        sa.Column("zones", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fraud_loss_calibration")),
    )

    table = "fraud_unmetered_load"
    op.create_table(
        table,
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        *_zone(table),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("load_kw", sa.Numeric(12, 3), nullable=False),
        sa.Column("hours_per_day", sa.Numeric(5, 2), nullable=False),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        *_timestamps(),
        sa.CheckConstraint("load_kw >= 0", name=op.f(f"ck_{table}_load")),
        sa.CheckConstraint(
            "hours_per_day >= 0 AND hours_per_day <= 24", name=op.f(f"ck_{table}_hours")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    )
    _zone_indexes(table)

    for name in TABLES:
        for statement in enable_audit_sql(name):
            op.execute(statement)


def downgrade() -> None:
    for name in reversed(TABLES):
        op.drop_table(name)
