"""The rating function: what a customer owes for a period's consumption under a tariff.

``rate(tariff, usage) -> Bill`` is pure: no database, no clock, no settings. The bill
calculator, billing-run simulation and issue, re-bills and prepaid vends all call it, so
that what is simulated is what is issued. Tariff versions come from
``billing.tariffs.repository.versions_for`` (a separate look-up).

Order of work, per segment of the period (``billing.tariffs.proration`` states the
day-count rule and how the period is cut):

1. metered kWh per register rounded by the tariff's kWh rounding (the version in force on
   the period's last day), then spread over the segments by their months;
2. a minimum billed consumption raises the kWh of its register (shortfall shown);
3. fixed charges (per month, flat or per kVA), energy blocks (incremental or block
   reached, social blocks granted or lost), seasonal and time-of-use components, dated
   surcharges: each line rounded to minor units by its component's rounding;
4. a minimum charge tops fixed + energy + surcharges up to its floor;
5. levies: per bill (once, with the last segment) or per month;
6. included taxes grossed up together (gross = net / (1 - sum of rates)), then added
   taxes in list order, each on the rounded lines it names (taxes on taxes included),
   exemption thresholds applied on the monthly-equivalent consumption;
7. the total (net + taxes) rounded by the closing version's total rounding, the
   difference shown as a rounding line.

Batching (how a billing run will vectorise this): everything except the kWh depends only on
(tariff versions, period, category, connection type, subscribed kVA), so a run groups its
accounts by that key, builds the segments, eligible components and granted-block schedules
once per group, and evaluates the per-account part on arrays of kWh: incremental blocks are
``sum(price_k * clip(c - lo_k * m, 0, width_k * m))``, block reached is a
``searchsorted`` on ``c / m``, the lifeline ceiling and tax thresholds are boolean masks,
and each line's rounding is an integer ``divmod`` on exact scaled integers. This function
stays the reference the batched path is tested against, line for line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction

from billing.tariffs.definition import (
    Block,
    Component,
    EnergyCharge,
    LineKind,
    MoneyRounding,
    TariffDefinition,
    Tax,
)
from billing.tariffs.errors import UsageInvalidError
from billing.tariffs.proration import Segment, TariffVersions, months_in, segments
from core.errors import FieldError
from core.money import RoundingMode, minor_exponent, round_minor, round_to, to_minor
from core.periods import Period

# Places shown for a quantity that is a share of the period (kWh or months of a segment).
SHOWN_PLACES = 6
SPLIT_PLACES = Decimal("0.000001")


@dataclass(frozen=True)
class BillableUsage:
    """What is billed: a period's metered kWh per register and who the customer is."""

    period: Period
    kwh: Mapping[str, Decimal]
    category: str = "residential"
    connection_type: str = "single_phase"
    subscribed_kva: Decimal | None = None

    def split(self, at: date) -> tuple[BillableUsage, BillableUsage]:
        """The usage cut at ``at`` (a move-in, a meter change), each part with the kWh its
        months carry (the day-count rule); the first part's kWh are rounded to 0.000001 and
        the second takes the rest, so the parts add up to the whole exactly."""
        first, second = self.period.split(at)
        share = months_in(first) / months_in(self.period)
        kwh_first = {
            r: round_to(Fraction(v) * share, SPLIT_PLACES, RoundingMode.HALF_EVEN)
            for r, v in self.kwh.items()
        }
        kwh_second = {r: v - kwh_first[r] for r, v in self.kwh.items()}
        return (
            BillableUsage(
                first, kwh_first, self.category, self.connection_type, self.subscribed_kva
            ),
            BillableUsage(
                second, kwh_second, self.category, self.connection_type, self.subscribed_kva
            ),
        )


@dataclass(frozen=True)
class BillLine:
    """One printed line: ``quantity`` ``unit`` at ``unit_price`` is ``amount`` (minor
    units). For a tax, the quantity is its base in major units and the price its rate."""

    kind: LineKind
    component: str
    label: str
    start: date
    end: date  # exclusive
    quantity: Decimal
    unit: str
    unit_price: Decimal | None
    amount: int
    tax_base: int | None = None
    block: int | None = None


