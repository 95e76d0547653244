"""The rating function, component by component, with hand-computed amounts (the formula
in a comment). Prices in XOF unless said: no decimals, so the rounding shows."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.tariffs.definition import LineKind
from billing.tariffs.errors import TariffNotInForceError, UsageInvalidError
from tests.billing.tariffs import amounts, bill, energy, fixture, one, versions

FLAT_100 = energy((None, 100))
SOCIAL = energy(
    (20, 79),
    (250, 109),
    (None, 115),
    block0={"granted_to": [{"categories": ["residential"]}, {"max_kva": "3"}], "lost_above": "20"},
)

# -- fixed charges -------------------------------------------------------------------------


def test_flat_fixed_charge_per_month_and_for_a_partial_period() -> None:
    tariff = one({"fixed_charges": [{"code": "abo", "amount": "1000"}], "energy": [FLAT_100]})
    # a whole month: 1000 x 1
    assert amounts(bill(tariff, "2025-01-01", "2025-02-01")) == [("abo", 1000)]
    # 10..19 January (first day in, 20th out): 1000 x 10/31 = 322.58 -> 323
    assert amounts(bill(tariff, "2025-01-10", "2025-01-20")) == [("abo", 323)]
    # February is a whole month too: 1000 x 28/28
    assert amounts(bill(tariff, "2025-02-01", "2025-03-01")) == [("abo", 1000)]
    # 15..31 Jan + 1..14 Feb: 1000 x (17/31 + 14/28) = 548.39 + 500 = 1048.39 -> 1048
    assert amounts(bill(tariff, "2025-01-15", "2025-02-15")) == [("abo", 1048)]


def test_fixed_charge_per_subscribed_kva() -> None:
    tariff = one(
        {
            "fixed_charges": [{"code": "power", "basis": "per_kva", "amount": "2.0733"}],
            "energy": [FLAT_100],
        },
        currency="EUR",
    )
    # 2.0733 EUR x 6 kVA x 1 month = 12.4398 EUR -> 1244 cents
    b = bill(tariff, "2025-03-01", "2025-04-01", subscribed_kva=6)
    assert amounts(b) == [("power", 1244)]
    assert b.lines[0].quantity == Decimal(6) and b.lines[0].unit == "kVA·month"
    with pytest.raises(UsageInvalidError):
        bill(tariff, "2025-03-01", "2025-04-01")  # no subscribed power


def test_fixed_charge_by_power_class() -> None:
    tariff = one(
        {
            "fixed_charges": [
                {"code": "small", "amount": "500", "applies_to": {"max_kva": "3"}},
                {"code": "large", "amount": "1500", "applies_to": {"min_kva": "3.001"}},
            ],
            "energy": [FLAT_100],
        }
    )
    assert amounts(bill(tariff, "2025-03-01", "2025-04-01", subscribed_kva=3)) == [("small", 500)]
    assert amounts(bill(tariff, "2025-03-01", "2025-04-01", subscribed_kva=6)) == [("large", 1500)]


# -- energy blocks -------------------------------------------------------------------------

BLOCKS = [(100, 50), (200, 60), (None, 70)]


def test_incremental_blocks_price_each_kwh_in_its_block() -> None:
    tariff = one({"energy": [energy(*BLOCKS)]})
    # 100 x 50 + 100 x 60 + 50 x 70 = 5000 + 6000 + 3500
    b = bill(tariff, "2025-03-01", "2025-04-01", 250)
    assert amounts(b) == [("kwh", 5000), ("kwh", 6000), ("kwh", 3500)]
    assert [line.block for line in b.lines] == [0, 1, 2]
    assert b.total == 14500


def test_block_reached_prices_the_whole_volume_at_the_block_reached() -> None:
    tariff = one({"energy": [energy(*BLOCKS, mode="block_reached")]})
    # 250 kWh reach the third block: 250 x 70
    assert amounts(bill(tariff, "2025-03-01", "2025-04-01", 250)) == [("kwh", 17500)]
    # 100 kWh is still in the first block (up_to is inclusive): 100 x 50
    assert amounts(bill(tariff, "2025-03-01", "2025-04-01", 100)) == [("kwh", 5000)]
    # 101 kWh reach the second: 101 x 60
    assert amounts(bill(tariff, "2025-03-01", "2025-04-01", 101)) == [("kwh", 6060)]


def test_block_widths_follow_the_period_length() -> None:
    tariff = one({"energy": [energy(*BLOCKS)]})
    # 1..15 April is half a month: blocks 0-50 and 50-100; 120 kWh: 50x50 + 50x60 + 20x70
    assert amounts(bill(tariff, "2025-04-01", "2025-04-16", 120)) == [
        ("kwh", 2500),
        ("kwh", 3000),
        ("kwh", 1400),
    ]


# -- social block --------------------------------------------------------------------------


def test_social_block_granted_by_category_and_lost_above_the_ceiling() -> None:
    tariff = one({"energy": [SOCIAL]})
    # residential, 20 kWh: 20 x 79
    assert amounts(bill(tariff, "2025-03-01", "2025-04-01", 20)) == [("kwh", 1580)]
    # 21 kWh: the social block is lost, the next block starts at 0: 21 x 109
    assert amounts(bill(tariff, "2025-03-01", "2025-04-01", 21)) == [("kwh", 2289)]
    # 300 kWh: 250 x 109 + 50 x 115 = 27250 + 5750
    assert amounts(bill(tariff, "2025-03-01", "2025-04-01", 300)) == [
        ("kwh", 27250),
        ("kwh", 5750),
    ]


def test_social_block_granted_by_power_class_only() -> None:
    tariff = one({"energy": [SOCIAL]})
    # a shop (not residential) on 6 kVA does not get it: 15 x 109
    shop = bill(tariff, "2025-03-01", "2025-04-01", 15, category="commercial", subscribed_kva=6)
    assert amounts(shop) == [("kwh", 1635)]
    # a shop on 3 kVA is in the small power class: 15 x 79
    small = bill(tariff, "2025-03-01", "2025-04-01", 15, category="commercial", subscribed_kva=3)
    assert amounts(small) == [("kwh", 1185)]


def test_lifeline_ceiling_above_its_own_block() -> None:
    tariff = one({"energy": [energy((50, 40), (None, 80), block0={"lost_above": "100"})]})
    # 100 kWh keeps it: 50 x 40 + 50 x 80 = 2000 + 4000
    assert bill(tariff, "2025-03-01", "2025-04-01", 100).total == 6000
    # 101 kWh lose it: 101 x 80
    assert bill(tariff, "2025-03-01", "2025-04-01", 101).total == 8080


# -- time of use and seasons ---------------------------------------------------------------

TOU = {
    "energy": [
        energy((None, 200), code="peak-summer", register="peak", months=[6, 7, 8]),
        energy((None, 150), code="peak", register="peak", months=[1, 2, 3, 4, 5, 9, 10, 11, 12]),
        energy((None, 90), code="offpeak", register="offpeak"),
    ]
}


def test_time_of_use_registers_in_a_season() -> None:
    tariff = one(TOU)
    # August: 10 x 200 + 20 x 90
    b = bill(tariff, "2025-08-01", "2025-09-01", {"peak": 10, "offpeak": 20})
    assert amounts(b) == [("peak-summer", 2000), ("offpeak", 1800)]


def test_a_period_across_the_end_of_a_season_is_cut_there() -> None:
    tariff = one(TOU)
    # 16 Aug .. 15 Sep: months 16/31 + 15/30 = 63/62; August carries 32/63 of the kWh.
    # 63 kWh peak: 32 x 200 + 31 x 150; 63 kWh off-peak: 32 x 90 + 31 x 90
    b = bill(tariff, "2025-08-16", "2025-09-16", {"peak": 63, "offpeak": 63})
    assert amounts(b) == [
        ("peak-summer", 6400),
        ("offpeak", 2880),
        ("peak", 4650),
        ("offpeak", 2790),
    ]


# -- surcharges ----------------------------------------------------------------------------


def test_dated_surcharge_per_kwh_prices_only_its_days() -> None:
    tariff = one(
        {
            "energy": [FLAT_100],
            "surcharges": [
                {
                    "code": "fuel",
                    "amount": "5",
                    "valid_from": "2025-01-16",
                    "valid_to": "2025-03-01",
                }
            ],
        }
    )
    # 1..15 Jan carries 15/31 of 310 kWh = 150, 16..31 Jan 160: energy 150 x 100, 160 x 100,
    # the adder on 160 kWh only: 160 x 5
    assert amounts(bill(tariff, "2025-01-01", "2025-02-01", 310)) == [
        ("kwh", 15000),
        ("kwh", 16000),
        ("fuel", 800),
    ]


def test_surcharge_per_100_kwh_is_pro_rata() -> None:
    tariff = fixture("br_b1_residencial.yaml")
    # October 2024 (bandeira vermelha): 150 kWh = 1.5 x 4.463 BRL = 6.6945 -> 669 centavos
    b = bill(tariff, "2024-10-01", "2024-11-01", 150)
    (line,) = b.lines_of(LineKind.SURCHARGE)
    assert (line.quantity, line.amount, line.unit) == (Decimal("1.5"), 669, "100 kWh")


# -- minimums ------------------------------------------------------------------------------


def test_minimum_billed_consumption_by_connection_type() -> None:
    tariff = fixture("br_b1_residencial.yaml")
    # December 2024 (no bandeira), 20 kWh single-phase: billed 30 kWh x 0.78325 = 23.4975
    # -> 2350 centavos, then grossed up (see the tax test)
    mono = bill(tariff, "2024-12-01", "2025-01-01", 20, connection_type="single_phase")
    assert [(line.component, line.quantity, line.amount) for line in mono.lines[:2]] == [
        ("disponibilidade-mono", Decimal(10), 0),
        ("te-tusd", Decimal(30), 2350),
    ]
    # three-phase: 100 kWh x 0.78325 = 78.325 -> 7833 (half-up)
    tri = bill(tariff, "2024-12-01", "2025-01-01", 20, connection_type="three_phase")
    assert tri.lines_of(LineKind.ENERGY)[0].amount == 7833


def test_minimum_charge_tops_up_to_the_floor() -> None:
    tariff = one(
        {
            "energy": [FLAT_100],
            "minimums": [
                {
                    "code": "min",
                    "charge": "2000",
                    "applies_to": {"connection_types": ["three_phase"]},
                }
            ],
        }
    )
    # 10 kWh x 100 = 1000 < 2000: topped up by 1000
    assert amounts(bill(tariff, "2025-03-01", "2025-04-01", 10, connection_type="three_phase")) == [
        ("kwh", 1000),
        ("min", 1000),
    ]
    # above the floor: nothing added; another connection type: no floor
    assert amounts(bill(tariff, "2025-03-01", "2025-04-01", 25, connection_type="three_phase")) == [
        ("kwh", 2500)
    ]
    assert amounts(bill(tariff, "2025-03-01", "2025-04-01", 10)) == [("kwh", 1000)]


# -- levies and taxes ----------------------------------------------------------------------


def test_taxes_on_taxes_in_order() -> None:
    tariff = fixture("fr_bleu_base.yaml")
    b = bill(tariff, "2025-03-01", "2025-04-01", 150, subscribed_kva=6)
    assert amounts(b) == [
        ("abonnement", 1244),  # 2.0733 x 6 = 12.4398 EUR
        ("energie", 3024),  # 150 x 0.2016 = 30.24
        ("accise", 338),  # 150 x 0.0225 = 3.375 -> 3.38
        ("cta", 187),  # 15 % of 1244 = 186.6 -> 187
        ("tva", 959),  # 20 % of (1244 + 3024 + 338 + 187 = 4793) = 958.6 -> 959
    ]
    assert b.lines[-1].tax_base == 4793
    assert (b.net, b.taxes, b.total) == (4606, 1146, 5752)


def test_included_taxes_are_grossed_up_from_the_net_tariff() -> None:
    tariff = fixture("br_b1_residencial.yaml")
    b = bill(tariff, "2024-10-01", "2024-11-01", 150)
    # net: 150 x 0.78325 = 117.4875 -> 11749; bandeira 669; base 12418
    # gross = 12418 / (1 - (0.18 + 0.011 + 0.0508)) = 12418 / 0.7582 = 16378.26
    # ICMS 0.18 x 16378.26 = 2948.09 -> 2948; PIS 180.16 -> 180; COFINS 832.02 -> 832
    taxes = b.lines_of(LineKind.TAX)
    assert [(t.component, t.tax_base, t.amount) for t in taxes] == [
        ("icms", 16378, 2948),
        ("pis", 16378, 180),
        ("cofins", 16378, 832),
    ]
    # the public-lighting contribution (15.00) is outside the tax base
    assert b.total == 11749 + 669 + 1500 + 2948 + 180 + 832


def test_exemption_threshold_on_the_whole_or_on_the_excess() -> None:
    def tariff(basis: str):  # type: ignore[no-untyped-def]
        return one(
            {
                "energy": [energy((None, 10))],
                "taxes": [
                    {
                        "code": "vat",
                        "rate": "0.1",
                        "base": ["energy"],
                        "exempt_up_to": {"kwh": "100", "basis": basis},
                    }
                ],
            }
        )

    # at the threshold: exempt
    assert amounts(bill(tariff("whole"), "2025-03-01", "2025-04-01", 100)) == [("kwh", 1000)]
    # 150 kWh, whole: 10 % of 1500
    assert amounts(bill(tariff("whole"), "2025-03-01", "2025-04-01", 150))[-1] == ("vat", 150)
    # 150 kWh, excess: 10 % of 1500 x (150 - 100) / 150 = 10 % of 500
    b = bill(tariff("excess"), "2025-03-01", "2025-04-01", 150)
    assert (b.lines[-1].tax_base, b.lines[-1].amount) == (500, 50)


def test_social_fixture_exempts_the_social_block_and_levies_once_per_bill() -> None:
    tariff = fixture("sbee_bt_domestique.yaml")
    # 15 kWh residential: 400 + 15 x 79 = 1585, levy 100, no VAT (<= 20 kWh); total 1685
    assert bill(tariff, "2025-03-01", "2025-04-01", 15).total == 1685
    # 150 kWh: 400 + 150 x 109 = 16750, VAT 18 % = 3015, levy 100: 19865 (a multiple of 5)
    b = bill(tariff, "2025-03-01", "2025-04-01", 150)
    assert (b.net, b.taxes, b.rounding, b.total) == (16850, 3015, 0, 19865)
    # 151 kWh: 400 + 16459 = 16859, VAT 3034.62 -> 3035, levy 100: 19994 -> 19995 (to 5 F)
    b = bill(tariff, "2025-03-01", "2025-04-01", 151)
    assert (b.net, b.taxes, b.rounding, b.total) == (16959, 3035, 1, 19995)


# -- proration across a price change -------------------------------------------------------


def test_proration_across_a_price_and_tax_change() -> None:
    tariff = versions(
        (
            "2024-01-01",
            {
                "fixed_charges": [{"code": "abo", "amount": "1000"}],
                "energy": [FLAT_100],
                "taxes": [{"code": "vat", "rate": "0.18", "base": ["energy", "fixed"]}],
            },
        ),
        (
            "2025-01-16",
            {
                "fixed_charges": [{"code": "abo", "amount": "1200"}],
                "energy": [energy((None, 120))],
                "taxes": [{"code": "vat", "rate": "0.20", "base": ["energy", "fixed"]}],
            },
        ),
    )
    b = bill(tariff, "2025-01-01", "2025-02-01", 310)
    # 1..15 Jan: 15/31 month, 150 kWh; 16..31 Jan: 16/31 month, 160 kWh
    assert amounts(b) == [
        ("abo", 484),  # 1000 x 15/31 = 483.87
        ("kwh", 15000),  # 150 x 100
        ("vat", 2787),  # 18 % of 15484 = 2787.12
        ("abo", 619),  # 1200 x 16/31 = 619.35
        ("kwh", 19200),  # 160 x 120
        ("vat", 3964),  # 20 % of 19819 = 3963.8
    ]
    assert [(line.start.day, line.end.day) for line in b.lines[::3]] == [(1, 16), (16, 1)]


def test_consumption_is_spread_evenly_by_month_not_by_day() -> None:
    tariff = versions(
        ("2024-01-01", {"energy": [energy((100, 50), (None, 70))]}),
        ("2025-02-01", {"energy": [energy((100, 60), (None, 80))]}),
    )
    # January and February are one month each: 200 kWh each whatever their days
    # Jan: 100 x 50 + 100 x 70; Feb: 100 x 60 + 100 x 80
    assert amounts(bill(tariff, "2025-01-01", "2025-03-01", 400)) == [
        ("kwh", 5000),
        ("kwh", 7000),
        ("kwh", 6000),
        ("kwh", 8000),
    ]


def test_a_period_before_the_first_version_is_refused() -> None:
    tariff = versions(("2025-01-01", {"energy": [FLAT_100]}))
    with pytest.raises(TariffNotInForceError):
        bill(tariff, "2024-12-15", "2025-01-15", 10)


# -- rounding ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "expected"), [("half_up", 13), ("half_even", 12), ("down", 12), ("up", 13)]
)
def test_each_line_rounding_mode(mode: str, expected: int) -> None:
    # 1 kWh x 0.125 EUR = 12.5 cents: a tie
    tariff = one({"energy": [energy((None, "0.125"), rounding={"mode": mode})]}, currency="EUR")
    assert bill(tariff, "2025-03-01", "2025-04-01", 1).total == expected


@pytest.mark.parametrize(("mode", "expected"), [("half_up", 325), ("down", 320), ("up", 325)])
def test_line_rounding_to_a_step(mode: str, expected: int) -> None:
    # 1000 x 10/31 = 322.58 XOF to a multiple of 5
    tariff = one(
        {
            "fixed_charges": [
                {"code": "abo", "amount": "1000", "rounding": {"mode": mode, "step": 5}}
            ],
            "energy": [FLAT_100],
        }
    )
    assert bill(tariff, "2025-01-10", "2025-01-20").total == expected


@pytest.mark.parametrize(
    ("mode", "kwh"), [("half_up", 151), ("half_even", 150), ("down", 150), ("up", 151)]
)
def test_kwh_rounding(mode: str, kwh: int) -> None:
    tariff = one({"kwh_rounding": {"step": "1", "mode": mode}, "energy": [FLAT_100]})
    b = bill(tariff, "2025-03-01", "2025-04-01", "150.5")
    assert b.kwh == {"total": Decimal(kwh)} and b.total == kwh * 100


def test_total_rounding_is_a_line_of_its_own() -> None:
    tariff = one(
        {
            "energy": [FLAT_100],
            "levies": [{"code": "fee", "amount": "3"}],
            "total_rounding": {"step": 5, "mode": "down"},
        }
    )
    # 12 x 100 + 3 = 1203 -> 1200 to 5 francs down: a rounding line of -3
    b = bill(tariff, "2025-03-01", "2025-04-01", 12)
    assert (b.net, b.rounding, b.total) == (1203, -3, 1200)
    assert b.lines[-1].kind is LineKind.ROUNDING and b.lines[-1].amount == -3


# -- what does not fit the tariff ----------------------------------------------------------


def test_consumption_that_does_not_fit_the_tariff_is_refused_by_field() -> None:
    tariff = one(TOU)
    with pytest.raises(UsageInvalidError) as refused:
        bill(tariff, "2025-03-01", "2025-04-01", {"total": 10, "peak": -1})
    assert sorted((e.field, e.code) for e in refused.value.errors) == [
        ("kwh.offpeak", "missing"),
        ("kwh.peak", "negative"),
        ("kwh.total", "register_unpriced"),
    ]
