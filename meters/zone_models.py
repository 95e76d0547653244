"""Zone (boundary) meters: meters that measure the energy entering a part of the network
rather than a customer's usage point, so that energy balances can compare what went in
with what customers' meters recorded.

A zone meter is an ordinary ``meter_asset`` with registers and readings in
``meter_reading`` (with no usage point); this table says where it is fitted and when.
Territory: a zone installation lies where its transformer stands, or where its feeder's
head (source) node is.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ColumnElement,
    DateTime,
    ForeignKey,
    or_,
    text,
)
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.models import Base, IdMixin, TimestampMixin
from core.territory import Scope, through
from gis.models import Feeder, PowerTransformer

_PERIOD = "tstzrange(installed_at, removed_at, '[)')"


class ZoneMeterInstallation(IdMixin, TimestampMixin, Base):
    """A zone meter fitted at a distribution transformer (LV side: the energy into its LV
    zone) or at the head of an MV feeder (the energy into the feeder), from installation to
    removal. A meter measures one zone at a time and a zone has one meter at a time
    (exclusion constraints on [installed_at, removed_at))."""

    __tablename__ = "meter_zone_installation"
    __table_args__ = (
        CheckConstraint("num_nonnulls(transformer_id, feeder_id) = 1", name="one_zone"),
        CheckConstraint("removed_at IS NULL OR removed_at > installed_at", name="dates"),
        ExcludeConstraint(
            (text("meter_id"), "="),
            (text(_PERIOD), "&&"),
            name="ex_meter_zone_installation_meter",
            using="gist",
        ),
        ExcludeConstraint(
            (text("transformer_id"), "="),
            (text(_PERIOD), "&&"),
            name="ex_meter_zone_installation_transformer",
            using="gist",
            where=text("transformer_id IS NOT NULL"),
        ),
        ExcludeConstraint(
            (text("feeder_id"), "="),
            (text(_PERIOD), "&&"),
            name="ex_meter_zone_installation_feeder",
            using="gist",
            where=text("feeder_id IS NOT NULL"),
        ),
    )

    meter_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("meter_asset.id"), index=True)
    transformer_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("gis_power_transformer.id", ondelete="CASCADE"), index=True
    )
    feeder_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("gis_feeder.id", ondelete="CASCADE"), index=True
    )
    installed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        return zone_in(scope, ZoneMeterInstallation)


def zone_in(scope: Scope, zone: Any) -> ColumnElement[bool]:
    """The zone installation ``zone`` (the class or an alias of it) lies in the scope where
    its transformer, or its feeder, does (the network's own rules)."""
    return or_(
        through(PowerTransformer, zone.transformer_id, scope),
        through(Feeder, zone.feeder_id, scope),
    )
