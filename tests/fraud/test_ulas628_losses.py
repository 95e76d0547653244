"""On the real ULAS628 feeder (../shared/datasets/grid), technical losses come from an
OpenDSS load flow: the balance's loss is what the engine computed for that load."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.context import SYSTEM
from fraud.models import LossCalibration, ZoneBalance, ZoneLossModel
from fraud.service import compute_balances, measure_losses
from gis import service as gis_service
from gis.models import Feeder, PowerTransformer
from tests.fraud.conftest import Net, local

pytestmark = pytest.mark.dataset

MARCH, APRIL = date(2025, 3, 1), date(2025, 4, 1)
NOMINAL = 3  # index of multiplier 1.0 in fraud.loadflow.MULTIPLIERS
KWH = Decimal("0.001")


def test_ulas628_losses_come_from_the_opendss_load_flow(db: Session, datasets_dir: Path) -> None:
    folder = datasets_dir / "grid" / "bdgd_ULAS628_dss"
    gis_service.import_network(db, actor=SYSTEM, path=folder)
    result = measure_losses(db, actor=SYSTEM, folder=folder)

    # The engine's own figures at the feeder's nominal load (daily shapes, 24 x 1 h): the
    # head takes ~30.7 MWh a day (SOURCE.md), and the feeder zone's losses are the engine's
    # circuit losses less the negligible substation line before the head.
    head_in, head_loss = result.feeder_zone.energy_in[NOMINAL], result.feeder_zone.losses[NOMINAL]
    assert head_in == pytest.approx(30_693, rel=1e-3)
    assert head_loss == pytest.approx(result.circuit_losses[NOMINAL], rel=1e-6)
    assert 400 < head_loss < 700  # kWh a day: ~1.7 % of the energy in
    # Losses grow faster than the load (I²R): twice the load, more than twice the load loss.
    no_load = result.feeder_zone.losses[0]
    assert result.feeder_zone.losses[-1] - no_load > 2 * (head_loss - no_load)

    feeder = db.scalars(select(Feeder).where(Feeder.code == "ULAS628")).one()
    stored = db.scalars(select(ZoneLossModel).where(ZoneLossModel.feeder_id == feeder.id)).one()
    assert stored.method == "opendss" and stored.samples == result.feeder_zone.samples()
    transformer = db.scalars(
        select(PowerTransformer).where(PowerTransformer.code == "416658")
    ).one()
    flow = result.transformers["416658"]
    calibration = db.scalars(select(LossCalibration).order_by(LossCalibration.id.desc())).first()
    # The load-and-length model, calibrated on the zones with customers downstream (those
    # feeding nothing but their own iron are left out): its constants were within a factor 2.
    assert calibration is not None and 0 < calibration.zones < len(result.transformers) == 25
    assert 0.5 < calibration.no_load_factor < 2 and 0.5 < calibration.load_factor < 2

    # A month at exactly the nominal load: 31 days of the engine's daily energy in.
    net = Net(db, "")  # the imported codes, unprefixed
    days = 31
    for kwh_per_day, zone in (
        (head_in, {"feeder": "ULAS628"}),
        (flow.energy_in[NOMINAL], {"transformer": "416658"}),
    ):
        meter = net.zone_meter(local(date(2025, 2, 1)), **zone)
        energy = Decimal(str(round(kwh_per_day * days, 3)))
        meter.reads((local(MARCH), 1_000), (local(APRIL), Decimal(1_000) + energy))
    compute_balances(db, actor=SYSTEM, first=MARCH, last=MARCH)

    def balance(**zone: int) -> ZoneBalance:
        key = next(iter(zone))
        return db.scalars(
            select(ZoneBalance).where(
                getattr(ZoneBalance, key) == zone[key], ZoneBalance.period_start == MARCH
            )
        ).one()

    at_feeder = balance(feeder_id=feeder.id)
    assert at_feeder.loss_method == "opendss"
    expected = Decimal(str(round(stored.samples[NOMINAL][1] * days, 3)))
    assert at_feeder.technical_loss_kwh == pytest.approx(expected, abs=Decimal("0.002"))
    assert at_feeder.technical_loss_kwh == pytest.approx(
        Decimal(head_loss * days), rel=Decimal("1e-6")
    )
    at_transformer = balance(transformer_id=transformer.id)
    assert at_transformer.loss_method == "opendss"
    # 416658 (150 kVA): its zone burns ~12.5 kWh a day at nominal load, per the engine.
    assert at_transformer.technical_loss_kwh == pytest.approx(
        Decimal(flow.losses[NOMINAL] * days).quantize(KWH), abs=Decimal("0.002")
    )
    assert at_transformer.technical_loss_kwh > 300
    # Nobody downstream is metered in this test: the zone is not analysable, the loss shown.
    assert at_transformer.reason == "no_metered_usage_points"
