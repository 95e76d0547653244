"""The quote engine: a price list kept as data turns a request (connection type, measured
distance to the network, subscribed power) into priced lines, taxes, a deposit and a total.

Pure: no session. Amounts are integer minor units; prices and quantities are ``Decimal``
and every line is rounded once, half-up, as the quote prints it (core.money).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from core.money import RoundingMode, round_minor


class ConnectionTypePrice(BaseModel):
    """What one connection type (single-phase 6 kVA, three-phase 36 kVA ...) costs."""

    model_config = ConfigDict(extra="forbid")

    label: str
    max_kva: Decimal = Field(gt=0)
    base_fee: int = Field(ge=0)  # minor units, the connection itself
    included_length_m: Decimal = Field(ge=0)  # cable included in base_fee
    per_metre_beyond: int = Field(ge=0)  # minor units per metre beyond the included length
    meter_fee: int = Field(ge=0)
    tariff_code: str | None = None  # the tariff a new supply of this type starts on


class PriceListDefinition(BaseModel):
    """One version of the connection price list, as stored (JSONB) and edited."""

    model_config = ConfigDict(extra="forbid")

    currency: str = Field(min_length=3, max_length=3)
    tax_rate: Decimal = Field(ge=0, lt=1)  # VAT on works, e.g. 0.18
    pole_fee: int = Field(ge=0)  # minor units per pole
    pole_span_m: Decimal = Field(gt=0)  # one pole per started span of extension
    deposit_per_kva: int = Field(ge=0)  # guarantee deposit, not taxed
    connection_types: dict[str, ConnectionTypePrice] = Field(min_length=1)


@dataclass(frozen=True)
class QuoteLine:
    code: str
    label: str
    quantity: Decimal
    unit_price: int
    amount: int
    taxable: bool = True


@dataclass(frozen=True)
class PricedQuote:
    currency: str
    lines: tuple[QuoteLine, ...]
    subtotal: int  # taxable works
    tax: int
    deposit: int
    total: int  # subtotal + tax + deposit
    extra_length_m: Decimal
    poles: int


@dataclass(frozen=True)
class ExtraLine:
    """A line the desk adds to a quote for work the price list does not name (a road
    crossing, a trench in rock): quantity x unit price, taxed like the works."""

    label: str
    quantity: Decimal
    unit_price: int  # minor units


class PricingError(ValueError):
    """The request cannot be priced with this price list (unknown type, power too high)."""


def price_quote(
    price_list: PriceListDefinition,
    *,
    connection_type: str,
    distance_m: Decimal,
    subscribed_kva: Decimal,
    include_meter: bool = True,
    extra_lines: Sequence[ExtraLine] = (),
) -> PricedQuote:
    """Price a connection.

    extra   = max(0, distance - included_length)            (metres, 0.1 m kept)
    cable   = round(extra x per_metre_beyond)
    poles   = ceil(extra / pole_span)  x pole_fee
    added   = round(quantity x unit_price) per extra line    (half-up, each line once)
    subtotal = base_fee + cable + poles + meter_fee + added
    tax     = round(subtotal x tax_rate)                    (half-up, once)
    deposit = round(subscribed_kva x deposit_per_kva)       (not taxed: it is the customer's)
    total   = subtotal + tax + deposit
    """
    kind = price_list.connection_types.get(connection_type)
    if kind is None:
        raise PricingError(f"unknown connection type {connection_type!r}")
    if subscribed_kva <= 0 or subscribed_kva > kind.max_kva:
        raise PricingError(f"{connection_type} allows at most {kind.max_kva} kVA")
    if distance_m < 0:
        raise PricingError("the distance cannot be negative")
    extra = max(Decimal(0), distance_m - kind.included_length_m).quantize(Decimal("0.1"))
    poles = math.ceil(extra / price_list.pole_span_m) if extra > 0 else 0
    lines = [QuoteLine("connection", kind.label, Decimal(1), kind.base_fee, kind.base_fee)]
    if extra > 0:
        cable = round_minor(extra * kind.per_metre_beyond, RoundingMode.HALF_UP)
        lines.append(
            QuoteLine("cable", "Cable beyond included length", extra, kind.per_metre_beyond, cable)
        )
    if poles:
        lines.append(
            QuoteLine(
                "poles", "Poles", Decimal(poles), price_list.pole_fee, poles * price_list.pole_fee
            )
        )
    if include_meter:
        lines.append(
            QuoteLine("meter", "Meter and installation", Decimal(1), kind.meter_fee, kind.meter_fee)
        )
    for added in extra_lines:
        if added.quantity <= 0 or added.unit_price < 0:
            raise PricingError(f"the line {added.label!r} needs a positive quantity and price")
        amount = round_minor(added.quantity * added.unit_price, RoundingMode.HALF_UP)
        lines.append(QuoteLine("extra", added.label, added.quantity, added.unit_price, amount))
    subtotal = sum(line.amount for line in lines)
    tax = round_minor(subtotal * price_list.tax_rate, RoundingMode.HALF_UP)
    deposit = round_minor(subscribed_kva * price_list.deposit_per_kva, RoundingMode.HALF_UP)
    lines.append(
        QuoteLine(
            "deposit",
            "Guarantee deposit",
            subscribed_kva,
            price_list.deposit_per_kva,
            deposit,
            False,
        )
    )
    return PricedQuote(
        currency=price_list.currency,
        lines=tuple(lines),
        subtotal=subtotal,
        tax=tax,
        deposit=deposit,
        total=subtotal + tax + deposit,
        extra_length_m=extra,
        poles=poles,
    )
