"""The electrical network: substations, feeders, transformers, lines, switches, nodes and
the service points where customers attach.

Topology is a graph of ``NetworkNode`` (CIM ConnectivityNode) joined by conducting
equipment: line segments, switches and transformers each connect two nodes. Service points
hang off one node. Every geometry is stored in EPSG:4326; metric work is done in the
deployment's projected CRS (``KILOWATCH_PROJECTED_CRS``). The electrical address of an
asset (its feeder and transformer) is materialised by the trace job, and is stale while
its feeder is marked ``topology_dirty``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    Computed,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.models import Base, IdMixin, TimestampMixin

SRID = 4326


def _point() -> Any:
    return Geometry("POINT", srid=SRID, spatial_index=True)


def _home_feeder() -> Any:
    # The feeder whose import (or generation) brought the asset: exports select by it. Unlike
    # the traced ``feeder_id`` it does not change when switches are operated.
    return mapped_column(
        BigInteger, ForeignKey("gis_feeder.id", ondelete="SET NULL"), index=True, nullable=True
    )


class Substation(IdMixin, TimestampMixin, Base):
    """A primary (HV/MV) substation: the source of one or more MV feeders."""

    __tablename__ = "gis_substation"

    code: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text, default="", server_default="")
    primary_kv: Mapped[float | None] = mapped_column(Float)
    secondary_kv: Mapped[float | None] = mapped_column(Float)
    # Point or polygon (OpenStreetMap maps substations as areas).
    geom: Mapped[Any] = mapped_column(Geometry("GEOMETRY", srid=SRID, spatial_index=True))


class Feeder(IdMixin, TimestampMixin, Base):
    """An MV feeder: the circuit leaving a substation breaker, from its head node down."""

    __tablename__ = "gis_feeder"

    code: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text, default="", server_default="")
    substation_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("gis_substation.id", ondelete="SET NULL"), index=True
    )
    nominal_kv: Mapped[float | None] = mapped_column(Float)
    # The source terminal: traces start here.
    head_node_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("gis_network_node.id", ondelete="SET NULL", use_alter=True)
    )
    # True while switch or edge changes have not been re-traced yet.
    topology_dirty: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    traced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")


class NetworkNode(IdMixin, Base):
    """A connectivity node (bus): the point where two or more pieces of equipment join."""

    __tablename__ = "gis_network_node"

    code: Mapped[str] = mapped_column(Text, unique=True)
    geom: Mapped[Any | None] = mapped_column(_point(), nullable=True)
    location_precision: Mapped[str] = mapped_column(Text, default="surveyed")
    # Materialised by the trace: the feeder this node is energised from (None = isolated).
    feeder_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("gis_feeder.id", ondelete="SET NULL"), index=True
    )
    home_feeder_id: Mapped[int | None] = _home_feeder()


class PowerTransformer(IdMixin, TimestampMixin, Base):
    """A distribution transformer (MV/LV): supplies an LV zone of service points."""

    __tablename__ = "gis_power_transformer"

    code: Mapped[str] = mapped_column(Text, unique=True)
    rated_kva: Mapped[float] = mapped_column(Float)
    phases: Mapped[int] = mapped_column(Integer, default=3, server_default="3")
    primary_kv: Mapped[float | None] = mapped_column(Float)
    secondary_kv: Mapped[float | None] = mapped_column(Float)
    hv_node_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("gis_network_node.id"), index=True
    )
    lv_node_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("gis_network_node.id"), index=True
    )
    geom: Mapped[Any] = mapped_column(_point())
    location_precision: Mapped[str] = mapped_column(Text, default="surveyed")
    feeder_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("gis_feeder.id", ondelete="SET NULL"), index=True
    )
    home_feeder_id: Mapped[int | None] = _home_feeder()
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")


class LineSegment(IdMixin, TimestampMixin, Base):
    """A stretch of MV or LV conductor between two nodes (or a service drop, or a
    regulator, which conducts like a segment)."""

    __tablename__ = "gis_line_segment"

    code: Mapped[str] = mapped_column(Text, unique=True)
    voltage_level: Mapped[str] = mapped_column(Text)  # VoltageLevel
    kind: Mapped[str] = mapped_column(Text, default="unknown")  # SegmentKind
    conductor: Mapped[str | None] = mapped_column(Text)
    phases: Mapped[int | None] = mapped_column(Integer)
    length_m: Mapped[float | None] = mapped_column(Float)
    from_node_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("gis_network_node.id"), index=True
    )
    to_node_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("gis_network_node.id"), index=True
    )
    geom: Mapped[Any | None] = mapped_column(
        Geometry("LINESTRING", srid=SRID, spatial_index=True), nullable=True
    )
    location_precision: Mapped[str] = mapped_column(Text, default="surveyed")
    feeder_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("gis_feeder.id", ondelete="SET NULL"), index=True
    )
    transformer_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("gis_power_transformer.id", ondelete="SET NULL"), index=True
    )
    home_feeder_id: Mapped[int | None] = _home_feeder()
    # Source-specific facts (e.g. the OpenDSS line code, regulator settings).
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")


class Switch(IdMixin, TimestampMixin, Base):
    """A switching device between two nodes; traces stop at a switch that is open now."""

    __tablename__ = "gis_switch"

    code: Mapped[str] = mapped_column(Text, unique=True)
    kind: Mapped[str] = mapped_column(Text, default="disconnector")  # SwitchKind
    from_node_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("gis_network_node.id"), index=True
    )
    to_node_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("gis_network_node.id"), index=True
    )
    normal_open: Mapped[bool] = mapped_column(Boolean, default=False)
    is_open: Mapped[bool] = mapped_column(Boolean, default=False)
    geom: Mapped[Any | None] = mapped_column(_point(), nullable=True)
    feeder_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("gis_feeder.id", ondelete="SET NULL"), index=True
    )
    home_feeder_id: Mapped[int | None] = _home_feeder()
    # Source-specific facts (e.g. the BDGD device description, phases).
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")


class ServicePoint(IdMixin, TimestampMixin, Base):
    """A pole, cabinet or connection where customers attach to the LV (or MV) network.

    ``feeder_id`` and ``transformer_id`` are its electrical address, materialised by the
    trace; premises (customers.ServiceLocation) inherit it from here.
    """

    __tablename__ = "gis_service_point"

    code: Mapped[str] = mapped_column(Text, unique=True)
    kind: Mapped[str] = mapped_column(Text)  # ServicePointKind
    node_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("gis_network_node.id"), index=True)
    geom: Mapped[Any] = mapped_column(_point())
    # Web Mercator copy kept by PostgreSQL: vector tiles of dense cities read it directly
    # instead of reprojecting tens of thousands of points per tile.
    geom_3857: Mapped[Any] = mapped_column(
        Geometry("POINT", srid=3857, spatial_index=True),
        Computed("ST_Transform(geom, 3857)", persisted=True),
    )
    location_precision: Mapped[str] = mapped_column(Text, default="surveyed")
    feeder_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("gis_feeder.id", ondelete="SET NULL"), index=True
    )
    transformer_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("gis_power_transformer.id", ondelete="SET NULL"), index=True
    )
    home_feeder_id: Mapped[int | None] = _home_feeder()
    # Source-specific facts (e.g. BDGD consumer class, average kW, phases).
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
