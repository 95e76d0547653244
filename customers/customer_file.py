"""The customer's file (the 360° views of a customer and of a premises), gathered from
each domain's own read functions.

The customers domain reads its part here (party, accounts, contracts with roles and
history, usage points with premises and electrical address, cases, interactions). Every
domain above adds its own sections with :func:`register_section`: meters adds each usage
point's meters, readings and monthly consumption; billing and fraud add theirs the same
way. The composition root (``kilowatch/``) imports the modules that register, so this
module never imports a higher layer.

Each read is one set-based query (never one per row). Territory: the file of a customer
or premises the caller cannot see is a 404, as if it did not exist.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from core.context import Actor
from core.periods import Period, add_months, local_date, local_midnight, month_start, month_starts
from customers import file_reads
from customers.errors import PartyNotFoundError, ServiceLocationNotFoundError

WINDOW_MONTHS = 24
# Reads fetched before the window so the window's first interval has its opening index.
LEAD_MONTHS = 3

Spans = list[tuple[date, date | None]]  # [start, end) of contracts; end None = open


@dataclass(frozen=True)
class Window:
    """The months a file covers, in the utility's local calendar: the 24 full months
    before the current one, the current one, and the boundary after it."""

    month_starts: list[date]

    @classmethod
    def ending(cls, now: datetime) -> Window:
        first = add_months(month_start(now), -WINDOW_MONTHS)
        return cls(month_starts(first, WINDOW_MONTHS + 2))

    @property
    def labels(self) -> list[str]:
        """YYYY-MM of each month shown (the boundary excluded)."""
        return [m.strftime("%Y-%m") for m in self.month_starts[:-1]]

    @property
    def readings_from(self) -> datetime:
        return local_midnight(self.month_starts[0])

    @property
    def fetched_from(self) -> datetime:
        """Where reads are fetched from: before the window, for the opening indexes."""
        return local_midnight(add_months(self.month_starts[0], -LEAD_MONTHS))

    @property
    def current_label(self) -> str:
        return self.labels[-1]


@dataclass
class FileScope:
    """What the sections of one file read for and write into."""

    session: Session
    actor: Actor
    window: Window
    body: dict[str, Any]  # the file; sections add their keys
    usage_points: list[dict[str, Any]]  # each usage point's view; sections add keys
    # A customer's file: per usage point, the periods of the customer's contracts (what
    # falls outside is someone else's). None for a premises' file: everything is shown.
    spans: dict[int, Spans] | None = None

    @property
    def usage_point_ids(self) -> list[int]:
        return [up["id"] for up in self.usage_points]

    def spans_of(self, usage_point_id: int) -> Spans | None:
        return None if self.spans is None else self.spans.get(usage_point_id, [])

    def in_spans(self, usage_point_id: int, moment: datetime) -> bool:
        """Whether ``moment`` falls in the file's periods at the usage point."""
        spans = self.spans_of(usage_point_id)
        if spans is None:
            return True
        day = local_date(moment)
        return any(start <= day and (end is None or day < end) for start, end in spans)

    def month_in_spans(self, usage_point_id: int, label: str) -> bool:
        """Whether the month ``YYYY-MM`` overlaps the file's periods at the usage point."""
        spans = self.spans_of(usage_point_id)
        if spans is None:
            return True
        year, number = (int(p) for p in label.split("-"))
        month = Period.month(date(year, number, 1))
        return any(start < month.end and (end is None or end > month.start) for start, end in spans)


Section = Callable[[FileScope], None]
_SECTIONS: dict[str, Section] = {}


def register_section(name: str, section: Section) -> None:
    """Add a domain's part to every customer and premises file (called at import by the
    domain's module; the composition root imports it). Sections run in registration
    order, after the customers domain's own part."""
    _SECTIONS[name] = section


def _run_sections(scope: FileScope) -> dict[str, Any]:
    for section in _SECTIONS.values():
        section(scope)
    scope.body["usage_points"] = scope.usage_points
    scope.body["window"] = {
        "readings_from": scope.window.readings_from,
        "months": scope.window.labels,
    }
    return scope.body


def customer_file(
    session: Session, actor: Actor, party_id: int, *, now: datetime
) -> dict[str, Any]:
    """Everything known about customer ``party_id`` (404 when unknown or out of sight)."""
    party = file_reads.party(session, actor, party_id)
    if party is None:
        raise PartyNotFoundError(f"no customer {party_id}")
    contracts = file_reads.contracts_of_party(session, actor, party_id)
    up_ids = list(dict.fromkeys(c["usage_point_id"] for c in contracts))
    spans: dict[int, Spans] = defaultdict(list)
    for c in contracts:
        if c["status"] != "cancelled":
            spans[c["usage_point_id"]].append((c["start_date"], c["end_date"]))
    order = {up_id: i for i, up_id in enumerate(up_ids)}
    usage_points = sorted(file_reads.usage_points(session, up_ids), key=lambda u: order[u["id"]])
    body = {
        "party": party,
        "accounts": file_reads.accounts(
            session, party_id, sorted({c["account_id"] for c in contracts})
        ),
        "contracts": contracts,
        "cases": file_reads.cases_of_party(session, actor, party_id),
        "interactions": file_reads.interactions_of_party(session, party_id),
    }
    scope = FileScope(session, actor, Window.ending(now), body, usage_points, dict(spans))
    return _run_sections(scope)


def premises_file(
    session: Session, actor: Actor, location_id: int, *, now: datetime
) -> dict[str, Any]:
    """Everything known about premises ``location_id``, its occupants over time included."""
    premises = file_reads.premises(session, actor, location_id)
    if premises is None:
        raise ServiceLocationNotFoundError(f"no premises {location_id}")
    usage_points = file_reads.usage_points_at(session, location_id)
    up_ids = [u["id"] for u in usage_points]
    contracts = file_reads.contracts_at(session, location_id)
    cases = file_reads.cases_at(session, location_id, up_ids)
    body = {
        "premises": premises,
        "contracts": contracts,
        "occupants": file_reads.occupants_of(contracts),
        "cases": cases,
        "interactions": file_reads.interactions_of_cases(session, [c["id"] for c in cases]),
    }
    scope = FileScope(session, actor, Window.ending(now), body, usage_points)
    return _run_sections(scope)
