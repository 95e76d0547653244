"""Tariff pages: the tariff book (each tariff with its dated versions), a tariff's page with
every version's components in readable tables, and the bill calculator (form, every bill
line, the totals, and the chart of the bill against consumption)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

from babel.numbers import format_decimal, format_percent
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import DbSession
from api.routes.tariffs import Code as TariffCodePath
from api.web.navigation import NavItem, register_nav_item
from api.web.rendering import page_actor, render
from api.web.tariff_calculator import KWH_PREFIX, CalculatorForm, calculate
from billing.tariffs import repository
from billing.tariffs.definition import Block, Eligibility, MoneyRounding, TariffDefinition
from billing.tariffs.models import TariffVersion
from billing.tariffs.rating import Bill
from core.money import format_money, to_major
from core.periods import local_date
from core.settings import get_settings
from customers.enums import UsageCategory

router = APIRouter(include_in_schema=False)
register_nav_item(NavItem("Tariffs", "/tariffs", "tariffs:read", order=30))

CONNECTION_TYPES = ["single_phase", "two_phase", "three_phase"]
BOOK_LIMIT = 200


def number(value: Decimal | int | float) -> str:
    """A quantity or price as the user's locale writes it, every significant decimal kept."""
    return str(format_decimal(value, format="#,##0.########", locale=get_settings().locale))


def who(eligibility: Eligibility) -> str:
    """Whom a component applies to, in words."""
    parts = []
    if eligibility.categories is not None:
        parts.append(", ".join(eligibility.categories))
    if eligibility.connection_types is not None:
        parts.append(", ".join(c.replace("_", " ") for c in eligibility.connection_types))
    if eligibility.min_kva is not None or eligibility.max_kva is not None:
        low = number(eligibility.min_kva) if eligibility.min_kva is not None else "0"
        high = number(eligibility.max_kva) if eligibility.max_kva is not None else "∞"
        parts.append(f"{low} to {high} kVA")
    return " · ".join(parts) or "everyone"


def conditions(block: Block) -> str:
    """When a (social) block is granted, in words."""
    parts = []
    if block.granted_to is not None:
        parts.append("only for " + " or ".join(who(g) for g in block.granted_to))
    if block.lost_above is not None:
        parts.append(f"lost above {number(block.lost_above)} kWh/month")
    return "; ".join(parts)


def rounded(rule: MoneyRounding, currency: str) -> str:
    """A money rounding rule in words: 'half up to 5 XOF'."""
    return f"{rule.mode.replace('_', ' ')} to {number(to_major(rule.step, currency))} {currency}"


def rate_shown(rate: Decimal) -> str:
    return str(format_percent(rate, format="#,##0.####%", locale=get_settings().locale))


def summary(definition: TariffDefinition) -> list[str]:
    """One version's components in a few words, for the tariff book."""
    out = []
    for energy in definition.energy:
        social = any(b.is_conditional for b in energy.blocks)
        out.append(
            f"{energy.label or energy.code}: {len(energy.blocks)} block(s)"
            f"{' incl. social' if social else ''}, {energy.mode.replace('_', ' ')}"
            f"{' (seasonal)' if energy.months else ''}"
        )
    counted = [
        ("fixed charge", definition.fixed_charges),
        ("surcharge", definition.surcharges),
        ("minimum", definition.minimums),
        ("levy", definition.levies),
    ]
    out += [f"{len(items)} {name}(s)" for name, items in counted if items]
    out += [f"tax {t.code} {rate_shown(t.rate)}" for t in definition.taxes]
    return out


def _versions(session: DbSession, tariff_id: int) -> list[dict[str, Any]]:
    """The tariff's versions, newest first, each with its end (the next one's start)."""
    stored: list[TariffVersion] = repository.versions_of(session, tariff_id)
    ends = [*(v.effective_from for v in stored[1:]), None]
    return [
        {
            "version": v.version,
            "effective_from": v.effective_from,
            "effective_to": end,
            "note": v.note,
            "definition": repository.as_dated(v).definition,
        }
        for v, end in reversed(list(zip(stored, ends, strict=True)))
    ]


def _bill_view(bill: Bill) -> dict[str, Any]:
    """Every line of the bill as printed, and its totals formatted with babel."""
    money = lambda minor: format_money(minor, bill.currency)  # noqa: E731
    several = len({(line.start, line.end) for line in bill.lines}) > 1
    lines = [
        {
            "kind": line.kind.value,
            "component": line.component,
            "label": line.label or line.component,
            "days": f"{line.start:%d/%m} to {line.end - timedelta(days=1):%d/%m}"
            if several
            else "",
            "quantity": number(line.quantity),
            "unit": line.unit,
            "unit_price": (
                ""
                if line.unit_price is None
                else rate_shown(line.unit_price)
                if line.kind.value == "tax"
                else number(line.unit_price)
            ),
            "amount": line.amount,
            "amount_shown": money(line.amount),
            "tax_base": "" if line.tax_base is None else money(line.tax_base),
        }
        for line in bill.lines
    ]
    return {
        "lines": lines,
        "kwh": {r: number(v) for r, v in bill.kwh.items()},
        "days": bill.period.days,
        "net": money(bill.net),
        "taxes": money(bill.taxes),
        "rounding": money(bill.rounding) if bill.rounding else "",
        "total": bill.total,
        "total_shown": money(bill.total),
    }


@router.get("/tariffs", response_class=HTMLResponse)
def tariff_book_page(
    request: Request,
    session: DbSession,
    q: Annotated[str, Query(max_length=100, pattern=r"^[^\x00]*$")] = "",
) -> Response:
    actor = page_actor(request, session, "tariffs:read")
    tariffs, total = repository.tariffs_page(
        session, actor, q=q.strip() or None, offset=0, limit=BOOK_LIMIT
    )
    book = [{"tariff": t, "versions": _versions(session, t.id)} for t in tariffs]
    return render(
        request,
        "tariffs.html",
        actor,
        title="Tariffs",
        q=q,
        book=book,
        total=total,
        summary=summary,
    )


@router.get("/tariffs/{code}", response_class=HTMLResponse)
def tariff_page(request: Request, session: DbSession, code: TariffCodePath) -> Response:
    actor = page_actor(request, session, "tariffs:read")
    tariff = repository.require_tariff(session, code, actor=actor)
    versions = _versions(session, tariff.id)
    registers = sorted({r for v in versions for r in v["definition"].registers})
    query = request.query_params
    submitted = any(k.startswith(KWH_PREFIX) for k in query)
    form = (
        CalculatorForm.from_query(query, registers)
        if submitted
        else CalculatorForm.default(
            registers,
            versions[0]["effective_from"] if versions else date.min,
            local_date(datetime.now(UTC)),
        )
    )
    calculation = calculate(session, tariff.code, form) if versions else None
    categories = {c.value for c in UsageCategory}
    return render(
        request,
        "tariff.html",
        actor,
        title=f"Tariff {tariff.code}",
        tariff=tariff,
        versions=versions,
        registers=registers,
        calculation=calculation,
        bill=calculation.bill and _bill_view(calculation.bill) if calculation else None,
        chart=json.dumps(calculation.curve if calculation else {}).replace("</", "<\\/"),
        categories=sorted(categories),
        connection_types=CONNECTION_TYPES,
        number=number,
        who=who,
        conditions=conditions,
        rounded=rounded,
        rate_shown=rate_shown,
        kwh_prefix=KWH_PREFIX,
    )
