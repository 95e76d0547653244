"""field: teams and technicians, reading cycles and rounds, work orders with their
history, seals with their events, and the per-technician change versions for sync

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 06:14:20.151890
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from core.audit import enable_audit_sql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


AUDITED = (
    "field_team",
    "field_technician",
    "field_assignment_release",
    "field_reading_cycle",
    "field_reading_cycle_member",
    "field_reading_round",
    "field_round_item",
    "field_work_order",
    "field_work_order_transition",
    "field_seal_batch",
    "field_seal",
    "field_seal_event",
)
# Change versions (field.models): a per-technician counter, drawn by a trigger on every
# insert and update of the three synced tables; a row leaving a technician leaves a release.
CHANGE_VERSION_SQL = """
CREATE OR REPLACE FUNCTION field_next_version(p_technician bigint) RETURNS bigint
LANGUAGE sql AS $$
  INSERT INTO field_sync_counter AS c (technician_id, version) VALUES (p_technician, 1)
  ON CONFLICT (technician_id) DO UPDATE SET version = c.version + 1
  RETURNING version
$$;

CREATE OR REPLACE FUNCTION field_stamp_change_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND OLD.technician_id IS NOT NULL
     AND OLD.technician_id IS DISTINCT FROM NEW.technician_id THEN
    INSERT INTO field_assignment_release (technician_id, kind, object_id, change_version)
    VALUES (OLD.technician_id, TG_ARGV[0], OLD.id, field_next_version(OLD.technician_id));
  END IF;
  IF NEW.technician_id IS NOT NULL THEN
    NEW.change_version := field_next_version(NEW.technician_id);
  END IF;
  RETURN NEW;