@dataclass(frozen=True)
class Bill:
    """The rated bill: lines, and totals in integer minor units of ``currency``."""

    tariff_code: str
    currency: str
    period: Period
    kwh: Mapping[str, Decimal]  # billed kWh per register (after kWh rounding)
    months: Fraction
    lines: tuple[BillLine, ...]
    net: int  # every line but taxes and the total's rounding
    taxes: int
    rounding: int
    total: int

    def lines_of(self, kind: LineKind) -> list[BillLine]:
        return [line for line in self.lines if line.kind is kind]


def rate(tariff: TariffVersions, usage: BillableUsage) -> Bill:
    """Rate ``usage`` under ``tariff`` (see the module's docstring for the order of work)."""
    parts = segments(tariff, usage.period)
    closing = parts[-1].version.definition
    kwh = _billed_kwh(usage, closing, {r for p in parts for r in p.version.definition.registers})
    lines: list[BillLine] = []
    for index, part in enumerate(parts):
        rater = _SegmentRater(tariff.currency, usage, part, last=index == len(parts) - 1)
        lines += rater.lines({r: Fraction(v) * part.share for r, v in kwh.items()})
    net = sum(line.amount for line in lines if line.kind is not LineKind.TAX)
    taxes = sum(line.amount for line in lines if line.kind is LineKind.TAX)
    rounding = _total_rounding(closing.total_rounding, net + taxes)
    if rounding:
        end = usage.period.end
        lines.append(
            BillLine(
                LineKind.ROUNDING,
                "rounding",
                "Rounding of the total",
                usage.period.start,
                end,
                Decimal(1),
                "bill",
                None,
                rounding,
            )
        )
    return Bill(
        tariff_code=tariff.code,
        currency=tariff.currency,
        period=usage.period,
        kwh=kwh,
        months=sum((p.months for p in parts), Fraction(0)),
        lines=tuple(lines),
        net=net,
        taxes=taxes,
        rounding=rounding,
        total=net + taxes + rounding,
    )


def _total_rounding(rule: MoneyRounding, total: int) -> int:
    return round_minor(total, rule.mode, rule.step) - total


def _billed_kwh(
    usage: BillableUsage, closing: TariffDefinition, priced: set[str]
) -> dict[str, Decimal]:
    """Metered kWh per register, checked against the registers the tariff prices and
    rounded by its kWh rounding."""
    errors = [
        FieldError(f"kwh.{r}", "consumption cannot be negative", "negative")
        for r, v in usage.kwh.items()
        if v < 0
    ]
    errors += [
        FieldError(f"kwh.{r}", "the tariff prices no such register", "register_unpriced")
        for r in sorted(set(usage.kwh) - priced)
    ]
    errors += [
        FieldError(f"kwh.{r}", "the tariff prices this register: give its kWh", "missing")
        for r in sorted(priced - set(usage.kwh))
    ]
    if errors:
        raise UsageInvalidError("the consumption does not fit the tariff", errors=errors)
    rule = closing.kwh_rounding
    return {r: round_to(v, rule.step, rule.mode) for r, v in sorted(usage.kwh.items())}


def shown(value: Fraction | Decimal) -> Decimal:
    """A quantity for display: exact when it is a short decimal, else to 6 places."""
    rounded = round_to(value, Decimal(1).scaleb(-SHOWN_PLACES), RoundingMode.HALF_EVEN)
    return rounded.quantize(Decimal(1)) if rounded == rounded.to_integral() else rounded.normalize()


