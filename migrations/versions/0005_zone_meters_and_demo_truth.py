"""zone meters (at transformers and feeder heads) and the demo utility's ground truth

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 03:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from core.audit import enable_audit_sql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLES = ("meter_zone_installation", "demo_batch", "demo_ground_truth")
_PERIOD = "tstzrange(installed_at, removed_at, '[)')"


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


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.create_table(
        "meter_zone_installation",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("meter_id", sa.BigInteger(), nullable=False),
        sa.Column("transformer_id", sa.BigInteger(), nullable=True),
        sa.Column("feeder_id", sa.BigInteger(), nullable=True),
        sa.Column("installed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        *_timestamps(),
        sa.CheckConstraint(
            "num_nonnulls(transformer_id, feeder_id) = 1",
            name=op.f("ck_meter_zone_installation_one_zone"),
        ),
        sa.CheckConstraint(
            "removed_at IS NULL OR removed_at > installed_at",
            name=op.f("ck_meter_zone_installation_dates"),
        ),
        sa.ForeignKeyConstraint(
            ["meter_id"],
            ["meter_asset.id"],
            name=op.f("fk_meter_zone_installation_meter_id_meter_asset"),
        ),
        sa.ForeignKeyConstraint(
            ["transformer_id"],
            ["gis_power_transformer.id"],
            ondelete="CASCADE",
            name=op.f("fk_meter_zone_installation_transformer_id_gis_power_transformer"),
        ),
        sa.ForeignKeyConstraint(
            ["feeder_id"],
            ["gis_feeder.id"],
            ondelete="CASCADE",
            name=op.f("fk_meter_zone_installation_feeder_id_gis_feeder"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meter_zone_installation")),
    )
    for column in ("meter_id", "transformer_id", "feeder_id"):
        op.create_index(
            op.f(f"ix_meter_zone_installation_{column}"), "meter_zone_installation", [column]
        )
    op.execute(
        "ALTER TABLE meter_zone_installation ADD CONSTRAINT ex_meter_zone_installation_meter "
        f"EXCLUDE USING gist (meter_id WITH =, {_PERIOD} WITH &&)"
    )
    for zone in ("transformer", "feeder"):
        op.execute(
            f"ALTER TABLE meter_zone_installation ADD CONSTRAINT ex_meter_zone_installation_{zone} "
            f"EXCLUDE USING gist ({zone}_id WITH =, {_PERIOD} WITH &&) "
            f"WHERE ({zone}_id IS NOT NULL)"
        )

    op.create_table(
        "demo_batch",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.Column("service_points", sa.Integer(), nullable=False),
        sa.Column("network_prefix", sa.Text(), nullable=False),
        sa.Column("first_month", sa.Date(), nullable=False),
        sa.Column("months", sa.Integer(), nullable=False),
        sa.Column(
            "counts", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column(
            "seconds", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_demo_batch")),
        sa.UniqueConstraint("seed", name=op.f("uq_demo_batch_seed")),
    )

    kwh = postgresql.ARRAY(sa.Numeric(14, 3))
    op.create_table(
        "demo_ground_truth",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("batch_id", sa.BigInteger(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("usage_point_id", sa.BigInteger(), nullable=True),
        sa.Column("transformer_id", sa.BigInteger(), nullable=True),
        sa.Column("feeder_id", sa.BigInteger(), nullable=True),
        sa.Column("meter_id", sa.BigInteger(), nullable=True),
        sa.Column("category", sa.Text(), nullable=True),
        sa.Column("true_kwh", kwh, nullable=False),
        sa.Column("metered_kwh", kwh, nullable=False),
        sa.Column("loss_kwh", kwh, nullable=True),
        sa.Column("attack", sa.Text(), nullable=True),
        sa.Column("attack_from", sa.Date(), nullable=True),
        sa.Column("attack_to", sa.Date(), nullable=True),
        sa.Column("attack_parameters", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "missing_read_months",
            postgresql.ARRAY(sa.SmallInteger()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column(
            "events", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.CheckConstraint(
            "subject IN ('usage_point', 'transformer', 'feeder')",
            name=op.f("ck_demo_ground_truth_subject"),
        ),
        sa.CheckConstraint(
            "attack IS NULL OR attack IN ('h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'bypass', "
            "'meter_stopped', 'meter_reversed')",
            name=op.f("ck_demo_ground_truth_attack"),
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["demo_batch.id"],
            ondelete="CASCADE",
            name=op.f("fk_demo_ground_truth_batch_id_demo_batch"),
        ),
        sa.ForeignKeyConstraint(
            ["usage_point_id"],
            ["customer_usage_point.id"],
            ondelete="CASCADE",
            name=op.f("fk_demo_ground_truth_usage_point_id_customer_usage_point"),
        ),
        sa.ForeignKeyConstraint(
            ["transformer_id"],
            ["gis_power_transformer.id"],
            ondelete="CASCADE",
            name=op.f("fk_demo_ground_truth_transformer_id_gis_power_transformer"),
        ),
        sa.ForeignKeyConstraint(
            ["feeder_id"],
            ["gis_feeder.id"],
            ondelete="CASCADE",
            name=op.f("fk_demo_ground_truth_feeder_id_gis_feeder"),
        ),
        sa.ForeignKeyConstraint(
            ["meter_id"],
            ["meter_asset.id"],
            ondelete="CASCADE",
            name=op.f("fk_demo_ground_truth_meter_id_meter_asset"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_demo_ground_truth")),
    )
    op.create_index(
        "ix_demo_ground_truth_batch_subject", "demo_ground_truth", ["batch_id", "subject"]
    )
    for column in ("usage_point_id", "transformer_id", "feeder_id"):
        op.create_index(op.f(f"ix_demo_ground_truth_{column}"), "demo_ground_truth", [column])
    for table in TABLES:
        for statement in enable_audit_sql(table):
            op.execute(statement)


def downgrade() -> None:
    op.drop_table("demo_ground_truth")
    op.drop_table("demo_batch")
    op.drop_table("meter_zone_installation")