END $$;
"""

SYNCED_TABLES = {
    "field_round_item": "round_item",
    "field_work_order": "work_order",
    "field_seal": "seal",
}


def change_version_trigger_sql(table: str) -> str:
    return (
        f"CREATE TRIGGER {table}_change_version BEFORE INSERT OR UPDATE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION field_stamp_change_version('{SYNCED_TABLES[table]}')"
    )


SEQUENCES = ("field_work_order_number_seq", "field_reading_round_code_seq")


def upgrade() -> None:
    for sequence in SEQUENCES:
        op.execute(f"CREATE SEQUENCE {sequence}")
    op.create_table(
        "field_reading_cycle",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), server_default="", nullable=False),
        sa.Column("agency_id", sa.BigInteger(), nullable=True),
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
            ["agency_id"],
            ["core_agency.id"],
            name=op.f("fk_field_reading_cycle_agency_id_core_agency"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_field_reading_cycle")),
        sa.UniqueConstraint("code", name=op.f("uq_field_reading_cycle_code")),
    )
    op.create_index(
        op.f("ix_field_reading_cycle_agency_id"), "field_reading_cycle", ["agency_id"], unique=False
    )
    op.create_table(
        "field_seal_batch",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("prefix", sa.Text(), server_default="", nullable=False),
        sa.Column("first_number", sa.BigInteger(), nullable=False),
        sa.Column("last_number", sa.BigInteger(), nullable=False),
        sa.Column("digits", sa.Integer(), server_default="7", nullable=False),
        sa.Column("agency_id", sa.BigInteger(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
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
        sa.CheckConstraint("last_number >= first_number", name=op.f("ck_field_seal_batch_range")),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["core_agency.id"],
            name=op.f("fk_field_seal_batch_agency_id_core_agency"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_field_seal_batch")),
        sa.UniqueConstraint("code", name=op.f("uq_field_seal_batch_code")),
    )
    op.create_index(
        op.f("ix_field_seal_batch_agency_id"), "field_seal_batch", ["agency_id"], unique=False
    )
    op.create_table(
        "field_team",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("agency_id", sa.BigInteger(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
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
            ["agency_id"], ["core_agency.id"], name=op.f("fk_field_team_agency_id_core_agency")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_field_team")),
        sa.UniqueConstraint("code", name=op.f("uq_field_team_code")),
    )
    op.create_index(op.f("ix_field_team_agency_id"), "field_team", ["agency_id"], unique=False)
    op.create_table(
        "field_technician",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("agency_id", sa.BigInteger(), nullable=True),
        sa.Column("team_id", sa.BigInteger(), nullable=True),
        sa.Column("full_name", sa.Text(), server_default="", nullable=False),
        sa.Column("skills", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column(
            "working_days",
            postgresql.ARRAY(sa.Integer()),
            server_default="{1,2,3,4,5}",
            nullable=False,
        ),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
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
            "working_days <@ ARRAY[1,2,3,4,5,6,7]", name=op.f("ck_field_technician_working_days")
        ),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["core_agency.id"],
            name=op.f("fk_field_technician_agency_id_core_agency"),
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["field_team.id"], name=op.f("fk_field_technician_team_id_field_team")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["core_user.id"], name=op.f("fk_field_technician_user_id_core_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_field_technician")),
        sa.UniqueConstraint("code", name=op.f("uq_field_technician_code")),
        sa.UniqueConstraint("user_id", name=op.f("uq_field_technician_user_id")),
    )
    op.create_index(
        op.f("ix_field_technician_agency_id"), "field_technician", ["agency_id"], unique=False
    )
    op.create_index(
        op.f("ix_field_technician_team_id"), "field_technician", ["team_id"], unique=False
    )
    op.create_table(
        "field_assignment_release",
        sa.Column("technician_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("object_id", sa.BigInteger(), nullable=False),
        sa.Column("change_version", sa.BigInteger(), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["technician_id"],
            ["field_technician.id"],
            name=op.f("fk_field_assignment_release_technician_id_field_technician"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_field_assignment_release")),
    )
    op.create_index(
        "ix_field_assignment_release_tech",
        "field_assignment_release",
        ["technician_id", "change_version"],
        unique=False,
    )
    op.create_table(
        "field_reading_round",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), server_default="", nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("agency_id", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.Text(), server_default="draft", nullable=False),
        sa.Column("technician_id", sa.BigInteger(), nullable=True),
        sa.Column("selection", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("route_version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("route_length_m", sa.Float(), server_default="0", nullable=False),
        sa.Column("ordering", sa.Text(), server_default="ortools", nullable=False),
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
            "status IN ('draft', 'assigned', 'closed')", name=op.f("ck_field_reading_round_status")
        ),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["core_agency.id"],
            name=op.f("fk_field_reading_round_agency_id_core_agency"),
        ),
        sa.ForeignKeyConstraint(
            ["technician_id"],
            ["field_technician.id"],
            name=op.f("fk_field_reading_round_technician_id_field_technician"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_field_reading_round")),
        sa.UniqueConstraint("code", name=op.f("uq_field_reading_round_code")),
    )
    op.create_index(
        op.f("ix_field_reading_round_agency_id"), "field_reading_round", ["agency_id"], unique=False
    )
    op.create_index(
        op.f("ix_field_reading_round_period_start"),
        "field_reading_round",
        ["period_start"],
        unique=False,
    )
    op.create_index(
        op.f("ix_field_reading_round_technician_id"),
        "field_reading_round",
        ["technician_id"],
        unique=False,
    )
    op.create_table(
        "field_sync_counter",
        sa.Column("technician_id", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["technician_id"],
            ["field_technician.id"],
            name=op.f("fk_field_sync_counter_technician_id_field_technician"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("technician_id", name=op.f("pk_field_sync_counter")),
    )
    op.create_table(
        "field_reading_cycle_member",
        sa.Column("cycle_id", sa.BigInteger(), nullable=False),
        sa.Column("usage_point_id", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["cycle_id"],
            ["field_reading_cycle.id"],
            name=op.f("fk_field_reading_cycle_member_cycle_id_field_reading_cycle"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["usage_point_id"],
            ["customer_usage_point.id"],
            name=op.f("fk_field_reading_cycle_member_usage_point_id_customer_usage_point"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_field_reading_cycle_member")),
        sa.UniqueConstraint(
            "usage_point_id", name=op.f("uq_field_reading_cycle_member_usage_point_id")
        ),
    )
    op.create_index(
        op.f("ix_field_reading_cycle_member_cycle_id"),
        "field_reading_cycle_member",
        ["cycle_id"],
        unique=False,
    )
    op.create_table(
        "field_round_item",
        sa.Column("round_id", sa.BigInteger(), nullable=False),
        sa.Column("usage_point_id", sa.BigInteger(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("meter_id", sa.BigInteger(), nullable=True),
        sa.Column("meter_serial", sa.Text(), nullable=True),
        sa.Column(
            "expected", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("access_notes", sa.Text(), nullable=True),
        sa.Column("technician_id", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.Text(), server_default="pending", nullable=False),
        sa.Column("skip_code", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("visited_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("visited_by", sa.BigInteger(), nullable=True),
        sa.Column(
            "reading_ids", postgresql.ARRAY(sa.BigInteger()), server_default="{}", nullable=False
        ),
        sa.Column("reading_status", sa.Text(), nullable=True),
        sa.Column("gps_lon", sa.Float(), nullable=True),
        sa.Column("gps_lat", sa.Float(), nullable=True),
        sa.Column("gps_accuracy_m", sa.Float(), nullable=True),
        sa.Column("change_version", sa.BigInteger(), server_default="0", nullable=False),
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
            "(status = 'skipped') = (skip_code IS NOT NULL)",
            name=op.f("ck_field_round_item_skip_code"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'read', 'skipped')", name=op.f("ck_field_round_item_status")
        ),
        sa.ForeignKeyConstraint(
            ["meter_id"], ["meter_asset.id"], name=op.f("fk_field_round_item_meter_id_meter_asset")
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["field_reading_round.id"],
            name=op.f("fk_field_round_item_round_id_field_reading_round"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["technician_id"],
            ["field_technician.id"],
            name=op.f("fk_field_round_item_technician_id_field_technician"),
        ),
        sa.ForeignKeyConstraint(
            ["usage_point_id"],
            ["customer_usage_point.id"],
            name=op.f("fk_field_round_item_usage_point_id_customer_usage_point"),
        ),
        sa.ForeignKeyConstraint(
            ["visited_by"],
            ["field_technician.id"],
            name=op.f("fk_field_round_item_visited_by_field_technician"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_field_round_item")),
        sa.UniqueConstraint(
            "round_id",
            "sequence",
            deferrable=True,
            initially="DEFERRED",
            name=op.f("uq_field_round_item_round_id_sequence"),
        ),
        sa.UniqueConstraint(
            "round_id", "usage_point_id", name=op.f("uq_field_round_item_round_id_usage_point_id")
        ),
    )
    op.create_index(
        op.f("ix_field_round_item_round_id"), "field_round_item", ["round_id"], unique=False
    )
    op.create_index(
        "ix_field_round_item_tech_version",
        "field_round_item",
        ["technician_id", "change_version"],
        unique=False,
    )
    op.create_index(
        op.f("ix_field_round_item_usage_point_id"),
        "field_round_item",
        ["usage_point_id"],
        unique=False,
    )
    op.create_table(
        "field_seal",
        sa.Column("number", sa.Text(), nullable=False),
        sa.Column("batch_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default="in_stock", nullable=False),
        sa.Column("agency_id", sa.BigInteger(), nullable=True),
        sa.Column("technician_id", sa.BigInteger(), nullable=True),
        sa.Column("usage_point_id", sa.BigInteger(), nullable=True),
        sa.Column("meter_id", sa.BigInteger(), nullable=True),
        sa.Column("position", sa.Text(), nullable=True),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("change_version", sa.BigInteger(), server_default="0", nullable=False),
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
            "status <> 'applied' OR usage_point_id IS NOT NULL",
            name=op.f("ck_field_seal_applied_at"),
        ),
        sa.CheckConstraint(
            "status IN ('in_stock', 'issued', 'applied', 'broken', 'removed', 'lost')",
            name=op.f("ck_field_seal_status"),
        ),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["core_agency.id"], name=op.f("fk_field_seal_agency_id_core_agency")
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["field_seal_batch.id"],
            name=op.f("fk_field_seal_batch_id_field_seal_batch"),
        ),
        sa.ForeignKeyConstraint(
            ["meter_id"], ["meter_asset.id"], name=op.f("fk_field_seal_meter_id_meter_asset")
        ),
        sa.ForeignKeyConstraint(
            ["technician_id"],
            ["field_technician.id"],
            name=op.f("fk_field_seal_technician_id_field_technician"),
        ),
        sa.ForeignKeyConstraint(
            ["usage_point_id"],
            ["customer_usage_point.id"],
            name=op.f("fk_field_seal_usage_point_id_customer_usage_point"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_field_seal")),
        sa.UniqueConstraint("number", name=op.f("uq_field_seal_number")),
    )
    op.create_index(op.f("ix_field_seal_batch_id"), "field_seal", ["batch_id"], unique=False)
    op.create_index(
        "ix_field_seal_tech_version",
        "field_seal",
        ["technician_id", "change_version"],
        unique=False,
    )
    op.create_index("ix_field_seal_usage_point", "field_seal", ["usage_point_id"], unique=False)
    op.create_table(
        "field_work_order",
        sa.Column("number", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default="created", nullable=False),
        sa.Column("usage_point_id", sa.BigInteger(), nullable=True),
        sa.Column("meter_id", sa.BigInteger(), nullable=True),
        sa.Column("contract_id", sa.BigInteger(), nullable=True),
        sa.Column("round_item_id", sa.BigInteger(), nullable=True),
        sa.Column("agency_id", sa.BigInteger(), nullable=True),
        sa.Column("team_id", sa.BigInteger(), nullable=True),
        sa.Column("technician_id", sa.BigInteger(), nullable=True),
        sa.Column("priority", sa.Integer(), server_default="3", nullable=False),
        sa.Column("planned_date", sa.Date(), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("source_key", sa.Text(), nullable=True),
        sa.Column(
            "instructions",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("outcome", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("failure_code", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("change_version", sa.BigInteger(), server_default="0", nullable=False),
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
            "status <> 'failed' OR failure_code IS NOT NULL",
            name=op.f("ck_field_work_order_failure_code"),
        ),
        sa.CheckConstraint(
            "status IN ('created', 'planned', 'assigned', 'in_progress', 'completed', 'failed', 'cancelled')",
            name=op.f("ck_field_work_order_status"),
        ),
        sa.ForeignKeyConstraint(
            ["agency_id"],
            ["core_agency.id"],
            name=op.f("fk_field_work_order_agency_id_core_agency"),
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["customer_contract.id"],
            name=op.f("fk_field_work_order_contract_id_customer_contract"),
        ),
        sa.ForeignKeyConstraint(
            ["meter_id"], ["meter_asset.id"], name=op.f("fk_field_work_order_meter_id_meter_asset")
        ),
        sa.ForeignKeyConstraint(
            ["round_item_id"],
            ["field_round_item.id"],
            name=op.f("fk_field_work_order_round_item_id_field_round_item"),
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["field_team.id"], name=op.f("fk_field_work_order_team_id_field_team")
        ),
        sa.ForeignKeyConstraint(
            ["technician_id"],
            ["field_technician.id"],
            name=op.f("fk_field_work_order_technician_id_field_technician"),
        ),
        sa.ForeignKeyConstraint(
            ["usage_point_id"],
            ["customer_usage_point.id"],
            name=op.f("fk_field_work_order_usage_point_id_customer_usage_point"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_field_work_order")),
        sa.UniqueConstraint("number", name=op.f("uq_field_work_order_number")),
        sa.UniqueConstraint("source_key", name=op.f("uq_field_work_order_source_key")),
    )
    op.create_index(
        op.f("ix_field_work_order_agency_id"), "field_work_order", ["agency_id"], unique=False
    )
    op.create_index(
        op.f("ix_field_work_order_contract_id"), "field_work_order", ["contract_id"], unique=False
    )
    op.create_index(
        op.f("ix_field_work_order_round_item_id"),
        "field_work_order",
        ["round_item_id"],
        unique=False,
    )
    op.create_index(
        "ix_field_work_order_status_kind", "field_work_order", ["status", "kind"], unique=False
    )
    op.create_index(
        "ix_field_work_order_tech_version",
        "field_work_order",
        ["technician_id", "change_version"],
        unique=False,
    )
    op.create_index(
        op.f("ix_field_work_order_usage_point_id"),
        "field_work_order",
        ["usage_point_id"],
        unique=False,
    )
    op.create_table(
        "field_seal_event",
        sa.Column("seal_id", sa.BigInteger(), nullable=True),
        sa.Column("seal_number", sa.Text(), nullable=False),
        sa.Column("event", sa.Text(), nullable=False),
        sa.Column("technician_id", sa.BigInteger(), nullable=True),
        sa.Column("work_order_id", sa.BigInteger(), nullable=True),
        sa.Column("round_item_id", sa.BigInteger(), nullable=True),
        sa.Column("usage_point_id", sa.BigInteger(), nullable=True),
        sa.Column("meter_id", sa.BigInteger(), nullable=True),
        sa.Column("position", sa.Text(), nullable=True),
        sa.Column("kind", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("gps_lon", sa.Float(), nullable=True),
        sa.Column("gps_lat", sa.Float(), nullable=True),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.CheckConstraint(
            "event NOT IN ('apply', 'verify', 'break', 'remove', 'found_broken', 'found_missing', 'found_foreign') OR num_nonnulls(work_order_id, round_item_id) = 1",
            name=op.f("ck_field_seal_event_visit"),
        ),
        sa.ForeignKeyConstraint(
            ["meter_id"], ["meter_asset.id"], name=op.f("fk_field_seal_event_meter_id_meter_asset")
        ),
        sa.ForeignKeyConstraint(
            ["round_item_id"],
            ["field_round_item.id"],
            name=op.f("fk_field_seal_event_round_item_id_field_round_item"),
        ),
        sa.ForeignKeyConstraint(
            ["seal_id"], ["field_seal.id"], name=op.f("fk_field_seal_event_seal_id_field_seal")
        ),
        sa.ForeignKeyConstraint(
            ["technician_id"],
            ["field_technician.id"],
            name=op.f("fk_field_seal_event_technician_id_field_technician"),
        ),
        sa.ForeignKeyConstraint(
            ["usage_point_id"],
            ["customer_usage_point.id"],
            name=op.f("fk_field_seal_event_usage_point_id_customer_usage_point"),
        ),
        sa.ForeignKeyConstraint(
            ["work_order_id"],
            ["field_work_order.id"],
            name=op.f("fk_field_seal_event_work_order_id_field_work_order"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_field_seal_event")),
    )
    op.create_index(
        op.f("ix_field_seal_event_round_item_id"),
        "field_seal_event",
        ["round_item_id"],
        unique=False,
    )
    op.create_index("ix_field_seal_event_seal", "field_seal_event", ["seal_id", "id"], unique=False)
    op.create_index(
        op.f("ix_field_seal_event_usage_point_id"),
        "field_seal_event",
        ["usage_point_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_field_seal_event_work_order_id"),
        "field_seal_event",
        ["work_order_id"],
        unique=False,
    )
    op.create_index(
        "uq_field_seal_event_applied_once",
        "field_seal_event",
        ["seal_number"],
        unique=True,
        postgresql_where=sa.text("event = 'apply'"),
    )
    op.create_table(
        "field_work_order_transition",
        sa.Column("work_order_id", sa.BigInteger(), nullable=False),
        sa.Column("event", sa.Text(), nullable=False),
        sa.Column("from_status", sa.Text(), nullable=True),
        sa.Column("to_status", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column(
            "details", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["work_order_id"],
            ["field_work_order.id"],
            name=op.f("fk_field_work_order_transition_work_order_id_field_work_order"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_field_work_order_transition")),
    )
    op.create_index(
        op.f("ix_field_work_order_transition_work_order_id"),
        "field_work_order_transition",
        ["work_order_id"],
        unique=False,
    )
    op.execute(CHANGE_VERSION_SQL)
    for table in SYNCED_TABLES:
        op.execute(change_version_trigger_sql(table))
    for name in AUDITED:
        for statement in enable_audit_sql(name):
            op.execute(statement)


def downgrade() -> None:
    op.drop_index(
        op.f("ix_field_work_order_transition_work_order_id"),
        table_name="field_work_order_transition",
    )
    op.drop_table("field_work_order_transition")
    op.drop_index(
        "uq_field_seal_event_applied_once",
        table_name="field_seal_event",
        postgresql_where=sa.text("event = 'apply'"),
    )
    op.drop_index(op.f("ix_field_seal_event_work_order_id"), table_name="field_seal_event")
    op.drop_index(op.f("ix_field_seal_event_usage_point_id"), table_name="field_seal_event")
    op.drop_index("ix_field_seal_event_seal", table_name="field_seal_event")
    op.drop_index(op.f("ix_field_seal_event_round_item_id"), table_name="field_seal_event")
    op.drop_table("field_seal_event")
    op.drop_index(op.f("ix_field_work_order_usage_point_id"), table_name="field_work_order")
    op.drop_index("ix_field_work_order_tech_version", table_name="field_work_order")
    op.drop_index("ix_field_work_order_status_kind", table_name="field_work_order")
    op.drop_index(op.f("ix_field_work_order_round_item_id"), table_name="field_work_order")
    op.drop_index(op.f("ix_field_work_order_contract_id"), table_name="field_work_order")
    op.drop_index(op.f("ix_field_work_order_agency_id"), table_name="field_work_order")
    op.drop_table("field_work_order")
    op.drop_index("ix_field_seal_usage_point", table_name="field_seal")
    op.drop_index("ix_field_seal_tech_version", table_name="field_seal")
    op.drop_index(op.f("ix_field_seal_batch_id"), table_name="field_seal")
    op.drop_table("field_seal")
    op.drop_index(op.f("ix_field_round_item_usage_point_id"), table_name="field_round_item")
    op.drop_index("ix_field_round_item_tech_version", table_name="field_round_item")
    op.drop_index(op.f("ix_field_round_item_round_id"), table_name="field_round_item")
    op.drop_table("field_round_item")
    op.drop_index(
        op.f("ix_field_reading_cycle_member_cycle_id"), table_name="field_reading_cycle_member"
    )
    op.drop_table("field_reading_cycle_member")
    op.drop_table("field_sync_counter")
    op.drop_index(op.f("ix_field_reading_round_technician_id"), table_name="field_reading_round")
    op.drop_index(op.f("ix_field_reading_round_period_start"), table_name="field_reading_round")
    op.drop_index(op.f("ix_field_reading_round_agency_id"), table_name="field_reading_round")
    op.drop_table("field_reading_round")
    op.drop_index("ix_field_assignment_release_tech", table_name="field_assignment_release")
    op.drop_table("field_assignment_release")
    op.drop_index(op.f("ix_field_technician_team_id"), table_name="field_technician")
    op.drop_index(op.f("ix_field_technician_agency_id"), table_name="field_technician")
    op.drop_table("field_technician")
    op.drop_index(op.f("ix_field_team_agency_id"), table_name="field_team")
    op.drop_table("field_team")
    op.drop_index(op.f("ix_field_seal_batch_agency_id"), table_name="field_seal_batch")
    op.drop_table("field_seal_batch")
    op.drop_index(op.f("ix_field_reading_cycle_agency_id"), table_name="field_reading_cycle")
    op.drop_table("field_reading_cycle")
    op.execute("DROP FUNCTION IF EXISTS field_stamp_change_version()")
    op.execute("DROP FUNCTION IF EXISTS field_next_version(bigint)")
    for sequence in SEQUENCES:
        op.execute(f"DROP SEQUENCE IF EXISTS {sequence}")
