"""Zone (boundary) meters: meters that measure the energy entering a part of the network
rather than a customer's usage point, so that energy balances can compare what went in
with what customers' meters recorded.

A zone meter is an ordinary ``meter_asset`` with registers and readings in
``meter_reading`` (with no usage point); this table says where it is fitted and when.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, ForeignKey, text
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.models import Base, IdMixin, TimestampMixin

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
