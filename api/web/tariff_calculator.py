"""The bill calculator of the tariff page: the form read from the query string, the bill
rated by the tariff service (the same ``rate`` that billing runs use), and the curve of the
bill total against consumption that the page charts (blocks, the social-block ceiling and
tax thresholds show as kinks and jumps)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from billing.tariffs import repository, service
from billing.tariffs.definition import TariffDefinition
from billing.tariffs.proration import TariffVersions, months_in
from billing.tariffs.rating import Bill, BillableUsage, rate
from billing.tariffs.schemas import SimulateRequest
from core.errors import DomainError, FieldError
from core.money import as_decimal, to_major
from core.periods import Period, add_months, month_start

KWH_PREFIX = "kwh."
DEFAULT_KWH = "100"
CURVE_POINTS = 160  # evenly spaced points, plus two around each threshold


@dataclass
class CalculatorForm:
    """What the calculator form says, as typed (strings, so the form shows them back)."""

    start: str
    end: str
    kwh: dict[str, str]
    category: str = "residential"
    connection_type: str = "single_phase"
    subscribed_kva: str = ""

    @classmethod
    def default(cls, registers: list[str], latest_from: date, today: date) -> CalculatorForm:
        """Last month (or the latest version's first month when it starts later), with
        100 kWh on each register."""
        start = max(add_months(month_start(today), -1), latest_from)
        end = add_months(month_start(start), 1)
        return cls(start.isoformat(), end.isoformat(), dict.fromkeys(registers, DEFAULT_KWH))

    @classmethod
    def from_query(cls, query: Mapping[str, str], registers: list[str]) -> CalculatorForm:
        return cls(
            start=query.get("start", ""),
            end=query.get("end", ""),
            kwh={r: query.get(KWH_PREFIX + r, "").strip() for r in registers},
            category=query.get("category", "residential").strip(),
            connection_type=query.get("connection_type", "single_phase").strip(),
            subscribed_kva=query.get("subscribed_kva", "").strip(),
        )


@dataclass
class Calculation:
    """The outcome shown under the form: a bill and its curve, or why there is none."""

    form: CalculatorForm
    bill: Bill | None = None
    curve: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    field_errors: list[FieldError] = field(default_factory=list)


def _request(form: CalculatorForm, priced: frozenset[str]) -> SimulateRequest:
    """The rating request: an empty register counts 0 kWh; registers that the versions in
    force do not price (another version's time-of-use registers) are left out."""
    return SimulateRequest.model_validate(
        {
            "start": form.start,
            "end": form.end,
            "kwh": {r: v or "0" for r, v in form.kwh.items() if r in priced},
            "category": form.category,
            "connection_type": form.connection_type,
            "subscribed_kva": form.subscribed_kva or None,
        }
    )


def calculate(session: Session, code: str, form: CalculatorForm) -> Calculation:
    """Rate the form's consumption with the versions in force over its period."""
    try:
        period = Period(date.fromisoformat(form.start), date.fromisoformat(form.end))
    except ValueError:
        return Calculation(form, error="Give the period as two dates, the end after the start.")
    try:
        tariff = repository.versions_for(session, code, period)
        priced = frozenset(r for v in tariff.versions for r in v.definition.registers)
        request = _request(form, priced)
        bill = service.simulate(session, code=code, request=request)
    except ValidationError as exc:
        errors = [
            FieldError(".".join(str(p) for p in e["loc"]), e["msg"], e["type"])
            for e in exc.errors()
        ]
        return Calculation(form, error="The consumption cannot be rated.", field_errors=errors)
    except DomainError as exc:
        return Calculation(form, error=exc.detail, field_errors=list(exc.errors))
    return Calculation(form, bill=bill, curve=curve(tariff, request, bill))


def _thresholds(definition: TariffDefinition) -> set[Decimal]:
    """Monthly kWh where the bill changes slope or jumps: block bounds, social-block
    ceilings, tax exemption thresholds and minimum consumptions."""
    found: set[Decimal] = set()
    for energy in definition.energy:
        for block in energy.blocks:
            found |= {b for b in (block.up_to, block.lost_above) if b is not None}
    found |= {t.exempt_up_to.kwh for t in definition.taxes if t.exempt_up_to is not None}
    found |= {m.kwh for m in definition.minimums if m.kwh is not None}
    return found


def curve(tariff: TariffVersions, request: SimulateRequest, bill: Bill) -> dict[str, Any]:
    """The bill total (major units) for total consumptions from 0 to about twice the
    simulated one, the same customer and period, the registers in the simulated
    proportions. Thresholds are scaled to the period's months (they are monthly) and get a
    point on each side (one kWh-rounding step apart) so that a lost social block shows as
    a jump, not a slope."""
    period = Period(request.start, request.end)
    months = as_decimal(months_in(period))
    step = tariff.at(period.last_day).definition.kwh_rounding.step
    entered = sum(request.kwh.values(), Decimal(0))
    marks = sorted({t * months for v in tariff.versions for t in _thresholds(v.definition)})
    top = max([entered * 2, Decimal(100), *(m * Decimal("1.25") for m in marks)])
    top = Decimal(int(top / 10 + 1) * 10)  # a round axis end
    share = Decimal(1) / len(request.kwh)
    weights = {r: v / entered if entered else share for r, v in request.kwh.items()}
    xs = {top * i / CURVE_POINTS for i in range(CURVE_POINTS + 1)}
    xs |= {x for m in marks if m < top for x in (m, m + step)}
    xs.add(entered)
    points = []
    for x in sorted(xs):
        usage = BillableUsage(
            period=period,
            kwh={r: x * w for r, w in weights.items()},
            category=request.category,
            connection_type=request.connection_type,
            subscribed_kva=request.subscribed_kva,
        )
        total = rate(tariff, usage).total
        points.append({"x": float(x), "y": float(to_major(total, tariff.currency))})
    return {
        "currency": tariff.currency,
        "points": points,
        "thresholds": [float(m) for m in marks if m < top],
        "entered": {"x": float(entered), "y": float(to_major(bill.total, bill.currency))},
    }
