"""Money: integer minor units plus an ISO 4217 currency, explicit rounding, babel formatting.

The one home for money in Kilowatch (DESIGN.md §4). An amount is an ``int`` of the
currency's minor unit (centimes, centavos; the franc itself for XOF and XAF, which have no
decimals) tagged with its currency code. The minor-unit exponent comes from babel's CLDR
currency data, so a new currency needs no table here.

Amounts are computed exactly (``decimal.Decimal`` prices and quantities, ``Fraction`` for
day-count proration, never ``float``) and rounded once, where a bill says so, with an
explicit mode: half-up, half-even (banker's), down (truncate toward zero) or up (away from
zero). A tie is a tie only on the exact value: 0.5 centime rounds by the mode, 0.4999...
never does.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import (
    ROUND_DOWN,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    ROUND_UP,
    Decimal,
    localcontext,
)
from enum import StrEnum
from fractions import Fraction
from functools import lru_cache

from babel.numbers import format_currency, get_currency_precision, is_currency

from core.settings import get_settings

Exact = Decimal | Fraction | int


class RoundingMode(StrEnum):
    """How a computed amount or quantity becomes a billable one. Negative values (credits)
    round symmetrically: half-up and up go away from zero, down goes toward zero."""

    HALF_UP = "half_up"
    HALF_EVEN = "half_even"
    DOWN = "down"  # truncate toward zero
    UP = "up"  # away from zero


_DECIMAL_MODES = {
    RoundingMode.HALF_UP: ROUND_HALF_UP,
    RoundingMode.HALF_EVEN: ROUND_HALF_EVEN,
    RoundingMode.DOWN: ROUND_DOWN,
    RoundingMode.UP: ROUND_UP,
}

# Digits kept when a Fraction (a day-count share such as 10/31) becomes a Decimal before
# rounding. Our denominators stay far below 10**20, so a non-terminating value lies at
# least 10**-20 away from any tie or integer: 60 digits can never move it across one.
_EXACT_DIGITS = 60


class CurrencyUnknownError(ValueError):
    """Not an ISO 4217 code known to CLDR."""


@lru_cache(maxsize=64)
def minor_exponent(currency: str) -> int:
    """Decimals of ``currency``'s minor unit (XOF 0, EUR 2, BRL 2, KWD 3), from CLDR."""
    if not is_currency(currency):
        raise CurrencyUnknownError(f"{currency!r} is not an ISO 4217 currency code")
    return int(get_currency_precision(currency))


def minor_quantum(currency: str) -> Decimal:
    """One minor unit in major units: ``Decimal('0.01')`` for EUR, ``Decimal('1')`` for XOF."""
    return Decimal(1).scaleb(-minor_exponent(currency))


def as_decimal(value: Exact) -> Decimal:
    """``value`` as a Decimal, exact for Decimal and int, to 60 digits for a Fraction."""
    if isinstance(value, Fraction):
        with localcontext() as ctx:
            ctx.prec = _EXACT_DIGITS
            return Decimal(value.numerator) / Decimal(value.denominator)
    return Decimal(value)


def round_to(value: Exact, quantum: Decimal, mode: RoundingMode) -> Decimal:
    """``value`` rounded to a multiple of ``quantum`` (``Decimal('1')``, ``Decimal('0.01')``,
    or a coarser step such as ``Decimal('5')`` or ``Decimal('0.05')``) by ``mode``."""
    if quantum <= 0:
        raise ValueError("a rounding step must be positive")
    with localcontext() as ctx:
        ctx.prec = _EXACT_DIGITS
        steps = (as_decimal(value) / quantum).quantize(Decimal(1), rounding=_DECIMAL_MODES[mode])
        return steps * quantum


def to_minor(value: Exact, currency: str, mode: RoundingMode, step_minor: int = 1) -> int:
    """A major-unit amount (``Decimal('12.345')`` EUR) as integer minor units (1235 with
    half-up), rounded to a multiple of ``step_minor`` minor units (5: to five centimes)."""
    minor = Fraction(value) * 10 ** minor_exponent(currency)  # exact for all three types
    return round_minor(minor, mode, step_minor)


def round_minor(value: Exact, mode: RoundingMode, step_minor: int = 1) -> int:
    """An exact amount already in minor units (a tax of 18 % on 1234 centimes: 222.12)
    rounded to a multiple of ``step_minor`` minor units."""
    if step_minor < 1:
        raise ValueError("a rounding step is at least one minor unit")
    return int(round_to(value, Decimal(step_minor), mode))


def to_major(minor: int, currency: str) -> Decimal:
    """Integer minor units as an exact Decimal of major units (1235 EUR -> 12.35)."""
    return Decimal(minor).scaleb(-minor_exponent(currency))


@dataclass(frozen=True, slots=True)
class Money:
    """An amount in integer minor units of one currency. Adding two currencies is an error,
    not a conversion."""

    minor: int
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.minor, int) or isinstance(self.minor, bool):
            raise TypeError("money is an integer of minor units")
        minor_exponent(self.currency)  # refuses an unknown code

    @classmethod
    def of(
        cls, major: Exact | str, currency: str, mode: RoundingMode = RoundingMode.HALF_UP
    ) -> Money:
        """``Money.of("12.345", "EUR")`` -> 1235 cents (half-up by default: say otherwise)."""
        value = Decimal(major) if isinstance(major, str) else major
        return cls(to_minor(value, currency, mode), currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @property
    def major(self) -> Decimal:
        return to_major(self.minor, self.currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def format(self, locale: str | None = None) -> str:
        """The amount as a person reads it in ``locale`` (settings.locale by default):
        ``12 500 F CFA`` in fr_BJ, ``R$ 12,50`` in pt_BR."""
        return format_money(self.minor, self.currency, locale)


def format_money(minor: int, currency: str, locale: str | None = None) -> str:
    """Integer minor units formatted with babel in ``locale`` (settings.locale by default),
    always with the currency's own number of decimals."""
    return str(
        format_currency(
            to_major(minor, currency),
            currency,
            locale=locale or get_settings().locale,
            currency_digits=True,
        )
    )
