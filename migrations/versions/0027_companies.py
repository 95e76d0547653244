"""core: several companies on one Kilowatch (their own tariffs, series, policies, currency)

Revision ID: 0027
Revises: 0026

Every existing row belongs to company 1, created here from the deployment's settings
(currency and locale); agencies and users belong to it, and so do the tables a company
keeps for itself: tariffs, numbering series (now named per company and document kind)
and dunning policies. Their child rows (tariff versions, policy steps) follow their parent.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from core.audit import enable_audit_sql
from core.settings import get_settings

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

# Tables a company keeps for itself: each gets company_id, existing rows company 1.
COMPANY_TABLES = ("billing_tariff", "billing_invoice_series", "collection_policy")


def _company_column(table: str, *, index: bool = True) -> None:
    op.add_column(
        table,
        sa.Column(
            "company_id",
            sa.BigInteger(),
            sa.ForeignKey(
                "core_company.id",
                name=op.f(f"fk_{table}_company_id_core_company"),
                ondelete="RESTRICT",
            ),
            server_default="1",
            nullable=False,
        ),
    )
    if index:
        op.create_index(op.f(f"ix_{table}_company_id"), table, ["company_id"])


def upgrade() -> None:
    settings = get_settings()
    op.create_table(
        "core_company",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("locale", sa.Text(), server_default="fr_FR", nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f("ck_core_company_currency_iso")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_company")),
        sa.UniqueConstraint("code", name=op.f("uq_core_company_code")),
    )
    op.execute(
        sa.text(
            "INSERT INTO core_company (id, code, name, currency, locale) "
            "VALUES (1, 'MAIN', 'Main company', :currency, :locale)"
        ).bindparams(currency=settings.currency, locale=settings.locale)
    )
    op.execute("SELECT setval(pg_get_serial_sequence('core_company', 'id'), 1)")
    _company_column("core_agency")
    _company_column("core_user", index=False)
    op.create_table(
        "core_user_company",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("company_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["core_user.id"],
            ondelete="CASCADE",
            name=op.f("fk_core_user_company_user_id_core_user"),
        ),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["core_company.id"],
            ondelete="RESTRICT",
            name=op.f("fk_core_user_company_company_id_core_company"),
        ),
        sa.PrimaryKeyConstraint("user_id", "company_id", name=op.f("pk_core_user_company")),
    )
    for table in COMPANY_TABLES:
        _company_column(table)
    # A company's series per document kind: issuing takes the company's series of the kind.
    op.add_column("billing_invoice_series", sa.Column("kind", sa.Text(), nullable=True))
    op.execute("UPDATE billing_invoice_series SET kind = 'invoice' WHERE series = 'F'")
    op.execute("UPDATE billing_invoice_series SET kind = 'credit_note' WHERE series = 'AV'")
    op.create_index(
        "uq_billing_invoice_series_company_kind",
        "billing_invoice_series",
        ["company_id", "kind"],
        unique=True,
        postgresql_where=sa.text("kind IS NOT NULL"),
    )
    for table in ("core_company", "core_user_company"):
        for statement in enable_audit_sql(table):
            op.execute(statement)


def downgrade() -> None:
    op.drop_index("uq_billing_invoice_series_company_kind", "billing_invoice_series")
    op.drop_column("billing_invoice_series", "kind")
    for table in (*COMPANY_TABLES, "core_user", "core_agency"):
        op.drop_column(table, "company_id")
    op.drop_table("core_user_company")
    op.drop_table("core_company")
