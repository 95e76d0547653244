"""What one version of a tariff says: its charges, blocks, surcharges, minimums, levies and
taxes, each with its own rounding. Stored as JSON in ``billing_tariff_version.definition``,
read and written as YAML or JSON (``billing.tariffs.documents``), rated by
``billing.tariffs.rating.rate``.

Units and conventions (the rating module states the day-count rule):
- prices are in the tariff currency's MAJOR unit as exact decimals with up to 8 decimals
  (109.8765 XOF/kWh is a real published price even though XOF has no decimals);
- every kWh bound, ceiling, threshold and minimum is MONTHLY: a bill of 1.5 months has
  blocks 1.5 times as wide;
- tax rates are fractions (``0.18`` for 18 %).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.money import RoundingMode

Code = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z0-9][a-z0-9_-]*$")]
Label = Annotated[str, Field(max_length=120)]
Price = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=8)]
Kwh = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=3)]
Kva = Annotated[Decimal, Field(ge=0, max_digits=10, decimal_places=3)]
Name = Annotated[str, Field(min_length=1, max_length=40)]
TaxRate = Annotated[Decimal, Field(ge=0, lt=1, max_digits=9, decimal_places=6)]


class LineKind(StrEnum):
    """What a bill line is: tax bases name these kinds (or component codes)."""

    FIXED = "fixed"
    ENERGY = "energy"
    SURCHARGE = "surcharge"
    MINIMUM = "minimum"
    LEVY = "levy"
    TAX = "tax"
    ROUNDING = "rounding"


TAXABLE_KINDS = frozenset(
    {LineKind.FIXED, LineKind.ENERGY, LineKind.SURCHARGE, LineKind.MINIMUM, LineKind.LEVY}
)


class _Part(BaseModel):
    # ``register`` is a field name in documents, but a method of every pydantic model: the
    # attribute is ``register_name``; documents are read and written by alias.
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Eligibility(_Part):
    """Which customers a component applies to; an unset criterion admits everyone, set
    criteria must all hold. kVA bounds are inclusive; a customer with no subscribed power is
    outside any power class."""

    categories: list[Name] | None = Field(None, max_length=50)
    connection_types: list[Name] | None = Field(None, max_length=50)
    min_kva: Kva | None = None
    max_kva: Kva | None = None

    def admits(self, category: str, connection_type: str, kva: Decimal | None) -> bool:
        if self.categories is not None and category not in self.categories:
            return False
        if self.connection_types is not None and connection_type not in self.connection_types:
            return False
        if self.min_kva is None and self.max_kva is None:
            return True
        if kva is None:
            return False
        return (self.min_kva is None or kva >= self.min_kva) and (
            self.max_kva is None or kva <= self.max_kva
        )


EVERYONE = Eligibility()


class MoneyRounding(_Part):
    """How a computed amount becomes a billed one: a multiple of ``step`` minor units."""

    mode: RoundingMode = RoundingMode.HALF_UP
    step: int = Field(1, ge=1, le=1_000_000)


class KwhRounding(_Part):
    """How metered kWh become billed kWh (per register, before anything is priced)."""

    mode: RoundingMode = RoundingMode.HALF_UP
    step: Decimal = Field(Decimal(1), gt=0, le=1000, max_digits=10, decimal_places=6)


class Component(_Part):
    code: Code
    label: Label = ""
    applies_to: Eligibility = EVERYONE
    rounding: MoneyRounding = MoneyRounding()


class FixedCharge(Component):
    """A standing charge per month: flat, or per subscribed kVA (a power charge)."""

    basis: Literal["flat", "per_kva"] = "flat"
    amount: Price


class Block(_Part):
    """One energy block: monthly kWh up to ``up_to`` (inclusive; None: no upper bound) at
    ``price``. A social (lifeline) block is ``granted_to`` some customers only (any of the
    listed classes) and/or ``lost_above`` a monthly consumption: when not granted, the
    block disappears and the next block starts where it started."""

    up_to: Kwh | None = None
    price: Price
    label: Label = ""
    granted_to: list[Eligibility] | None = Field(None, max_length=20)
    lost_above: Kwh | None = None

    @property
    def is_conditional(self) -> bool:
        return self.granted_to is not None or self.lost_above is not None


class EnergyCharge(Component):
    """Energy of one register (``total``, or a time-of-use register such as ``peak``)
    priced in blocks. ``incremental``: each kWh at the price of the block it falls in;
    ``block_reached``: the whole volume at the price of the block the consumption reaches.
    ``months`` makes it seasonal: it prices only the days of those calendar months."""

    register_name: Name = Field("total", alias="register")
    mode: Literal["incremental", "block_reached"] = "incremental"
    blocks: list[Block] = Field(min_length=1, max_length=50)
    months: list[Annotated[int, Field(ge=1, le=12)]] | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _blocks_ordered(self) -> EnergyCharge:
        bounds = [b.up_to for b in self.blocks]
        if bounds[-1] is not None:
            raise ValueError("the last block has no upper bound (up_to: null)")
        if any(b is None for b in bounds[:-1]):
            raise ValueError("only the last block may have no upper bound")
        finite = [b for b in bounds[:-1] if b is not None]
        if any(lo >= hi for lo, hi in zip([Decimal(0), *finite], finite, strict=False)):
            raise ValueError("block bounds must increase strictly from 0")
        if self.blocks[-1].is_conditional:
            raise ValueError("the last block cannot be conditional: someone must pay for kWh")
        return self


class Surcharge(Component):
    """A dated adder on energy (fuel, scarcity): ``amount`` per kWh or per 100 kWh (pro
    rata, not per started 100) on the days ``[valid_from, valid_to)``."""

    per: Literal["kwh", "100kwh"] = "kwh"
    amount: Price
    valid_from: date | None = None
    valid_to: date | None = None  # exclusive
    registers: list[Name] | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _dates_ordered(self) -> Surcharge:
        if self.valid_from and self.valid_to and self.valid_to <= self.valid_from:
            raise ValueError("a surcharge must end after it starts")
        return self

    def in_force(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day < self.valid_to
        )


class Minimum(Component):
    """A floor by connection type (``applies_to``): a minimum billed consumption (monthly
    ``kwh``, the shortfall added to ``register`` before pricing) or a minimum charge
    (monthly ``charge`` on fixed + energy + surcharges before taxes, topped up)."""

    kwh: Kwh | None = None
    register_name: Name = Field("total", alias="register")
    charge: Price | None = None

    @model_validator(mode="after")
    def _one_floor(self) -> Minimum:
        if (self.kwh is None) == (self.charge is None):
            raise ValueError("a minimum is either kwh or charge")
        return self


class Levy(Component):
    """A flat amount per bill (a TV licence, a meter rental, a street-lighting fee) or per
    month (prorated)."""

    per: Literal["bill", "month"] = "bill"
    amount: Price


class Threshold(_Part):
    """A tax applies only above ``kwh`` monthly: on the ``whole`` base once above, or on the
    ``excess`` (the share of the base that the kWh above the threshold are of all kWh)."""

    kwh: Kwh
    basis: Literal["excess", "whole"] = "whole"


class Tax(Component):
    """A tax or levy at ``rate`` on the lines named by ``base`` (line kinds such as ``energy``,
    component codes, or earlier taxes' codes: taxes on taxes, in list order). ``included``:
    the tariff prices are net and the tax is "por dentro": grossed up so that it is ``rate``
    of the gross (all included taxes together: gross = net / (1 - sum of rates))."""

    rate: TaxRate
    # Not "on": YAML 1.1 reads that key as the boolean true.
    base: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field(
        min_length=1, max_length=30
    )
    included: bool = False
    exempt_up_to: Threshold | None = None


class TariffDefinition(_Part):
    """The content of one tariff version."""

    kwh_rounding: KwhRounding = KwhRounding()
    fixed_charges: list[FixedCharge] = Field(default_factory=list, max_length=30)
    energy: list[EnergyCharge] = Field(min_length=1, max_length=30)
    surcharges: list[Surcharge] = Field(default_factory=list, max_length=30)
    minimums: list[Minimum] = Field(default_factory=list, max_length=30)
    levies: list[Levy] = Field(default_factory=list, max_length=30)
    taxes: list[Tax] = Field(default_factory=list, max_length=30)
    total_rounding: MoneyRounding = MoneyRounding()

    @property
    def registers(self) -> frozenset[str]:
        """The registers this version prices."""
        return frozenset(e.register_name for e in self.energy)

    def components(self) -> list[Component]:
        return [
            *self.fixed_charges,
            *self.energy,
            *self.surcharges,
            *self.minimums,
            *self.levies,
            *self.taxes,
        ]

    @model_validator(mode="after")
    def _consistent(self) -> TariffDefinition:
        codes = [c.code for c in self.components()]
        duplicates = sorted({c for c in codes if codes.count(c) > 1})
        if duplicates:
            raise ValueError(f"component codes must be unique: {', '.join(duplicates)}")
        kinds = {k.value for k in LineKind}
        clash = sorted(set(codes) & kinds)
        if clash:
            raise ValueError(f"a component code cannot be a line kind: {', '.join(clash)}")
        for minimum in self.minimums:
            if minimum.kwh is not None and minimum.register_name not in self.registers:
                raise ValueError(
                    f"minimum {minimum.code}: register {minimum.register_name} unpriced"
                )
        self._check_taxes(set(codes) - {t.code for t in self.taxes})
        return self

    def _check_taxes(self, component_codes: set[str]) -> None:
        earlier: set[str] = set()
        included_bases = {tuple(sorted(t.base)) for t in self.taxes if t.included}
        if len(included_bases) > 1:
            raise ValueError("included (grossed-up) taxes must share one base")
        taxable = {k.value for k in TAXABLE_KINDS}
        for tax in self.taxes:
            for item in tax.base:
                if item in taxable or item in component_codes:
                    continue
                if item in earlier:
                    if tax.included:
                        raise ValueError(f"included tax {tax.code} cannot be on another tax")
                    continue
                raise ValueError(
                    f"tax {tax.code}: {item!r} is neither a line kind, a component nor an "
                    "earlier tax"
                )
            earlier.add(tax.code)
