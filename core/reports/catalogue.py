"""Report definitions, filters, results and the registry."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, true
from sqlalchemy.orm import Session

from core.context import Actor
from core.errors import EntityNotFoundError
from core.periods import Period
from core.territory import Scope, located_rule, visible


class ReportUnknownError(EntityNotFoundError):
    code = "report_unknown"


@dataclass(frozen=True)
class ReportFilters:
    """What every report is filtered by: a period of local business days, optionally an
    agency (its territory rule, the same one that bounds a user) and a usage category."""

    period: Period
    agency_id: int | None = None
    category: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "period_start": self.period.start.isoformat(),
            "period_end": self.period.end.isoformat(),
            "agency_id": self.agency_id,
            "category": self.category,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReportFilters:
        return cls(
            Period(
                date.fromisoformat(data["period_start"]), date.fromisoformat(data["period_end"])
            ),
            data.get("agency_id"),
            data.get("category"),
        )

    def where(self, actor: Actor, model: type[Any]) -> ColumnElement[bool]:
        """``model``'s rows the caller may see AND, with an agency filter, that lie in that
        agency (the model's own territory rule applied to the agency)."""
        condition = visible(actor, model)
        rule = located_rule(model)
        if self.agency_id is not None and rule is not None:
            condition = condition & rule(Scope(self.agency_id))
        return condition if condition is not None else true()


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"  # text | int | decimal | money | percent
    total: bool = False  # summed in the totals row


@dataclass
class ReportTable:
    columns: list[Column]
    rows: list[dict[str, Any]]
    chart_x: str | None = None  # the column the chart's categories come from
    chart_y: list[str] = field(default_factory=list)  # the columns it plots
    notes: list[str] = field(default_factory=list)

    @property
    def totals(self) -> dict[str, Any]:
        return {c.key: sum(r[c.key] or 0 for r in self.rows) for c in self.columns if c.total}


@dataclass(frozen=True)
class ReportDef:
    name: str
    title: str
    description: str
    build: Callable[[Session, Actor, ReportFilters], ReportTable]
    scope: str = "reports:read"
    uses_category: bool = True


_REPORTS: dict[str, ReportDef] = {}


def register(report: ReportDef) -> None:
    _REPORTS[report.name] = report


def reports() -> list[ReportDef]:
    return sorted(_REPORTS.values(), key=lambda r: r.title)


def get(name: str) -> ReportDef:
    try:
        return _REPORTS[name]
    except KeyError:
        raise ReportUnknownError(f"no report {name!r}") from None


def run(session: Session, actor: Actor, name: str, filters: ReportFilters) -> ReportTable:
    return get(name).build(session, actor, filters)
