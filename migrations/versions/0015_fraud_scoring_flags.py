"""fraud: model registry, score runs and scores, flags with their history, labels; the
demo ground truth's harder attack types

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 06:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from core.audit import enable_audit_sql

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

TABLES = (
    "fraud_model_version",
    "fraud_score_run",
    "fraud_score",
    "fraud_flag",
    "fraud_flag_status_change",
    "fraud_label",
)
OLD_ATTACKS = "'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'bypass', 'meter_stopped', 'meter_reversed'"
NEW_ATTACKS = OLD_ATTACKS + ", 'partial_bypass', 'intermittent', 'seasonal'"


def _now(name: str) -> sa.Column:
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def _usage_point(table: str, nullable: bool = False) -> list[sa.SchemaItem]:
    return [
        sa.Column("usage_point_id", sa.BigInteger(), nullable=nullable),
        sa.ForeignKeyConstraint(
            ["usage_point_id"],
            ["customer_usage_point.id"],
            ondelete="CASCADE",
            name=op.f(f"fk_{table}_usage_point_id_customer_usage_point"),
        ),
    ]


def upgrade() -> None:
    jsonb = postgresql.JSONB(astext_type=sa.Text())
    t = "fraud_model_version"
    op.create_table(
        t,
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("artefact", sa.LargeBinary(), nullable=False),
        sa.Column("artefact_sha256", sa.Text(), nullable=False),
        sa.Column("training_hash", sa.Text(), nullable=False),
        sa.Column("training_rows", sa.Integer(), nullable=False),
        sa.Column("training_positives", sa.Integer(), server_default="0", nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("features", jsonb, nullable=False),
        sa.Column("parameters", jsonb, nullable=False),
        sa.Column("metrics", jsonb, nullable=False),
        sa.Column("trained_by", sa.Text(), nullable=False),
        _now("trained_at"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
    )
    op.create_index("uq_fraud_model_version_kind_version", t, ["kind", "version"], unique=True)

    t = "fraud_score_run"
    op.create_table(
        t,
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("period", sa.Date(), nullable=False),
        sa.Column("models", jsonb, nullable=False),
        sa.Column("rules", jsonb, nullable=False),
        sa.Column("usage_points", sa.Integer(), nullable=False),
        sa.Column("selected", sa.Integer(), nullable=False),
        sa.Column("seconds", jsonb, nullable=False),
        sa.Column("started_by", sa.Text(), nullable=False),
        _now("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
    )
    op.create_index(op.f(f"ix_{t}_period"), t, ["period"])

    t = "fraud_score"
    op.create_table(
        t,
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        *_usage_point(t),
        sa.Column("anomaly", sa.Float(), nullable=False),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("zone_factor", sa.Float(), nullable=False),
        sa.Column("recoverable_kwh", sa.Float(), nullable=False),
        sa.Column("priority_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("selection", sa.Text(), nullable=True),
        sa.Column("reasons", jsonb, nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["fraud_score_run.id"],
            ondelete="CASCADE",
            name=op.f(f"fk_{t}_run_id_fraud_score_run"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
    )
    op.create_index("uq_fraud_score_run_usage_point", t, ["run_id", "usage_point_id"], unique=True)
    op.create_index("ix_fraud_score_run_rank", t, ["run_id", "rank"])
    op.create_index(op.f(f"ix_{t}_usage_point_id"), t, ["usage_point_id"])

    t = "fraud_flag"
    op.create_table(
        t,
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        *_usage_point(t),
        sa.Column("score_id", sa.BigInteger(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default="new", nullable=False),
        sa.Column("period", sa.Date(), nullable=True),
        sa.Column("priority_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("probability", sa.Float(), nullable=True),
        sa.Column("reasons", jsonb, nullable=False),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column("assignee", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        _now("created_at"),
        _now("updated_at"),
        sa.ForeignKeyConstraint(
            ["score_id"],
            ["fraud_score.id"],
            ondelete="SET NULL",
            name=op.f(f"fk_{t}_score_id_fraud_score"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
    )
    op.create_index(
        "uq_fraud_flag_open_usage_point",
        t,
        ["usage_point_id"],
        unique=True,
        postgresql_where=sa.text("status NOT IN ('confirmed', 'dismissed')"),
    )
    op.create_index("ix_fraud_flag_status_priority", t, ["status", "priority_minor"])
    op.create_index(op.f(f"ix_{t}_usage_point_id"), t, ["usage_point_id"])

    t = "fraud_flag_status_change"
    op.create_table(
        t,
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("flag_id", sa.BigInteger(), nullable=False),
        sa.Column("event", sa.Text(), nullable=False),
        sa.Column("from_status", sa.Text(), nullable=True),
        sa.Column("to_status", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column("details", jsonb, server_default="{}", nullable=False),
        _now("at"),
        sa.ForeignKeyConstraint(
            ["flag_id"],
            ["fraud_flag.id"],
            ondelete="CASCADE",
            name=op.f(f"fk_{t}_flag_id_fraud_flag"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
    )
    op.create_index(op.f(f"ix_{t}_flag_id"), t, ["flag_id"])

    t = "fraud_label"
    op.create_table(
        t,
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        *_usage_point(t),
        sa.Column("inspected_on", sa.Date(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), server_default="", nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("flag_id", sa.BigInteger(), nullable=True),
        _now("created_at"),
        _now("updated_at"),
        sa.CheckConstraint(
            "outcome IN ('fraud', 'no_fraud', 'irregularity')", name=op.f(f"ck_{t}_outcome")
        ),
        sa.ForeignKeyConstraint(
            ["flag_id"],
            ["fraud_flag.id"],
            ondelete="SET NULL",
            name=op.f(f"fk_{t}_flag_id_fraud_flag"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
    )
    op.create_index(
        "uq_fraud_label_usage_point_day_kind",
        t,
        ["usage_point_id", "inspected_on", "kind"],
        unique=True,
    )
    op.create_index(op.f(f"ix_{t}_usage_point_id"), t, ["usage_point_id"])

    for name in TABLES:
        for statement in enable_audit_sql(name):
            op.execute(statement)
    _attacks(NEW_ATTACKS)


def _attacks(names: str) -> None:
    op.drop_constraint(op.f("ck_demo_ground_truth_attack"), "demo_ground_truth", type_="check")
    op.create_check_constraint(
        op.f("ck_demo_ground_truth_attack"),
        "demo_ground_truth",
        f"attack IS NULL OR attack IN ({names})",
    )


def downgrade() -> None:
    _attacks(OLD_ATTACKS)
    for name in reversed(TABLES):
        op.drop_table(name)
