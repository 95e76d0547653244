"""The quote engine on hand-computed amounts (XOF: francs, no minor unit)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from field.connections.pricing import ExtraLine, PricingError, price_quote
from tests.connections.conftest import KVA6, PRICES


def test_distance_beyond_included_length_poles_tax_and_deposit() -> None:
    q = price_quote(PRICES, connection_type="mono", distance_m=Decimal(150), subscribed_kva=KVA6)
    # extra = 150 - 30 = 120 m; cable = 120 x 2 500 = 300 000
    # poles = ceil(120 / 40) = 3 -> 3 x 85 000 = 255 000
    # subtotal = 150 000 + 300 000 + 255 000 + 45 000 (meter) = 750 000
    # tax = 18 % x 750 000 = 135 000; deposit = 6 kVA x 10 000 = 60 000 (not taxed)
    # total = 750 000 + 135 000 + 60 000 = 945 000
    assert q.extra_length_m == Decimal("120.0")
    assert q.poles == 3
    assert [(line.code, line.amount) for line in q.lines] == [
        ("connection", 150000),
        ("cable", 300000),
        ("poles", 255000),
        ("meter", 45000),
        ("deposit", 60000),
    ]
    assert (q.subtotal, q.tax, q.deposit, q.total) == (750000, 135000, 60000, 945000)


def test_within_included_length_no_cable_no_pole() -> None:
    q = price_quote(PRICES, connection_type="mono", distance_m=Decimal(25), subscribed_kva=KVA6)
    # subtotal = 150 000 + 45 000 = 195 000; tax = 0.18 x 195 000 = 35 100
    # total = 195 000 + 35 100 + 60 000 = 290 100
    assert [line.code for line in q.lines] == ["connection", "meter", "deposit"]
    assert (q.subtotal, q.tax, q.total) == (195000, 35100, 290100)


def test_fractional_metres_and_a_started_span() -> None:
    q = price_quote(PRICES, connection_type="mono", distance_m=Decimal("71.3"), subscribed_kva=KVA6)
    # extra = 41.3 m; cable = 41.3 x 2 500 = 103 250; poles = ceil(41.3 / 40) = 2 -> 170 000
    # subtotal = 150 000 + 103 250 + 170 000 + 45 000 = 468 250
    # tax = 0.18 x 468 250 = 84 285; total = 468 250 + 84 285 + 60 000 = 612 535
    assert (q.subtotal, q.tax, q.total, q.poles) == (468250, 84285, 612535, 2)


def test_tax_rounds_half_up_once() -> None:
    q = price_quote(PRICES, connection_type="mono", distance_m=Decimal("30.1"), subscribed_kva=KVA6)
    # extra = 0.1 m; cable = 0.1 x 2 500 = 250; poles = ceil(0.1 / 40) = 1 -> 85 000
    # subtotal = 150 000 + 250 + 85 000 + 45 000 = 280 250
    # tax = 0.18 x 280 250 = 50 445 exactly; total = 280 250 + 50 445 + 60 000 = 390 695
    assert (q.subtotal, q.tax, q.total) == (280250, 50445, 390695)


def test_power_change_has_no_meter_line_and_a_bigger_deposit() -> None:
    q = price_quote(
        PRICES,
        connection_type="tri",
        distance_m=Decimal(10),
        subscribed_kva=Decimal(12),
        include_meter=False,
    )
    # subtotal = 420 000; tax = 75 600; deposit = 12 x 10 000 = 120 000; total = 615 600
    assert (q.subtotal, q.tax, q.deposit, q.total) == (420000, 75600, 120000, 615600)


@pytest.mark.parametrize(
    ("kind", "kva", "distance"),
    [("none", KVA6, Decimal(1)), ("mono", Decimal(12), Decimal(1)), ("mono", KVA6, Decimal(-1))],
)
def test_refused(kind: str, kva: Decimal, distance: Decimal) -> None:
    with pytest.raises(PricingError):
        price_quote(PRICES, connection_type=kind, distance_m=distance, subscribed_kva=kva)


def test_extra_lines_are_works_taxed_and_rounded_once_each() -> None:
    q = price_quote(
        PRICES,
        connection_type="mono",
        distance_m=Decimal(110),
        subscribed_kva=KVA6,
        extra_lines=(
            ExtraLine("Road crossing", Decimal(2), 35000),
            ExtraLine("Trench in rock (m)", Decimal("2.5"), 1999),
        ),
    )
    # extra = 80 m; cable = 80 x 2 500 = 200 000; poles = ceil(80 / 40) = 2 -> 170 000
    # road crossing = 2 x 35 000 = 70 000; trench = 2.5 x 1 999 = 4 997.5 -> 4 998 (half-up)
    # subtotal = 150 000 + 200 000 + 170 000 + 45 000 + 70 000 + 4 998 = 639 998
    # tax = 0.18 x 639 998 = 115 199.64 -> 115 200; deposit 60 000; total = 815 198
    assert [(line.code, line.amount) for line in q.lines] == [
        ("connection", 150000),
        ("cable", 200000),
        ("poles", 170000),
        ("meter", 45000),
        ("extra", 70000),
        ("extra", 4998),
        ("deposit", 60000),
    ]
    assert (q.subtotal, q.tax, q.total) == (639998, 115200, 815198)
    with pytest.raises(PricingError):
        price_quote(
            PRICES,
            connection_type="mono",
            distance_m=Decimal(10),
            subscribed_kva=KVA6,
            extra_lines=(ExtraLine("Nothing", Decimal(0), 100),),
        )
