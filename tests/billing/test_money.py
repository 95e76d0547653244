"""core.money: exponents from CLDR, each rounding mode on exact values, formatting."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from core.money import (
    CurrencyUnknownError,
    Money,
    RoundingMode,
    format_money,
    minor_exponent,
    round_minor,
    to_major,
    to_minor,
)

HALF_UP, HALF_EVEN, DOWN, UP = (
    RoundingMode.HALF_UP,
    RoundingMode.HALF_EVEN,
    RoundingMode.DOWN,
    RoundingMode.UP,
)


def test_minor_unit_exponents_come_from_iso_4217_data() -> None:
    assert [minor_exponent(c) for c in ("XOF", "XAF", "EUR", "BRL", "JPY", "KWD")] == [
        0,
        0,
        2,
        2,
        0,
        3,
    ]
    with pytest.raises(CurrencyUnknownError):
        minor_exponent("ZZZ")


@pytest.mark.parametrize(
    ("value", "mode", "expected"),
    [
        # 12.345 EUR is 1234.5 cents: a tie.
        ("12.345", HALF_UP, 1235),
        ("12.345", HALF_EVEN, 1234),  # 1234 is even
        ("12.355", HALF_EVEN, 1236),  # 1236 is even
        ("12.345", DOWN, 1234),
        ("12.341", UP, 1235),
        ("12.349", DOWN, 1234),
        # credits round symmetrically
        ("-12.345", HALF_UP, -1235),
        ("-12.349", DOWN, -1234),
        ("-12.341", UP, -1235),
    ],
)
def test_each_rounding_mode_on_a_euro_amount(value: str, mode: RoundingMode, expected: int) -> None:
    assert to_minor(Decimal(value), "EUR", mode) == expected


def test_xof_has_no_decimals_and_rounds_to_steps() -> None:
    assert to_minor(Decimal("322.5"), "XOF", HALF_UP) == 323
    assert to_minor(Decimal("322.5"), "XOF", HALF_EVEN) == 322
    # 1000 XOF for 10 of 31 days = 322.580645...: to 5 francs, half-up 325, down 320.
    assert to_minor(Fraction(10000, 31), "XOF", HALF_UP, step_minor=5) == 325
    assert to_minor(Fraction(10000, 31), "XOF", DOWN, step_minor=5) == 320


def test_a_fraction_near_a_tie_is_not_a_tie() -> None:
    # 1/3 of a centime above 0.5: never rounds down by half-even or half-up.
    assert round_minor(Fraction(1, 2) + Fraction(1, 3 * 10**15), HALF_EVEN) == 1
    assert round_minor(Fraction(1, 2) - Fraction(1, 3 * 10**15), HALF_UP) == 0
    # a full month of a 31-day proration is exactly the monthly charge
    assert round_minor(sum([Fraction(1000, 31)] * 31, Fraction(0)), DOWN) == 1000


def test_money_keeps_its_currency() -> None:
    assert Money.of("12.345", "EUR") == Money(1235, "EUR")
    assert (Money(100, "XOF") + Money(50, "XOF")).minor == 150
    assert Money(1235, "EUR").major == Decimal("12.35")
    assert to_major(1235, "KWD") == Decimal("1.235")
    with pytest.raises(ValueError, match="cannot combine"):
        Money(1, "XOF") + Money(1, "EUR")
    with pytest.raises(TypeError):
        Money(1.5, "EUR")  # type: ignore[arg-type]


def test_formatting_follows_the_locale() -> None:
    assert format_money(12500, "XOF", "fr_BJ") == "12\u202f500\xa0F\u202fCFA"
    assert format_money(1250, "BRL", "pt_BR") == "R$\xa012,50"
    assert format_money(1250, "EUR", "fr_FR") == "12,50\xa0€"
