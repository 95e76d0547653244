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
from sqlalchemy.sql import ColumnElement, and_, exists, or_

from core.models import Base, IdMixin, TimestampMixin
from core.territory import Scope

SRID = 4326


def _point() -> Any:
    return Geometry("POINT", srid=SRID, spatial_index=True)


def _at_or_from_node(scope: Scope, geom: Any, node_id: Any) -> ColumnElement[bool]:
    """Inside the territory by its own geometry, or (drawn without one) by the node it
    starts from: an undrawn switch still sits somewhere on the network."""
    return or_(
        scope.covers(geom),
        and_(
            geom.is_(None),
            exists().where(NetworkNode.id == node_id, scope.covers(NetworkNode.geom)),
        ),
    )


def _home_feeder() -> Any:
    # The feeder whose import (or generation) brought the asset: exports select by it. Unlike
    # the traced ``feeder_id`` it does not change when switches are operated.
    return mapped_column(
        BigInteger, ForeignKey("gis_feeder.id", ondelete="SET NULL"), index=True, nullable=True
    )


class Substation(IdMixin, TimestampMixin, Base):
    """A primary (HV/MV) substation: the source of one or more MV feeders."""

    __tablename__ = "gis_substation"

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:  # by its point or area
        return scope.covers(Substation.geom)

    code: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text, default="", server_default="")
    primary_kv: Mapped[float | None] = mapped_column(Float)
    secondary_kv: Mapped[float | None] = mapped_column(Float)
    # Point or polygon (OpenStreetMap maps substations as areas).
    geom: Mapped[Any] = mapped_column(Geometry("GEOMETRY", srid=SRID, spatial_index=True))


class Feeder(IdMixin, TimestampMixin, Base):
    """An MV feeder: the circuit leaving a substation breaker, from its head node down."""

    __tablename__ = "gis_feeder"

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        # By its lines: a feeder is in every territory one of its segments (traced now, or
        # brought by its import) runs through.
        return exists().where(
            or_(LineSegment.feeder_id == Feeder.id, LineSegment.home_feeder_id == Feeder.id),
            scope.covers(LineSegment.geom),
        )

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

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:  # by its point
        return scope.covers(NetworkNode.geom)

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

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:  # by its point
        return scope.covers(PowerTransformer.geom)

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

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:  # by its line, else its start
        return _at_or_from_node(scope, LineSegment.geom, LineSegment.from_node_id)

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

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:  # by its point, else its node
        return _at_or_from_node(scope, Switch.geom, Switch.from_node_id)

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

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:  # by its point
        return scope.covers(ServicePoint.geom)

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
