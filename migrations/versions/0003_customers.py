"""customers: parties, premises, usage points, accounts, contracts, cases, interactions

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 01:50:27.998646
"""

from __future__ import annotations

import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from core.audit import enable_audit_sql

CUSTOMER_TABLES = (
    "customer_party",
    "customer_identity_document",
    "customer_party_phone",
    "customer_party_email",
    "customer_service_location",
    "customer_usage_point",
    "customer_account",
    "customer_contract",
    "customer_contract_role",
    "customer_contract_transition",
    "customer_case",
    "customer_case_status_change",
    "customer_case_assignment_rule",
    "customer_interaction",
)

# Numbers shown to people (accounts, contracts, cases) and default codes of premises and
# usage points come from these sequences.
SEQUENCES = (
    "customer_account_number_seq",
    "customer_contract_number_seq",
    "customer_case_number_seq",
    "customer_service_location_code_seq",
    "customer_usage_point_code_seq",
)

# unaccent() is only STABLE (its dictionary could change); naming the dictionary makes the
# call safe to declare IMMUTABLE, which generated columns and indexes require.
NORMALIZE_FUNCTION = r"""
CREATE OR REPLACE FUNCTION customer_normalize_text(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT btrim(regexp_replace(
           lower(public.unaccent('public.unaccent'::regdictionary, coalesce(value, ''))),
           '[^[:alnum:]]+', ' ', 'g'))
$$
"""

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The exclusion constraint on contracts mixes = on bigint with && on dateranges.
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.execute(NORMALIZE_FUNCTION)
    for sequence in SEQUENCES:
        op.execute(f"CREATE SEQUENCE IF NOT EXISTS {sequence}")
    op.create_table(
        "customer_party",
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("first_name", sa.Text(), nullable=True),
        sa.Column("last_name", sa.Text(), nullable=True),
        sa.Column("organisation_name", sa.Text(), nullable=True),
        sa.Column(
            "normalized_name",
            sa.Text(),
            sa.Computed("customer_normalize_text(display_name)", persisted=True),
            nullable=False,
        ),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("language", sa.Text(), server_default="fr", nullable=False),
        sa.Column("parent_party_id", sa.BigInteger(), nullable=True),
        sa.Column("agency_id", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.Text(), server_default="active", nullable=False),
        sa.Column("merged_into_id", sa.BigInteger(), nullable=True),
        sa.Column("merged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notes", sa.Text(), server_default="", nullable=False),
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
            ["agency_id"], ["core_agency.id"], name=op.f("fk_customer_party_agency_id_core_agency")
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"],
            ["customer_party.id"],
            name=op.f("fk_customer_party_merged_into_id_customer_party"),
        ),
        sa.ForeignKeyConstraint(
            ["parent_party_id"],
            ["customer_party.id"],
            name=op.f("fk_customer_party_parent_party_id_customer_party"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_party")),
    )
    op.create_index(
        op.f("ix_customer_party_agency_id"), "customer_party", ["agency_id"], unique=False
    )
    op.create_index(
        op.f("ix_customer_party_merged_into_id"), "customer_party", ["merged_into_id"], unique=False
    )
    op.create_index(
        "ix_customer_party_normalized_name_trgm",
        "customer_party",
        ["normalized_name"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"normalized_name": "gin_trgm_ops"},
    )
    op.create_index(
        op.f("ix_customer_party_parent_party_id"),
        "customer_party",
        ["parent_party_id"],
        unique=False,
    )
    op.create_table(
        "customer_account",
        sa.Column("number", sa.Text(), nullable=False),
        sa.Column("payer_party_id", sa.BigInteger(), nullable=False),
        sa.Column("delivery_channel", sa.Text(), server_default="paper", nullable=False),
        sa.Column("delivery_email", sa.Text(), nullable=True),
        sa.Column("delivery_phone", sa.Text(), nullable=True),
        sa.Column("language", sa.Text(), server_default="fr", nullable=False),
        sa.Column("status", sa.Text(), server_default="open", nullable=False),
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
            ["payer_party_id"],
            ["customer_party.id"],
            name=op.f("fk_customer_account_payer_party_id_customer_party"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_account")),
        sa.UniqueConstraint("number", name=op.f("uq_customer_account_number")),
    )
    op.create_index(
        op.f("ix_customer_account_payer_party_id"),
        "customer_account",
        ["payer_party_id"],
        unique=False,
    )
    op.create_table(
        "customer_case_assignment_rule",
        sa.Column("case_type", sa.Text(), nullable=False),
        sa.Column("agency_id", sa.BigInteger(), nullable=True),
        sa.Column("assignee_user_id", sa.BigInteger(), nullable=True),
        sa.Column("assignee_group", sa.Text(), nullable=True),
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
            name=op.f("fk_customer_case_assignment_rule_agency_id_core_agency"),
        ),
        sa.ForeignKeyConstraint(
            ["assignee_user_id"],
            ["core_user.id"],
            name=op.f("fk_customer_case_assignment_rule_assignee_user_id_core_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_case_assignment_rule")),
    )
    op.create_index(
        "uq_customer_case_assignment_rule_type_agency",
        "customer_case_assignment_rule",
        ["case_type", sa.literal_column("coalesce(agency_id, 0)")],
        unique=True,
    )
    op.create_table(
        "customer_identity_document",
        sa.Column("party_id", sa.BigInteger(), nullable=False),
        sa.Column("document_type", sa.Text(), nullable=False),
        sa.Column("number", sa.Text(), nullable=False),
        sa.Column("number_normalized", sa.Text(), nullable=False),
        sa.Column("issuing_country", sa.Text(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
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
            ["party_id"],
            ["customer_party.id"],
            name=op.f("fk_customer_identity_document_party_id_customer_party"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_identity_document")),
        sa.UniqueConstraint(
            "document_type",
            "issuing_country",
            "number_normalized",
            name="uq_customer_identity_document_number",
        ),
    )
    op.create_index(
        "ix_customer_identity_document_number_normalized",
        "customer_identity_document",
        ["number_normalized"],
        unique=False,
    )
    op.create_index(
        op.f("ix_customer_identity_document_party_id"),
        "customer_identity_document",
        ["party_id"],
        unique=False,
    )
    op.create_table(
        "customer_party_email",
        sa.Column("party_id", sa.BigInteger(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("is_primary", sa.Boolean(), server_default="false", nullable=False),
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
            ["party_id"],
            ["customer_party.id"],
            name=op.f("fk_customer_party_email_party_id_customer_party"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_party_email")),
        sa.UniqueConstraint(
            "party_id", "email", name=op.f("uq_customer_party_email_party_id_email")
        ),
    )
    op.create_index(
        op.f("ix_customer_party_email_email"), "customer_party_email", ["email"], unique=False
    )
    op.create_index(
        op.f("ix_customer_party_email_party_id"), "customer_party_email", ["party_id"], unique=False
    )
    op.create_table(
        "customer_party_phone",
        sa.Column("party_id", sa.BigInteger(), nullable=False),
        sa.Column("e164", sa.Text(), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), server_default="mobile", nullable=False),
        sa.Column("is_primary", sa.Boolean(), server_default="false", nullable=False),
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
            ["party_id"],
            ["customer_party.id"],
            name=op.f("fk_customer_party_phone_party_id_customer_party"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_party_phone")),
        sa.UniqueConstraint("party_id", "e164", name=op.f("uq_customer_party_phone_party_id_e164")),
    )
    op.create_index(
        op.f("ix_customer_party_phone_e164"), "customer_party_phone", ["e164"], unique=False
    )
    op.create_index(
        op.f("ix_customer_party_phone_party_id"), "customer_party_phone", ["party_id"], unique=False
    )
    op.create_table(
        "customer_service_location",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("address_line", sa.Text(), server_default="", nullable=False),
        sa.Column("unit", sa.Text(), nullable=True),
        sa.Column("district", sa.Text(), nullable=True),
        sa.Column("city", sa.Text(), nullable=True),
        sa.Column("region", sa.Text(), nullable=True),
        sa.Column("postal_code", sa.Text(), nullable=True),
        sa.Column("country", sa.Text(), server_default="BJ", nullable=False),
        sa.Column("landmark", sa.Text(), nullable=True),
        sa.Column(
            "address_normalized",
            sa.Text(),
            sa.Computed(
                "customer_normalize_text(coalesce(address_line, '') || ' ' || coalesce(unit, '') || ' ' || coalesce(district, '') || ' ' || coalesce(city, '') || ' ' || coalesce(landmark, ''))",
                persisted=True,
            ),
            nullable=False,
        ),
        sa.Column(
            "geom",
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
        sa.Column("service_point_id", sa.BigInteger(), nullable=True),
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
            ["service_point_id"],
            ["gis_service_point.id"],
            name=op.f("fk_customer_service_location_service_point_id_gis_service_point"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_service_location")),
        sa.UniqueConstraint("code", name=op.f("uq_customer_service_location_code")),
    )
    op.create_index(
        "idx_customer_service_location_geom",
        "customer_service_location",
        ["geom"],
        unique=False,
        postgresql_using="gist",
    )
    op.create_index(
        "ix_customer_service_location_address_trgm",
        "customer_service_location",
        ["address_normalized"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"address_normalized": "gin_trgm_ops"},
    )
    op.create_index(
        op.f("ix_customer_service_location_service_point_id"),
        "customer_service_location",
        ["service_point_id"],
        unique=False,
    )
    op.create_table(
        "customer_usage_point",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("service_location_id", sa.BigInteger(), nullable=False),
        sa.Column("commodity", sa.Text(), server_default="electricity", nullable=False),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("subscribed_power_kva", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("phases", sa.Integer(), server_default="1", nullable=False),
        sa.Column("connection_state", sa.Text(), server_default="connected", nullable=False),
        sa.Column(
            "connection_state_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
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
        sa.ForeignKeyConstraint(
            ["service_location_id"],
            ["customer_service_location.id"],
            name=op.f("fk_customer_usage_point_service_location_id_customer_service_location"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_usage_point")),
        sa.UniqueConstraint("code", name=op.f("uq_customer_usage_point_code")),
        sa.UniqueConstraint(
            "service_location_id",
            "commodity",
            name=op.f("uq_customer_usage_point_service_location_id_commodity"),
        ),
    )
    op.create_index(
        op.f("ix_customer_usage_point_service_location_id"),
        "customer_usage_point",
        ["service_location_id"],
        unique=False,
    )
    op.create_table(
        "customer_case",
        sa.Column("number", sa.Text(), nullable=False),
        sa.Column("case_type", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default="open", nullable=False),
        sa.Column("priority", sa.Text(), server_default="normal", nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("party_id", sa.BigInteger(), nullable=True),
        sa.Column("service_location_id", sa.BigInteger(), nullable=True),
        sa.Column("usage_point_id", sa.BigInteger(), nullable=True),
        sa.Column("agency_id", sa.BigInteger(), nullable=True),
        sa.Column("assignee_user_id", sa.BigInteger(), nullable=True),
        sa.Column("assignee_group", sa.Text(), nullable=True),
        sa.Column(
            "opened_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("sla_working_days", sa.Integer(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("sla_breached", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
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
            ["agency_id"], ["core_agency.id"], name=op.f("fk_customer_case_agency_id_core_agency")
        ),
        sa.ForeignKeyConstraint(
            ["assignee_user_id"],
            ["core_user.id"],
            name=op.f("fk_customer_case_assignee_user_id_core_user"),
        ),
        sa.ForeignKeyConstraint(
            ["party_id"],
            ["customer_party.id"],
            name=op.f("fk_customer_case_party_id_customer_party"),
        ),
        sa.ForeignKeyConstraint(
            ["service_location_id"],
            ["customer_service_location.id"],
            name=op.f("fk_customer_case_service_location_id_customer_service_location"),
        ),
        sa.ForeignKeyConstraint(
            ["usage_point_id"],
            ["customer_usage_point.id"],
            name=op.f("fk_customer_case_usage_point_id_customer_usage_point"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_case")),
        sa.UniqueConstraint("number", name=op.f("uq_customer_case_number")),
    )
    op.create_index(
        op.f("ix_customer_case_agency_id"), "customer_case", ["agency_id"], unique=False
    )
    op.create_index(
        op.f("ix_customer_case_assignee_group"), "customer_case", ["assignee_group"], unique=False
    )
    op.create_index(
        op.f("ix_customer_case_assignee_user_id"),
        "customer_case",
        ["assignee_user_id"],
        unique=False,
    )
    op.create_index(
        "ix_customer_case_board",
        "customer_case",
        ["status", "case_type", "agency_id"],
        unique=False,
    )
    op.create_index(
        "ix_customer_case_open_due",
        "customer_case",
        ["due_date"],
        unique=False,
        postgresql_where=sa.text("status IN ('open', 'in_progress', 'waiting_customer')"),
    )
    op.create_index(op.f("ix_customer_case_party_id"), "customer_case", ["party_id"], unique=False)
    op.create_index(
        op.f("ix_customer_case_service_location_id"),
        "customer_case",
        ["service_location_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_customer_case_usage_point_id"), "customer_case", ["usage_point_id"], unique=False
    )
    op.create_table(
        "customer_contract",
        sa.Column("number", sa.Text(), nullable=False),
        sa.Column("holder_party_id", sa.BigInteger(), nullable=False),
        sa.Column("usage_point_id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("tariff_code", sa.Text(), nullable=False),
        sa.Column("subscribed_power_kva", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("status", sa.Text(), server_default="pending", nullable=False),
        sa.Column(
            "status_changed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("previous_contract_id", sa.BigInteger(), nullable=True),
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
        postgresql.ExcludeConstraint(
            (sa.text("usage_point_id"), "="),
            (sa.text("daterange(start_date, end_date, '[)')"), "&&"),
            where=sa.text("status IN ('pending', 'active')"),
            using="gist",
            name="ex_customer_contract_usage_point_period",
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["customer_account.id"],
            name=op.f("fk_customer_contract_account_id_customer_account"),
        ),
        sa.ForeignKeyConstraint(
            ["holder_party_id"],
            ["customer_party.id"],
            name=op.f("fk_customer_contract_holder_party_id_customer_party"),
        ),
        sa.ForeignKeyConstraint(
            ["previous_contract_id"],
            ["customer_contract.id"],
            name=op.f("fk_customer_contract_previous_contract_id_customer_contract"),
        ),
        sa.ForeignKeyConstraint(
            ["usage_point_id"],
            ["customer_usage_point.id"],
            name=op.f("fk_customer_contract_usage_point_id_customer_usage_point"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_contract")),
        sa.UniqueConstraint("number", name=op.f("uq_customer_contract_number")),
    )
    op.create_index(
        op.f("ix_customer_contract_account_id"), "customer_contract", ["account_id"], unique=False
    )
    op.create_index(
        op.f("ix_customer_contract_holder_party_id"),
        "customer_contract",
        ["holder_party_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_customer_contract_previous_contract_id"),
        "customer_contract",
        ["previous_contract_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_customer_contract_usage_point_id"),
        "customer_contract",
        ["usage_point_id"],
        unique=False,
    )
    op.create_index(
        "uq_customer_contract_active_usage_point",
        "customer_contract",
        ["usage_point_id"],
        unique=True,
        postgresql_where=sa.text("status = 'active'"),
    )
    op.create_table(
        "customer_case_status_change",
        sa.Column("case_id", sa.BigInteger(), nullable=False),
        sa.Column("event", sa.Text(), nullable=False),
        sa.Column("from_status", sa.Text(), nullable=True),
        sa.Column("to_status", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["customer_case.id"],
            name=op.f("fk_customer_case_status_change_case_id_customer_case"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_case_status_change")),
    )
    op.create_index(
        op.f("ix_customer_case_status_change_case_id"),
        "customer_case_status_change",
        ["case_id"],
        unique=False,
    )
    op.create_table(
        "customer_contract_role",
        sa.Column("contract_id", sa.BigInteger(), nullable=False),
        sa.Column("party_id", sa.BigInteger(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
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
            ["contract_id"],
            ["customer_contract.id"],
            name=op.f("fk_customer_contract_role_contract_id_customer_contract"),
        ),
        sa.ForeignKeyConstraint(
            ["party_id"],
            ["customer_party.id"],
            name=op.f("fk_customer_contract_role_party_id_customer_party"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_contract_role")),
        sa.UniqueConstraint(
            "contract_id",
            "party_id",
            "role",
            name=op.f("uq_customer_contract_role_contract_id_party_id_role"),
        ),
    )
    op.create_index(
        op.f("ix_customer_contract_role_contract_id"),
        "customer_contract_role",
        ["contract_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_customer_contract_role_party_id"),
        "customer_contract_role",
        ["party_id"],
        unique=False,
    )
    op.create_table(
        "customer_contract_transition",
        sa.Column("contract_id", sa.BigInteger(), nullable=False),
        sa.Column("event", sa.Text(), nullable=False),
        sa.Column("from_status", sa.Text(), nullable=False),
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
            ["contract_id"],
            ["customer_contract.id"],
            name=op.f("fk_customer_contract_transition_contract_id_customer_contract"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_contract_transition")),
    )
    op.create_index(
        op.f("ix_customer_contract_transition_contract_id"),
        "customer_contract_transition",
        ["contract_id"],
        unique=False,
    )
    op.create_table(
        "customer_interaction",
        sa.Column("party_id", sa.BigInteger(), nullable=False),
        sa.Column("case_id", sa.BigInteger(), nullable=True),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("direction", sa.Text(), nullable=False),
        sa.Column(
            "occurred_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("subject", sa.Text(), server_default="", nullable=False),
        sa.Column("notes", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "attachments",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="[]",
            nullable=False,
        ),
        sa.Column("staff_user_id", sa.BigInteger(), nullable=True),
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
            ["case_id"],
            ["customer_case.id"],
            name=op.f("fk_customer_interaction_case_id_customer_case"),
        ),
        sa.ForeignKeyConstraint(
            ["party_id"],
            ["customer_party.id"],
            name=op.f("fk_customer_interaction_party_id_customer_party"),
        ),
        sa.ForeignKeyConstraint(
            ["staff_user_id"],
            ["core_user.id"],
            name=op.f("fk_customer_interaction_staff_user_id_core_user"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_interaction")),
    )
    op.create_index(
        op.f("ix_customer_interaction_case_id"), "customer_interaction", ["case_id"], unique=False
    )
    op.create_index(
        "ix_customer_interaction_party_at",
        "customer_interaction",
        ["party_id", "occurred_at"],
        unique=False,
    )
    for table in CUSTOMER_TABLES:
        for statement in enable_audit_sql(table):
            op.execute(statement)
    op.execute(
        "ALTER TABLE customer_service_location ADD CONSTRAINT "
        "ck_customer_service_location_geom_valid CHECK (geom IS NULL OR ST_IsValid(geom))"
    )


def downgrade() -> None:
    op.drop_index("ix_customer_interaction_party_at", table_name="customer_interaction")
    op.drop_index(op.f("ix_customer_interaction_case_id"), table_name="customer_interaction")
    op.drop_table("customer_interaction")
    op.drop_index(
        op.f("ix_customer_contract_transition_contract_id"),
        table_name="customer_contract_transition",
    )
    op.drop_table("customer_contract_transition")
    op.drop_index(op.f("ix_customer_contract_role_party_id"), table_name="customer_contract_role")
    op.drop_index(
        op.f("ix_customer_contract_role_contract_id"), table_name="customer_contract_role"
    )
    op.drop_table("customer_contract_role")
    op.drop_index(
        op.f("ix_customer_case_status_change_case_id"), table_name="customer_case_status_change"
    )
    op.drop_table("customer_case_status_change")
    op.drop_index(
        "uq_customer_contract_active_usage_point",
        table_name="customer_contract",
        postgresql_where=sa.text("status = 'active'"),
    )
    op.drop_index(op.f("ix_customer_contract_usage_point_id"), table_name="customer_contract")
    op.drop_index(op.f("ix_customer_contract_previous_contract_id"), table_name="customer_contract")
    op.drop_index(op.f("ix_customer_contract_holder_party_id"), table_name="customer_contract")
    op.drop_index(op.f("ix_customer_contract_account_id"), table_name="customer_contract")
    op.drop_table("customer_contract")
    op.drop_index(op.f("ix_customer_case_usage_point_id"), table_name="customer_case")
    op.drop_index(op.f("ix_customer_case_service_location_id"), table_name="customer_case")
    op.drop_index(op.f("ix_customer_case_party_id"), table_name="customer_case")
    op.drop_index(
        "ix_customer_case_open_due",
        table_name="customer_case",
        postgresql_where=sa.text("status IN ('open', 'in_progress', 'waiting_customer')"),
    )
    op.drop_index("ix_customer_case_board", table_name="customer_case")
    op.drop_index(op.f("ix_customer_case_assignee_user_id"), table_name="customer_case")
    op.drop_index(op.f("ix_customer_case_assignee_group"), table_name="customer_case")
    op.drop_index(op.f("ix_customer_case_agency_id"), table_name="customer_case")
    op.drop_table("customer_case")
    op.drop_index(
        op.f("ix_customer_usage_point_service_location_id"), table_name="customer_usage_point"
    )
    op.drop_table("customer_usage_point")
    op.drop_index(
        op.f("ix_customer_service_location_service_point_id"),
        table_name="customer_service_location",
    )
    op.drop_index(
        "ix_customer_service_location_address_trgm",
        table_name="customer_service_location",
        postgresql_using="gin",
        postgresql_ops={"address_normalized": "gin_trgm_ops"},
    )
    op.drop_index(
        "idx_customer_service_location_geom",
        table_name="customer_service_location",
        postgresql_using="gist",
    )
    op.drop_table("customer_service_location")
    op.drop_index(op.f("ix_customer_party_phone_party_id"), table_name="customer_party_phone")
    op.drop_index(op.f("ix_customer_party_phone_e164"), table_name="customer_party_phone")
    op.drop_table("customer_party_phone")
    op.drop_index(op.f("ix_customer_party_email_party_id"), table_name="customer_party_email")
    op.drop_index(op.f("ix_customer_party_email_email"), table_name="customer_party_email")
    op.drop_table("customer_party_email")
    op.drop_index(
        op.f("ix_customer_identity_document_party_id"), table_name="customer_identity_document"
    )
    op.drop_index(
        "ix_customer_identity_document_number_normalized", table_name="customer_identity_document"
    )
    op.drop_table("customer_identity_document")
    op.drop_index(
        "uq_customer_case_assignment_rule_type_agency", table_name="customer_case_assignment_rule"
    )
    op.drop_table("customer_case_assignment_rule")
    op.drop_index(op.f("ix_customer_account_payer_party_id"), table_name="customer_account")
    op.drop_table("customer_account")
    op.drop_index(op.f("ix_customer_party_parent_party_id"), table_name="customer_party")
    op.drop_index(
        "ix_customer_party_normalized_name_trgm",
        table_name="customer_party",
        postgresql_using="gin",
        postgresql_ops={"normalized_name": "gin_trgm_ops"},
    )
    op.drop_index(op.f("ix_customer_party_merged_into_id"), table_name="customer_party")
    op.drop_index(op.f("ix_customer_party_agency_id"), table_name="customer_party")
    op.drop_table("customer_party")
    for sequence in SEQUENCES:
        op.execute(f"DROP SEQUENCE IF EXISTS {sequence}")
    op.execute("DROP FUNCTION IF EXISTS customer_normalize_text(text)")
