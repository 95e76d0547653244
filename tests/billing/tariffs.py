"""Building tariffs and usages for the rating tests."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from billing.tariffs.definition import TariffDefinition
from billing.tariffs.documents import parse_document
from billing.tariffs.proration import DatedVersion, TariffVersions
from billing.tariffs.rating import Bill, BillableUsage, rate
from core.periods import Period

FIXTURES = Path(__file__).resolve().parents[2] / "billing" / "tariffs" / "fixtures"


def versions(*dated: tuple[str, dict[str, Any]], currency: str = "XOF") -> TariffVersions:
    """A tariff from ``(effective_from, definition)`` pairs."""
    return TariffVersions(
        "TEST",
        currency,
        tuple(
            DatedVersion(date.fromisoformat(d), TariffDefinition.model_validate(body), n)
            for n, (d, body) in enumerate(dated, start=1)
        ),
    )


def one(definition: dict[str, Any], currency: str = "XOF") -> TariffVersions:
    return versions(("2020-01-01", definition), currency=currency)


def fixture(name: str) -> TariffVersions:
    doc = parse_document((FIXTURES / name).read_bytes())
    return TariffVersions(
        doc.code,
        doc.currency,
        tuple(DatedVersion(v.effective_from, v.definition) for v in doc.versions),
    )


def bill(
    tariff: TariffVersions,
    start: str,
    end: str,
    kwh: Any = None,
    **who: Any,
) -> Bill:
    registers = kwh if isinstance(kwh, dict) else {"total": kwh if kwh is not None else 0}
    usage = BillableUsage(
        Period(date.fromisoformat(start), date.fromisoformat(end)),
        {r: Decimal(str(v)) for r, v in registers.items()},
        **{k: Decimal(str(v)) if k == "subscribed_kva" else v for k, v in who.items()},
    )
    return rate(tariff, usage)


def amounts(b: Bill) -> list[tuple[str, int]]:
    return [(line.component, line.amount) for line in b.lines]


def energy(*blocks: tuple[Any, Any], mode: str = "incremental", **extra: Any) -> dict[str, Any]:
    return {
        "code": extra.pop("code", "kwh"),
        "mode": mode,
        "blocks": [
            {"up_to": u, "price": str(p), **extra.pop(f"block{i}", {})}
            for i, (u, p) in enumerate(blocks)
        ],
        **extra,
    }
