"""mobile sync: devices, the operation log, attachments, the conflict queue

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 06:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects import postgresql

from core.audit import append_only_sql, drop_append_only_sql, enable_audit_sql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TABLES = ("sync_device", "sync_operation", "sync_attachment", "sync_conflict")


def _now(name: str) -> sa.Column:
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def upgrade() -> None:
    t = "sync_device"
    op.create_table(
        t,
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("agency_id", sa.BigInteger(), nullable=True),
        sa.Column("device_uuid", sa.Text(), nullable=False),
        sa.Column("label", sa.Text(), server_default="", nullable=False),
        sa.Column("secret_hash", sa.Text(), nullable=False),
        _now("secret_rotated_at"),
        sa.Column("status", sa.Text(), server_default="active", nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.BigInteger(), nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=True),
        sa.Column("pull_cursor", sa.Text(), nullable=True),
        sa.Column("pulled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("route_version", sa.Integer(), nullable=True),
        sa.Column("pushed_at", sa.DateTime(timezone=True), nullable=True),
        _now("created_at"),
        _now("updated_at"),
        sa.CheckConstraint("status IN ('active', 'revoked')", name=op.f(f"ck_{t}_status")),
        sa.CheckConstraint(
            "(status = 'revoked') = (revoked_at IS NOT NULL)", name=op.f(f"ck_{t}_revoked")
        ),
        _fk(t, "user_id", "core_user"),
        _fk(t, "agency_id", "core_agency"),
        _fk(t, "revoked_by", "core_user"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
        sa.UniqueConstraint("user_id", "device_uuid", name=op.f(f"uq_{t}_user_id_device_uuid")),
    )
    op.create_index(op.f(f"ix_{t}_user_id"), t, ["user_id"])

    t = "sync_operation"
    op.create_table(
        t,
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("uuid", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("device_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("code", sa.Text(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("server_id", sa.BigInteger(), nullable=True),
        sa.Column("flags", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("photos", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=True),
        sa.Column("captured_at_device", sa.DateTime(timezone=True), nullable=False),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("clock_offset_s", sa.Float(), server_default="0", nullable=False),
        sa.Column("gps", Geometry("POINT", srid=4326, spatial_index=False), nullable=True),
        sa.Column("gps_accuracy_m", sa.Float(), nullable=True),
        sa.Column("scanned_serial", sa.Text(), nullable=True),
        sa.Column("data", postgresql.JSONB(), nullable=False),
        _now("received_at"),
        sa.CheckConstraint(
            "status IN ('applied', 'conflict', 'rejected')", name=op.f(f"ck_{t}_status")
        ),
        sa.CheckConstraint(
            "kind IN ('reading', 'skip', 'work_order_outcome', 'seal_event')",
            name=op.f(f"ck_{t}_kind"),
        ),
        _fk(t, "device_id", "sync_device"),
        _fk(t, "user_id", "core_user"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
        sa.UniqueConstraint("uuid", name=op.f(f"uq_{t}_uuid")),
    )
    op.create_index("ix_sync_operation_device_id_id", t, ["device_id", "id"])

    t = "sync_attachment"
    op.create_table(
        t,
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content_type", sa.Text(), nullable=False),
        sa.Column("uploaded_by", sa.BigInteger(), nullable=True),
        sa.Column("device_id", sa.BigInteger(), nullable=True),
        _now("stored_at"),
        sa.CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name=op.f(f"ck_{t}_sha256")),
        _fk(t, "uploaded_by", "core_user"),
        _fk(t, "device_id", "sync_device"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
        sa.UniqueConstraint("sha256", name=op.f(f"uq_{t}_sha256")),
    )

    t = "sync_conflict"
    op.create_table(
        t,
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("operation_id", sa.BigInteger(), nullable=False),
        sa.Column("device_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), server_default="", nullable=False),
        sa.Column("entity_kind", sa.Text(), nullable=True),
        sa.Column("entity_id", sa.BigInteger(), nullable=True),
        sa.Column("base_version", sa.Integer(), nullable=True),
        sa.Column("current_version", sa.Integer(), nullable=True),
        sa.Column("status", sa.Text(), server_default="open", nullable=False),
        sa.Column("resolved_by", sa.BigInteger(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution_note", sa.Text(), nullable=True),
        sa.Column("server_id", sa.BigInteger(), nullable=True),
        _now("created_at"),
        _now("updated_at"),
        sa.CheckConstraint(
            "status IN ('open', 'applied', 'discarded')", name=op.f(f"ck_{t}_status")
        ),
        sa.CheckConstraint(
            "(status = 'open') = (resolved_at IS NULL)", name=op.f(f"ck_{t}_resolved")
        ),
        _fk(t, "operation_id", "sync_operation"),
        _fk(t, "device_id", "sync_device"),
        _fk(t, "resolved_by", "core_user"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{t}")),
        sa.UniqueConstraint("operation_id", name=op.f(f"uq_{t}_operation_id")),
    )
    op.create_index(op.f(f"ix_{t}_device_id"), t, ["device_id"])
    op.create_index("ix_sync_conflict_status_id", t, ["status", "id"])

    for table in TABLES:
        for statement in enable_audit_sql(table):
            op.execute(statement)
    for statement in append_only_sql(
        "sync_operation", "what a device sent and the receipt it got never change"
    ):
        op.execute(statement)


def downgrade() -> None:
    for statement in drop_append_only_sql("sync_operation"):
        op.execute(statement)
    for table in reversed(TABLES):
        op.drop_table(table)