@dataclass
class _SegmentRater:
    """The lines of one segment of the period."""

    currency: str
    usage: BillableUsage
    segment: Segment
    last: bool
    out: list[BillLine] = field(default_factory=list)

    @property
    def definition(self) -> TariffDefinition:
        return self.segment.version.definition

    def admits(self, component: Component) -> bool:
        u = self.usage
        return component.applies_to.admits(u.category, u.connection_type, u.subscribed_kva)

    def add(
        self,
        kind: LineKind,
        code: str,
        label: str,
        quantity: Fraction | Decimal,
        unit: str,
        price: Decimal | None,
        amount: int,
        *,
        tax_base: int | None = None,
        block: int | None = None,
    ) -> BillLine:
        period = self.segment.period
        line = BillLine(
            kind,
            code,
            label,
            period.start,
            period.end,
            shown(quantity),
            unit,
            price,
            amount,
            tax_base,
            block,
        )
        self.out.append(line)
        return line

    def money(self, value: Fraction, rounding: MoneyRounding) -> int:
        return to_minor(value, self.currency, rounding.mode, rounding.step)

    def lines(self, kwh: dict[str, Fraction]) -> list[BillLine]:
        kwh = self._minimum_consumption(kwh)
        self._fixed_charges()
        for energy in self.definition.energy:
            if self.admits(energy) and self._in_season(energy):
                self._energy(energy, kwh[energy.register_name])
        self._surcharges(kwh)
        self._minimum_charges()
        self._levies()
        self._taxes(sum(kwh.values(), Fraction(0)))
        return self.out

    # -- quantities and charges ------------------------------------------------------------

    def _minimum_consumption(self, kwh: dict[str, Fraction]) -> dict[str, Fraction]:
        months = self.segment.months
        for minimum in self.definition.minimums:
            if minimum.kwh is None or not self.admits(minimum):
                continue
            floor = Fraction(minimum.kwh) * months
            shortfall = floor - sum(kwh.values(), Fraction(0))
            if shortfall > 0:
                kwh = {**kwh, minimum.register_name: kwh[minimum.register_name] + shortfall}
                self.add(
                    LineKind.MINIMUM,
                    minimum.code,
                    minimum.label or "Minimum consumption",
                    shortfall,
                    "kWh",
                    None,
                    0,
                )
        return kwh

    def _fixed_charges(self) -> None:
        months = self.segment.months
        for charge in self.definition.fixed_charges:
            if not self.admits(charge):
                continue
            if charge.basis == "flat":
                quantity, unit = months, "month"
            else:
                kva = self.usage.subscribed_kva
                if kva is None:
                    raise UsageInvalidError(
                        f"{charge.code} is charged per subscribed kVA: give the power",
                        errors=[FieldError("subscribed_kva", "required by the tariff", "missing")],
                    )
                quantity, unit = Fraction(kva) * months, "kVA·month"
            amount = self.money(quantity * Fraction(charge.amount), charge.rounding)
            self.add(
                LineKind.FIXED, charge.code, charge.label, quantity, unit, charge.amount, amount
            )

    def _in_season(self, energy: EnergyCharge) -> bool:
        return energy.months is None or self.segment.period.start.month in energy.months

    def _granted(
        self, blocks: Iterable[Block], monthly: Fraction
    ) -> list[tuple[int, Fraction, Block]]:
        """(index, lower bound, block) of the blocks this customer gets at this monthly
        consumption: a social block not granted disappears, the next starts where it did."""
        u, kept, lower = self.usage, [], Fraction(0)
        for index, block in enumerate(blocks):
            granted = block.granted_to is None or any(
                g.admits(u.category, u.connection_type, u.subscribed_kva) for g in block.granted_to
            )
            kept_here = granted and (block.lost_above is None or monthly <= block.lost_above)
            if not kept_here:
                continue
            kept.append((index, lower, block))
            lower = Fraction(block.up_to) if block.up_to is not None else lower
        return kept

    def _energy(self, energy: EnergyCharge, kwh: Fraction) -> None:
        months = self.segment.months
        monthly = kwh / months
        granted = self._granted(energy.blocks, monthly)
        if energy.mode == "block_reached":
            index, _lower, block = next(
                (g for g in granted if g[2].up_to is None or monthly <= g[2].up_to), granted[-1]
            )
            self._block_line(energy, index, block, kwh)
            return
        for index, lower, block in granted:
            top = kwh if block.up_to is None else min(kwh, Fraction(block.up_to) * months)
            self._block_line(energy, index, block, top - lower * months)

    def _block_line(self, energy: EnergyCharge, index: int, block: Block, kwh: Fraction) -> None:
        """``kwh`` of ``energy`` at the price of its block ``index`` (nothing when none)."""
        if kwh <= 0:
            return
        amount = self.money(kwh * Fraction(block.price), energy.rounding)
        label = block.label or energy.label or f"Energy ({energy.register_name})"
        self.add(LineKind.ENERGY, energy.code, label, kwh, "kWh", block.price, amount, block=index)

    def _surcharges(self, kwh: dict[str, Fraction]) -> None:
        for surcharge in self.definition.surcharges:
            if not self.admits(surcharge) or not surcharge.in_force(self.segment.period.start):
                continue
            registers = surcharge.registers or sorted(kwh)
            quantity = sum((kwh.get(r, Fraction(0)) for r in registers), Fraction(0))
            per = Fraction(100) if surcharge.per == "100kwh" else Fraction(1)
            if quantity > 0:
                amount = self.money(quantity / per * Fraction(surcharge.amount), surcharge.rounding)
                self.add(
                    LineKind.SURCHARGE,
                    surcharge.code,
                    surcharge.label,
                    quantity / per,
                    "100 kWh" if per == 100 else "kWh",
                    surcharge.amount,
                    amount,
                )

    def _minimum_charges(self) -> None:
        charged = {LineKind.FIXED, LineKind.ENERGY, LineKind.SURCHARGE, LineKind.MINIMUM}
        for minimum in self.definition.minimums:
            if minimum.charge is None or not self.admits(minimum):
                continue
            floor = self.money(Fraction(minimum.charge) * self.segment.months, minimum.rounding)
            current = sum(line.amount for line in self.out if line.kind in charged)
            if current < floor:
                self.add(
                    LineKind.MINIMUM,
                    minimum.code,
                    minimum.label or "Minimum charge",
                    Fraction(1),
                    "top-up",
                    None,
                    floor - current,
                )

    def _levies(self) -> None:
        for levy in self.definition.levies:
            if not self.admits(levy) or (levy.per == "bill" and not self.last):
                continue
            quantity = self.segment.months if levy.per == "month" else Fraction(1)
            amount = self.money(quantity * Fraction(levy.amount), levy.rounding)
            self.add(LineKind.LEVY, levy.code, levy.label, quantity, levy.per, levy.amount, amount)

    # -- taxes -------------------------------------------------------------------------------

    def _share(self, tax: Tax, kwh: Fraction) -> Fraction | None:
        """The part of its base a tax applies to (None: exempt at this consumption)."""
        threshold = tax.exempt_up_to
        if threshold is None:
            return Fraction(1)
        monthly, limit = kwh / self.segment.months, Fraction(threshold.kwh)
        if monthly <= limit:
            return None
        return Fraction(1) if threshold.basis == "whole" else (monthly - limit) / monthly

    def _base(self, tax: Tax) -> int:
        named = set(tax.base)
        return sum(
            line.amount
            for line in self.out
            if (line.kind.value in named and line.kind is not LineKind.TAX)
            or line.component in named
        )

    def _taxes(self, kwh: Fraction) -> None:
        applying = [
            (tax, share)
            for tax in self.definition.taxes
            if self.admits(tax) and (share := self._share(tax, kwh)) is not None
        ]
        included = [(t, s) for t, s in applying if t.included]
        if included:
            # "Por dentro": each tax is its rate of the gross, the gross is net + the taxes.
            net = self._base(included[0][0])
            gross = Fraction(net) / (
                1 - sum((Fraction(t.rate) * s for t, s in included), Fraction(0))
            )
            for tax, share in included:
                self._tax_line(tax, gross * share)
        for tax, share in applying:
            if not tax.included:
                self._tax_line(tax, Fraction(self._base(tax)) * share)

    def _tax_line(self, tax: Tax, base_minor: Fraction) -> None:
        amount = round_minor(base_minor * Fraction(tax.rate), tax.rounding.mode, tax.rounding.step)
        base = round_minor(base_minor, RoundingMode.HALF_UP)
        shown_base = Fraction(base_minor) / 10 ** minor_exponent(self.currency)
        self.add(
            LineKind.TAX,
            tax.code,
            tax.label,
            shown_base,
            self.currency,
            tax.rate,
            amount,
            tax_base=base,
        )
