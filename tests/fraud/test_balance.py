"""Zone energy balances on a hand-made network with hand-computed expectations."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.context import SYSTEM
from core.periods import Period
from fraud import alignment
from fraud.models import ZoneBalance
from fraud.service import compute_balances
from tests.fraud.conftest import Net, local

MARCH = date(2025, 3, 1)
APRIL = date(2025, 4, 1)


def _balance(db: Session, *, transformer_id=None, feeder_id=None, month=MARCH) -> ZoneBalance:
    return db.scalars(
        select(ZoneBalance).where(
            ZoneBalance.transformer_id.is_not_distinct_from(transformer_id),
            ZoneBalance.feeder_id.is_not_distinct_from(feeder_id),
            ZoneBalance.period_start == month,
        )
    ).one()


def test_a_balance_built_by_hand_matches_to_the_kwh(db: Session, net: Net) -> None:
    # T1's zone in March 2025 (local: 31 days = 744 h): zone meter 10 000 -> 11 100 kWh,
    # B1 100 -> 500, B2 0 -> 450, all read at the month's local midnights.
    t1 = net.transformer("T1")
    net.zone_meter(local(date(2025, 2, 1)), transformer="T1").reads(
        (local(MARCH), 10_000), (local(APRIL), 11_100)
    )
    b1 = net.customer("B1", local(date(2025, 2, 1)), start=100)
    b1.reads((local(MARCH), 100), (local(APRIL), 500))
    b2 = net.customer("B2", local(date(2025, 2, 1)))
    b2.reads((local(MARCH), 0), (local(APRIL), 450))

    compute_balances(db, actor=SYSTEM, first=MARCH, last=MARCH)
    balance = _balance(db, transformer_id=t1.id)

    # Technical loss, load-and-length model (fraud.losses, no calibration stored), T1 is
    # 100 kVA with no LV length drawn: hours x (no-load + copper), P = 1100 / 744 kW:
    #   no-load = 6.5 x 100^0.75 W = 205.548 W
    #   copper  = 0.012 x 100 kVA x (P / (100 x 0.9))^2 x 1.4 (form factor)
    hours, power = 744, 1100 / 744
    no_load = 6.5 * 100**0.75 / 1000
    copper = 0.012 * 100 * (power / (100 * 0.9)) ** 2 * 1.4
    loss = Decimal(str(hours * (no_load + copper))).quantize(Decimal("0.001"))
    assert loss == Decimal("153.265")  # 152.928 no-load + 0.337 copper
    assert balance.energy_in_kwh == Decimal("1100.000")
    assert balance.metered_kwh == Decimal("850.000")
    assert balance.unmetered_kwh == Decimal("0.000")
    assert balance.technical_loss_kwh == loss
    assert balance.loss_method == "load_length"
    # NTL = energy in - metered downstream - technical loss = 1100 - 850 - 153.265
    assert balance.ntl_kwh == Decimal("96.735")
    assert balance.ntl_share == Decimal("0.087941")  # 96.735 / 1100
    assert (balance.analysable, balance.reason) == (True, None)
    assert (balance.usage_points, balance.usage_points_unread) == (2, 0)
    assert balance.estimated_kwh == Decimal("0.000")


def test_a_zone_without_zone_meter_data_is_not_analysable_never_zero(db: Session, net: Net) -> None:
    # F1 has no zone meter at all; T2 has one whose reads stop mid-month; T3's customer is
    # read but its transformer has no meter either.
    net.zone_meter(local(date(2025, 2, 1)), transformer="T2").reads(
        (local(MARCH), 5_000), (local(date(2025, 3, 20)), 5_400)
    )
    d1 = net.customer("D1", local(date(2025, 2, 1)))
    d1.reads((local(MARCH), 0), (local(APRIL), 300))
    e1 = net.customer("E1", local(date(2025, 2, 1)))
    e1.reads((local(MARCH), 0), (local(APRIL), 200))

    compute_balances(db, actor=SYSTEM, first=MARCH, last=MARCH)
    f1 = _balance(db, feeder_id=net.feeder("F1").id)
    t2 = _balance(db, transformer_id=net.transformer("T2").id)
    t3 = _balance(db, transformer_id=net.transformer("T3").id)

    assert (f1.analysable, f1.reason) == (False, "no_zone_meter")
    assert (t3.analysable, t3.reason) == (False, "no_zone_meter")
    assert (t2.analysable, t2.reason) == (False, "zone_meter_reads_missing")
    for balance in (f1, t2, t3):
        assert balance.energy_in_kwh is None
        assert balance.ntl_kwh is None and balance.ntl_share is None
        assert balance.technical_loss_kwh is None
        assert not balance.flagged
    # What the customers' meters say is still shown.
    assert t3.metered_kwh == Decimal("200.000")
    assert f1.metered_kwh == Decimal("500.000")  # D1 + E1: the feeder holds both


def test_reads_across_month_boundaries_are_prorated_by_time(db: Session, net: Net) -> None:
    # D1 (on T2): reads 16 Feb (0), 16 Mar (280, an estimate), 11 Apr (800), local midnights.
    #   16 Feb -> 16 Mar: 28 days, 280 kWh; 15 of them in March -> 280 x 15/28 = 150 (est.)
    #   16 Mar -> 11 Apr: 26 days, 520 kWh; 16 of them in March -> 520 x 16/26 = 320
    # D2 (on T2): fitted 1 Mar at index 0, read 21 Mar (200) and not since: its reads cover
    #   20 of the 31 days it had a meter -> 200 x 31/20 = 310, of which 110 extrapolated.
    d1 = net.customer("D1", local(date(2025, 1, 1)))
    d1.reads(
        (local(date(2025, 2, 16)), 0),
        (local(date(2025, 3, 16)), 280, "estimated"),
        (local(date(2025, 4, 11)), 800),
    )
    d2 = net.customer("D2", local(MARCH))
    d2.reads((local(date(2025, 3, 21)), 200))

    p_from, p_to = Period.month(MARCH).bounds_utc()
    zones = alignment.downstream(db, p_from, p_to)
    t2 = zones[("transformer", net.transformer("T2").id)]
    assert t2.kwh.quantize(Decimal("0.001")) == Decimal("780.000")  # 150 + 320 + 310
    assert t2.estimated_kwh.quantize(Decimal("0.001")) == Decimal("260.000")  # 150 + 110
    assert (t2.usage_points, t2.unread) == (2, 0)
    # February gets D1's first 13 days of the interval: 280 x 13/28 = 130; D2 had no meter.
    february = alignment.downstream(db, *Period.month(date(2025, 2, 1)).bounds_utc())
    t2_feb = february[("transformer", net.transformer("T2").id)]
    assert t2_feb.kwh.quantize(Decimal("0.001")) == Decimal("130.000")
    assert t2_feb.usage_points == 1


def test_a_usage_point_with_no_read_in_reach_is_unread_and_blocks_the_balance(
    db: Session, net: Net
) -> None:
    # T1 metered, B1 read, B2's meter never read: 1 of 2 usage points unread (> 10 %).
    net.zone_meter(local(date(2025, 2, 1)), transformer="T1").reads(
        (local(MARCH), 0), (local(APRIL), 900)
    )
    net.customer("B1", local(date(2025, 2, 1))).reads((local(MARCH), 0), (local(APRIL), 400))
    net.customer("B2", local(date(2025, 2, 1)))
    compute_balances(db, actor=SYSTEM, first=MARCH, last=MARCH)
    t1 = _balance(db, transformer_id=net.transformer("T1").id)
    assert (t1.analysable, t1.reason) == (False, "too_many_unread")
    assert (t1.usage_points, t1.usage_points_unread) == (2, 1)
    assert t1.energy_in_kwh == Decimal("900.000") and t1.ntl_kwh is None
