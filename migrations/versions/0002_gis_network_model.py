"""gis network model

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 01:45:53.063548
"""

from __future__ import annotations

import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from core.audit import enable_audit_sql

GIS_TABLES = (
    "gis_substation",
    "gis_feeder",
    "gis_network_node",
    "gis_power_transformer",
    "gis_line_segment",
    "gis_switch",
    "gis_service_point",
)

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gis_substation",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), server_default="", nullable=False),
        sa.Column("primary_kv", sa.Float(), nullable=True),
        sa.Column("secondary_kv", sa.Float(), nullable=True),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                srid=4326,
                dimension=2,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                spatial_index=False,
                nullable=False,
            ),
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gis_substation")),
        sa.UniqueConstraint("code", name=op.f("uq_gis_substation_code")),
    )
    op.create_index(
        "idx_gis_substation_geom", "gis_substation", ["geom"], unique=False, postgresql_using="gist"
    )
    op.create_table(
        "gis_feeder",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), server_default="", nullable=False),
        sa.Column("substation_id", sa.BigInteger(), nullable=True),
        sa.Column("nominal_kv", sa.Float(), nullable=True),
        sa.Column("head_node_id", sa.BigInteger(), nullable=True),
        sa.Column("topology_dirty", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("traced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "attributes",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
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
            ["substation_id"],
            ["gis_substation.id"],
            name=op.f("fk_gis_feeder_substation_id_gis_substation"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gis_feeder")),
        sa.UniqueConstraint("code", name=op.f("uq_gis_feeder_code")),
    )
    op.create_index(
        op.f("ix_gis_feeder_substation_id"), "gis_feeder", ["substation_id"], unique=False
    )
    op.create_table(
        "gis_network_node",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                spatial_index=False,
            ),
            nullable=True,
        ),
        sa.Column("location_precision", sa.Text(), nullable=False),
        sa.Column("feeder_id", sa.BigInteger(), nullable=True),
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["feeder_id"],
            ["gis_feeder.id"],
            name=op.f("fk_gis_network_node_feeder_id_gis_feeder"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gis_network_node")),
        sa.UniqueConstraint("code", name=op.f("uq_gis_network_node_code")),
    )
    op.create_index(
        "idx_gis_network_node_geom",
        "gis_network_node",
        ["geom"],
        unique=False,
        postgresql_using="gist",
    )
    op.create_index(
        op.f("ix_gis_network_node_feeder_id"), "gis_network_node", ["feeder_id"], unique=False
    )
    op.create_table(
        "gis_power_transformer",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("rated_kva", sa.Float(), nullable=False),
        sa.Column("phases", sa.Integer(), server_default="3", nullable=False),
        sa.Column("primary_kv", sa.Float(), nullable=True),
        sa.Column("secondary_kv", sa.Float(), nullable=True),
        sa.Column("hv_node_id", sa.BigInteger(), nullable=False),
        sa.Column("lv_node_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                spatial_index=False,
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("location_precision", sa.Text(), nullable=False),
        sa.Column("feeder_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "attributes",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
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
            ["feeder_id"],
            ["gis_feeder.id"],
            name=op.f("fk_gis_power_transformer_feeder_id_gis_feeder"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["hv_node_id"],
            ["gis_network_node.id"],
            name=op.f("fk_gis_power_transformer_hv_node_id_gis_network_node"),
        ),
        sa.ForeignKeyConstraint(
            ["lv_node_id"],
            ["gis_network_node.id"],
            name=op.f("fk_gis_power_transformer_lv_node_id_gis_network_node"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gis_power_transformer")),
        sa.UniqueConstraint("code", name=op.f("uq_gis_power_transformer_code")),
    )
    op.create_index(
        "idx_gis_power_transformer_geom",
        "gis_power_transformer",
        ["geom"],
        unique=False,
        postgresql_using="gist",
    )
    op.create_index(
        op.f("ix_gis_power_transformer_feeder_id"),
        "gis_power_transformer",
        ["feeder_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_gis_power_transformer_hv_node_id"),
        "gis_power_transformer",
        ["hv_node_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_gis_power_transformer_lv_node_id"),
        "gis_power_transformer",
        ["lv_node_id"],
        unique=False,
    )
    op.create_table(
        "gis_switch",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("from_node_id", sa.BigInteger(), nullable=False),
        sa.Column("to_node_id", sa.BigInteger(), nullable=False),
        sa.Column("normal_open", sa.Boolean(), nullable=False),
        sa.Column("is_open", sa.Boolean(), nullable=False),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                spatial_index=False,
            ),
            nullable=True,
        ),
        sa.Column("feeder_id", sa.BigInteger(), nullable=True),
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
            ["feeder_id"],
            ["gis_feeder.id"],
            name=op.f("fk_gis_switch_feeder_id_gis_feeder"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["from_node_id"],
            ["gis_network_node.id"],
            name=op.f("fk_gis_switch_from_node_id_gis_network_node"),
        ),
        sa.ForeignKeyConstraint(
            ["to_node_id"],
            ["gis_network_node.id"],
            name=op.f("fk_gis_switch_to_node_id_gis_network_node"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gis_switch")),
        sa.UniqueConstraint("code", name=op.f("uq_gis_switch_code")),
    )
    op.create_index(
        "idx_gis_switch_geom", "gis_switch", ["geom"], unique=False, postgresql_using="gist"
    )
    op.create_index(op.f("ix_gis_switch_feeder_id"), "gis_switch", ["feeder_id"], unique=False)
    op.create_index(
        op.f("ix_gis_switch_from_node_id"), "gis_switch", ["from_node_id"], unique=False
    )
    op.create_index(op.f("ix_gis_switch_to_node_id"), "gis_switch", ["to_node_id"], unique=False)
    op.create_table(
        "gis_line_segment",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("voltage_level", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("conductor", sa.Text(), nullable=True),
        sa.Column("phases", sa.Integer(), nullable=True),
        sa.Column("length_m", sa.Float(), nullable=True),
        sa.Column("from_node_id", sa.BigInteger(), nullable=False),
        sa.Column("to_node_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                geometry_type="LINESTRING",
                srid=4326,
                dimension=2,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                spatial_index=False,
            ),
            nullable=True,
        ),
        sa.Column("location_precision", sa.Text(), nullable=False),
        sa.Column("feeder_id", sa.BigInteger(), nullable=True),
        sa.Column("transformer_id", sa.BigInteger(), nullable=True),
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
            ["feeder_id"],
            ["gis_feeder.id"],
            name=op.f("fk_gis_line_segment_feeder_id_gis_feeder"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["from_node_id"],
            ["gis_network_node.id"],
            name=op.f("fk_gis_line_segment_from_node_id_gis_network_node"),
        ),
        sa.ForeignKeyConstraint(
            ["to_node_id"],
            ["gis_network_node.id"],
            name=op.f("fk_gis_line_segment_to_node_id_gis_network_node"),
        ),
        sa.ForeignKeyConstraint(
            ["transformer_id"],
            ["gis_power_transformer.id"],
            name=op.f("fk_gis_line_segment_transformer_id_gis_power_transformer"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gis_line_segment")),
        sa.UniqueConstraint("code", name=op.f("uq_gis_line_segment_code")),
    )
    op.create_index(
        "idx_gis_line_segment_geom",
        "gis_line_segment",
        ["geom"],
        unique=False,
        postgresql_using="gist",
    )
    op.create_index(
        op.f("ix_gis_line_segment_feeder_id"), "gis_line_segment", ["feeder_id"], unique=False
    )
    op.create_index(
        op.f("ix_gis_line_segment_from_node_id"), "gis_line_segment", ["from_node_id"], unique=False
    )
    op.create_index(
        op.f("ix_gis_line_segment_to_node_id"), "gis_line_segment", ["to_node_id"], unique=False
    )
    op.create_index(
        op.f("ix_gis_line_segment_transformer_id"),
        "gis_line_segment",
        ["transformer_id"],
        unique=False,
    )
    op.create_table(
        "gis_service_point",
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("node_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "geom",
            geoalchemy2.types.Geometry(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                spatial_index=False,
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("location_precision", sa.Text(), nullable=False),
        sa.Column("feeder_id", sa.BigInteger(), nullable=True),
        sa.Column("transformer_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "attributes",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
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
            ["feeder_id"],
            ["gis_feeder.id"],
            name=op.f("fk_gis_service_point_feeder_id_gis_feeder"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["node_id"],
            ["gis_network_node.id"],
            name=op.f("fk_gis_service_point_node_id_gis_network_node"),
        ),
        sa.ForeignKeyConstraint(
            ["transformer_id"],
            ["gis_power_transformer.id"],
            name=op.f("fk_gis_service_point_transformer_id_gis_power_transformer"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gis_service_point")),
        sa.UniqueConstraint("code", name=op.f("uq_gis_service_point_code")),
    )
    op.create_index(
        "idx_gis_service_point_geom",
        "gis_service_point",
        ["geom"],
        unique=False,
        postgresql_using="gist",
    )
    # Web Mercator copy for vector tiles (see gis.models.ServicePoint.geom_3857).
    op.execute(
        "ALTER TABLE gis_service_point ADD COLUMN geom_3857 geometry(POINT, 3857) "
        "GENERATED ALWAYS AS (ST_Transform(geom, 3857)) STORED"
    )
    op.create_index(
        "idx_gis_service_point_geom_3857",
        "gis_service_point",
        ["geom_3857"],
        unique=False,
        postgresql_using="gist",
    )
    op.create_index(
        op.f("ix_gis_service_point_feeder_id"), "gis_service_point", ["feeder_id"], unique=False
    )
    op.create_index(
        op.f("ix_gis_service_point_node_id"), "gis_service_point", ["node_id"], unique=False
    )
    op.create_index(
        op.f("ix_gis_service_point_transformer_id"),
        "gis_service_point",
        ["transformer_id"],
        unique=False,
    )
    op.create_foreign_key(
        op.f("fk_gis_feeder_head_node_id_gis_network_node"),
        "gis_feeder",
        "gis_network_node",
        ["head_node_id"],
        ["id"],
        ondelete="SET NULL",
    )
    _add_provenance_columns()
    for statement in NETWORK_VERSION_SQL:
        op.execute(statement)
    for table in GIS_TABLES:
        for statement in enable_audit_sql(table):
            op.execute(statement)
        if table == "gis_feeder":
            continue  # a feeder's shape is that of its segments
        # Geometry must be valid (OGC) wherever it is present.
        op.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT ck_{table}_geom_valid "
            f"CHECK (geom IS NULL OR ST_IsValid(geom))"
        )


# Tables whose assets remember the feeder that brought them (imports, generator).
HOME_FEEDER_TABLES = (
    "gis_network_node",
    "gis_power_transformer",
    "gis_line_segment",
    "gis_switch",
    "gis_service_point",
)


def _add_provenance_columns() -> None:
    for table in HOME_FEEDER_TABLES:
        op.add_column(table, sa.Column("home_feeder_id", sa.BigInteger(), nullable=True))
        op.create_foreign_key(
            op.f(f"fk_{table}_home_feeder_id_gis_feeder"),
            table,
            "gis_feeder",
            ["home_feeder_id"],
            ["id"],
            ondelete="SET NULL",
        )
        op.create_index(op.f(f"ix_{table}_home_feeder_id"), table, ["home_feeder_id"])
    for table in ("gis_line_segment", "gis_switch"):
        op.add_column(
            table,
            sa.Column(
                "attributes",
                postgresql.JSONB(astext_type=sa.Text()),
                server_default="{}",
                nullable=False,
            ),
        )


# The network version: one row whose numbers change (from a sequence, so a number is never
# reused, even after a rollback) with every statement that changes the graph. ``version``
# follows the structure: nodes, edges and their ends, service-point attachments, feeder
# heads; ``switch_version`` follows switch states only (``is_open``), which operators change
# all the time: a process's cached trace graph then reloads the switch states alone, not
# the structure. The trace's own feeder_id/transformer_id updates bump neither.
_TOPOLOGY_TRIGGERS = {
    "gis_network_node": "",
    "gis_line_segment": "from_node_id, to_node_id",
    "gis_switch": "from_node_id, to_node_id",
    "gis_power_transformer": "hv_node_id, lv_node_id",
    "gis_service_point": "node_id",
    "gis_feeder": "code, head_node_id",
}
NETWORK_VERSION_SQL = [
    "CREATE SEQUENCE gis_network_version_seq",
    "CREATE TABLE gis_network_state (id smallint PRIMARY KEY CHECK (id = 1), "
    "version bigint NOT NULL, switch_version bigint NOT NULL, "
    "changed_at timestamptz NOT NULL DEFAULT now())",
    "INSERT INTO gis_network_state (id, version, switch_version) "
    "VALUES (1, nextval('gis_network_version_seq'), nextval('gis_network_version_seq'))",
    """CREATE FUNCTION gis_bump_network_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE gis_network_state SET version = nextval('gis_network_version_seq'), changed_at = now()
  WHERE id = 1;
  RETURN NULL;
END
$$""",
    """CREATE FUNCTION gis_bump_switch_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE gis_network_state
  SET switch_version = nextval('gis_network_version_seq'), changed_at = now()
  WHERE id = 1;
  RETURN NULL;
END
$$""",
    *(
        f"CREATE TRIGGER gis_network_version AFTER INSERT OR DELETE OR TRUNCATE"
        f"{' OR UPDATE OF ' + columns if columns else ''} ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION gis_bump_network_version()"
        for table, columns in _TOPOLOGY_TRIGGERS.items()
    ),
    "CREATE TRIGGER gis_switch_state_version AFTER UPDATE OF is_open ON gis_switch "
    "FOR EACH STATEMENT EXECUTE FUNCTION gis_bump_switch_version()",
]


def downgrade() -> None:
    op.execute("DROP TABLE gis_network_state")
    op.execute("DROP SEQUENCE gis_network_version_seq")
    op.drop_constraint(
        op.f("fk_gis_feeder_head_node_id_gis_network_node"), "gis_feeder", type_="foreignkey"
    )
    op.drop_index(op.f("ix_gis_service_point_transformer_id"), table_name="gis_service_point")
    op.drop_index(op.f("ix_gis_service_point_node_id"), table_name="gis_service_point")
    op.drop_index(op.f("ix_gis_service_point_feeder_id"), table_name="gis_service_point")
    op.drop_index(
        "idx_gis_service_point_geom", table_name="gis_service_point", postgresql_using="gist"
    )
    op.drop_table("gis_service_point")
    op.drop_index(op.f("ix_gis_line_segment_transformer_id"), table_name="gis_line_segment")
    op.drop_index(op.f("ix_gis_line_segment_to_node_id"), table_name="gis_line_segment")
    op.drop_index(op.f("ix_gis_line_segment_from_node_id"), table_name="gis_line_segment")
    op.drop_index(op.f("ix_gis_line_segment_feeder_id"), table_name="gis_line_segment")
    op.drop_index(
        "idx_gis_line_segment_geom", table_name="gis_line_segment", postgresql_using="gist"
    )
    op.drop_table("gis_line_segment")
    op.drop_index(op.f("ix_gis_switch_to_node_id"), table_name="gis_switch")
    op.drop_index(op.f("ix_gis_switch_from_node_id"), table_name="gis_switch")
    op.drop_index(op.f("ix_gis_switch_feeder_id"), table_name="gis_switch")
    op.drop_index("idx_gis_switch_geom", table_name="gis_switch", postgresql_using="gist")
    op.drop_table("gis_switch")
    op.drop_index(op.f("ix_gis_power_transformer_lv_node_id"), table_name="gis_power_transformer")
    op.drop_index(op.f("ix_gis_power_transformer_hv_node_id"), table_name="gis_power_transformer")
    op.drop_index(op.f("ix_gis_power_transformer_feeder_id"), table_name="gis_power_transformer")
    op.drop_index(
        "idx_gis_power_transformer_geom",
        table_name="gis_power_transformer",
        postgresql_using="gist",
    )
    op.drop_table("gis_power_transformer")
    op.drop_index(op.f("ix_gis_network_node_feeder_id"), table_name="gis_network_node")
    op.drop_index(
        "idx_gis_network_node_geom", table_name="gis_network_node", postgresql_using="gist"
    )
    op.drop_table("gis_network_node")
    op.drop_index(op.f("ix_gis_feeder_substation_id"), table_name="gis_feeder")
    op.drop_table("gis_feeder")
    op.drop_index("idx_gis_substation_geom", table_name="gis_substation", postgresql_using="gist")
    op.drop_table("gis_substation")
    op.execute("DROP FUNCTION gis_bump_network_version()")
    op.execute("DROP FUNCTION gis_bump_switch_version()")
