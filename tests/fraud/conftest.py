"""Fraud test helpers: the hand-drawn two-feeder network of ``tests.gis.networks``
imported for real, customers on its service points, meters, zone meters and reads.

Reads are written straight into ``meter_reading`` as accepted (what the demo utility and
an AMI head-end feed do), so that a test states exactly which index points exist,
estimates included; the balance reads only the stored table.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from core.context import SYSTEM
from core.periods import zone
from customers.models import ServiceLocation, UsagePoint
from gis import service as gis_service
from gis.models import Feeder, PowerTransformer, ServicePoint
from meters import service as meters_service
from meters.models import Meter, Register
from meters.readings.partitions import ensure_reading_partitions
from meters.readings.rule_sets import active_rule_set
from meters.schemas import MeterCreate
from meters.zone_models import ZoneMeterInstallation
from tests.gis.networks import small_network, write


def local(day: date, hour: int = 0) -> datetime:
    """An instant of the utility's local calendar (Africa/Porto-Novo: UTC+1, no DST)."""
    return datetime.combine(day, time(hour), tzinfo=zone())


@dataclass
class Net:
    db: Session
    prefix: str

    def transformer(self, code: str) -> PowerTransformer:
        return self.db.scalars(
            select(PowerTransformer).where(PowerTransformer.code == self.prefix + code)
        ).one()

    def feeder(self, code: str) -> Feeder:
        return self.db.scalars(select(Feeder).where(Feeder.code == self.prefix + code)).one()

    def _meter(self, digits: int = 6) -> tuple[Meter, int]:
        meter = meters_service.create_meter(
            self.db,
            data=MeterCreate(
                serial=f"FM{uuid.uuid4().hex[:10].upper()}", meter_type="smart", dial_digits=digits
            ),
        )
        register = self.db.scalar(select(Register.id).where(Register.meter_id == meter.id))
        return meter, int(register)

    def customer(self, service_point: str, installed_at: datetime, start: int = 0) -> Customer:
        """A usage point at the premises on ``service_point`` with a meter fitted."""
        point = self.db.scalars(
            select(ServicePoint).where(ServicePoint.code == self.prefix + service_point)
        ).one()
        code = uuid.uuid4().hex[:10]
        location = ServiceLocation(
            code=f"SL-{code}", address_line="Rue 1", service_point_id=point.id
        )
        self.db.add(location)
        self.db.flush()
        usage_point = UsagePoint(
            code=f"UP-{code}",
            service_location_id=location.id,
            category="residential",
            subscribed_power_kva=3,
        )
        self.db.add(usage_point)
        self.db.flush()
        meter, register = self._meter()
        installation = meters_service.install_meter(
            self.db,
            meter_id=meter.id,
            usage_point_id=usage_point.id,
            installed_at=installed_at,
            start_index=start,
        )
        return Customer(self.db, meter.id, register, installation.id, usage_point.id)

    def zone_meter(
        self, installed_at: datetime, *, transformer: str | None = None, feeder: str | None = None
    ) -> Customer:
        meter, register = self._meter(digits=9)
        self.db.add(
            ZoneMeterInstallation(
                meter_id=meter.id,
                transformer_id=self.transformer(transformer).id if transformer else None,
                feeder_id=self.feeder(feeder).id if feeder else None,
                installed_at=installed_at,
            )
        )
        self.db.flush()
        return Customer(self.db, meter.id, register, None, None)


@dataclass
class Customer:
    """A meter's register and where its reads go (zone meters have no usage point)."""

    db: Session
    meter_id: int
    register_id: int
    installation_id: int | None
    usage_point_id: int | None

    def reads(self, *points: tuple[datetime, float] | tuple[datetime, float, str]) -> None:
        ensure_reading_partitions(self.db, [p[0] for p in points])
        version = active_rule_set(self.db).version
        for at, value, *source in points:
            self.db.execute(
                text(
                    "INSERT INTO meter_reading (read_at, register_id, meter_id, installation_id,"
                    " usage_point_id, value, source, status, rule_set_version) VALUES"
                    " (:at, :r, :m, :i, :u, :v, :s, 'accepted', :version)"
                ),
                {
                    "at": at,
                    "r": self.register_id,
                    "m": self.meter_id,
                    "i": self.installation_id,
                    "u": self.usage_point_id,
                    "v": Decimal(str(value)),
                    "s": source[0] if source else "ami",
                    "version": version,
                },
            )


@pytest.fixture()
def net(db: Session, tmp_path: Path) -> Net:
    """The small network (F1: T1 with B1, B2; T2 with D1, D2; T3 with E1), imported."""
    prefix = f"Z{uuid.uuid4().hex[:5].upper()}"
    path = write(tmp_path / "net.geojson", small_network(prefix))
    gis_service.import_network(db, actor=SYSTEM, path=path)
    return Net(db, prefix)
