"""Zone energy balances: compute and store them for a range of months, measure zones'
technical losses with a load flow, read balances under the territory rule.

Balances are computed for the whole network (every transformer and feeder zone), by
unrestricted principals only (the CLI, the worker): an agency's staff read them. Services
flush, never commit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Select, select, text
from sqlalchemy.orm import Session

from core.context import Actor
from core.errors import PermissionDeniedError
from core.pages import paginate
from core.periods import Period, add_months, month_start, months_between
from fraud import alignment, losses, repository
from fraud.balance import BalanceRules, ZoneMonth, zone_month
from fraud.enums import LossMethod, ZoneKind
from fraud.errors import PeriodRangeError, ZoneNotFoundError
from fraud.flags import FlagRule, apply_flag_rule
from fraud.loadflow import LoadFlowResult, solve_feeder
from fraud.models import LossCalibration, ZoneLossModel
from fraud.schemas import ZoneBalancePage, ZoneBalanceRead
from gis.models import Feeder, PowerTransformer

MAX_MONTHS = 120
Progress = Callable[[str, int, int], None]


@dataclass
class BalanceReport:
    months: list[str] = field(default_factory=list)
    zones: int = 0
    analysable: int = 0
    flagged: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)


def _require_whole_network(actor: Actor) -> None:
    if not actor.sees_all_territories:  # an agency's staff, or one company's of several
        raise PermissionDeniedError("zone balances are computed for the whole network")


def parse_month(value: str) -> date:
    """``YYYY-MM`` -> the month's first day (local calendar)."""
    try:
        year, month = (int(part) for part in value.split("-"))
        return date(year, month, 1)
    except ValueError as exc:
        raise PeriodRangeError(f"{value!r} is not a month (YYYY-MM)") from exc


def month_range(first: date, last: date) -> list[date]:
    """The month starts from ``first``'s month to ``last``'s, inclusive."""
    count = months_between(first, last) + 1
    if count < 1:
        raise PeriodRangeError(f"the range ends ({last:%Y-%m}) before it starts ({first:%Y-%m})")
    if count > MAX_MONTHS:
        raise PeriodRangeError(f"{count} months asked: at most {MAX_MONTHS} at a time")
    return [add_months(month_start(first), i) for i in range(count)]


class _Losses:
    """Expected technical loss of each zone for a month's measured energies."""

    def __init__(self, session: Session) -> None:
        self.models = repository.loss_models(session)
        self.calibration = repository.calibration(session)
        self.transformers = repository.transformers(session)
        self.feeders = repository.feeders(session)
        self.on_feeder: dict[int, list[repository.TransformerRow]] = {}
        for t in self.transformers:
            if t.feeder_id is not None:
                self.on_feeder.setdefault(t.feeder_id, []).append(t)

    def of_transformer(
        self, t: repository.TransformerRow, kwh: float, hours: float
    ) -> tuple[float, LossMethod]:
        samples = self.models.get((ZoneKind.TRANSFORMER.value, t.id))
        if samples:
            return losses.interpolated_loss_kwh(samples, kwh, hours / 24), LossMethod.OPENDSS
        zone = losses.TransformerZone(t.rated_kva, t.lv_km, t.secondary_kv)
        return losses.transformer_loss_kwh(
            zone, kwh, hours, self.calibration
        ), LossMethod.LOAD_LENGTH

    def of_feeder(
        self, f: repository.FeederRow, kwh: float, hours: float, transformer_kwh: dict[int, float]
    ) -> tuple[float, LossMethod]:
        samples = self.models.get((ZoneKind.FEEDER.value, f.id))
        if samples:
            return losses.interpolated_loss_kwh(samples, kwh, hours / 24), LossMethod.OPENDSS
        total = losses.feeder_line_loss_kwh(
            f.mv_km, f.nominal_kv, kwh, hours, self.calibration.load_factor
        )
        for t in self.on_feeder.get(f.id, []):
            total += self.of_transformer(t, transformer_kwh.get(t.id, 0.0), hours)[0]
        return total, LossMethod.LOAD_LENGTH


def _month(
    session: Session,
    month: date,
    rules: BalanceRules,
    zone_losses: _Losses,
    unmetered: dict[tuple[str, int], Decimal],
) -> list[ZoneMonth]:
    period = Period.month(month)
    p_from, p_to = period.bounds_utc()
    period_s = (p_to - p_from).total_seconds()
    hours = period_s / 3600
    down = alignment.downstream(session, p_from, p_to)
    zone_in = alignment.zone_energy_in(session, p_from, p_to)
    empty = alignment.Downstream(Decimal(0), Decimal(0), 0, 0)

    def unmetered_kwh(key: tuple[str, int]) -> Decimal:
        return unmetered.get(key, Decimal(0)) * period.days

    def measured(key: tuple[str, int]) -> float | None:
        seen = zone_in.get(key)
        if seen is None or seen.covered_s < period_s - rules.coverage_tolerance_s:
            return None
        return float(seen.kwh)

    def balance(kind: ZoneKind, zone_id: int, stale: bool, loss: Any) -> ZoneMonth:
        key = (kind.value, zone_id)
        return zone_month(
            kind=kind,
            zone_id=zone_id,
            zone_in=zone_in.get(key),
            down=down.get(key, empty),
            unmetered_kwh=unmetered_kwh(key),
            loss=loss,
            period_s=period_s,
            stale=stale,
            rules=rules,
        )

    # What each transformer zone takes: its meter, else what its customers were metered.
    transformer_kwh: dict[int, float] = {}
    rows = []
    for t in zone_losses.transformers:
        key = (ZoneKind.TRANSFORMER.value, t.id)
        energy = measured(key)
        transformer_kwh[t.id] = (
            energy if energy is not None else float(down.get(key, empty).kwh + unmetered_kwh(key))
        )
        loss = zone_losses.of_transformer(t, energy, hours) if energy is not None else None
        rows.append(balance(ZoneKind.TRANSFORMER, t.id, t.stale, loss))
    for f in zone_losses.feeders:
        energy = measured((ZoneKind.FEEDER.value, f.id))
        loss = (
            zone_losses.of_feeder(f, energy, hours, transformer_kwh) if energy is not None else None
        )
        rows.append(balance(ZoneKind.FEEDER, f.id, f.stale, loss))
    return rows


def compute_balances(
    session: Session,
    *,
    actor: Actor,
    first: date,
    last: date,
    rules: BalanceRules | None = None,
    flag_rule: FlagRule | None = None,
    progress: Progress | None = None,
) -> BalanceReport:
    """Compute and store (replacing) every zone's balance for each month of [first, last],
    then re-judge the flags of every stored balance."""
    _require_whole_network(actor)
    months = month_range(first, last)
    rules = rules or BalanceRules()
    zone_losses = _Losses(session)
    unmetered = repository.unmetered_kwh_per_day(session)
    report = BalanceReport()
    now = datetime.now(UTC)
    for i, month in enumerate(months):
        if progress:
            progress("zone balances (months)", i, len(months))
        rows = _month(session, month, rules, zone_losses, unmetered)
        period = Period.month(month)
        repository.store_month(session, rows, period.start, period.end, now)
        report.months.append(f"{month:%Y-%m}")
        report.zones = len(rows)
        for row in rows:
            if row.reason is None:
                report.analysable += 1
            else:
                report.by_reason[row.reason.value] = report.by_reason.get(row.reason.value, 0) + 1
    if progress:
        progress("zone balances (months)", len(months), len(months))
    apply_flag_rule(session, flag_rule)
    session.flush()
    report.flagged = int(
        session.scalar(
            text(
                "SELECT count(*) FROM fraud_zone_balance WHERE flagged "
                "AND period_start BETWEEN :a AND :b"
            ),
            {"a": months[0], "b": months[-1]},
        )
        or 0
    )
    return report


def measure_losses(session: Session, *, actor: Actor, folder: Path) -> LoadFlowResult:
    """Solve the OpenDSS model in ``folder`` (a feeder imported from it) and store the loss
    model of the feeder and of each of its transformer zones, then re-fit the calibration
    of the load-and-length model on every zone that has a load-flow model."""
    _require_whole_network(actor)
    result = solve_feeder(folder)
    feeder = session.scalar(select(Feeder).where(Feeder.code.ilike(result.feeder)))
    if feeder is None:
        raise ZoneNotFoundError(
            f"feeder {result.feeder!r} is not imported: import {folder.name} first"
        )
    codes = {
        t.code.lower(): t.id
        for t in session.scalars(
            select(PowerTransformer).where(
                (PowerTransformer.home_feeder_id == feeder.id)
                | (PowerTransformer.feeder_id == feeder.id)
            )
        )
    }
    zones: list[tuple[int | None, int | None, list[list[float]]]] = [
        (None, feeder.id, result.feeder_zone.samples())
    ]
    zones += [
        (codes[c], None, flow.samples()) for c, flow in result.transformers.items() if c in codes
    ]
    for transformer_id, feeder_id, samples in zones:
        model = session.scalar(
            select(ZoneLossModel).where(
                ZoneLossModel.transformer_id.is_not_distinct_from(transformer_id),
                ZoneLossModel.feeder_id.is_not_distinct_from(feeder_id),
            )
        )
        if model is None:
            model = ZoneLossModel(transformer_id=transformer_id, feeder_id=feeder_id)
            session.add(model)
        model.method, model.samples, model.source = LossMethod.OPENDSS.value, samples, result.source
    session.flush()
    _recalibrate(session)
    return result


def _recalibrate(session: Session) -> None:
    """Fit the load-and-length model on every transformer zone with a load-flow model
    (``losses.fit_calibration``) and store the fit as the calibration in force."""
    transformers = {t.id: t for t in repository.transformers(session)}
    zones, sources = [], set()
    for model in session.scalars(
        select(ZoneLossModel).where(ZoneLossModel.transformer_id.is_not(None))
    ):
        t = transformers.get(model.transformer_id or 0)
        if t is not None and model.samples:
            zones.append(
                (losses.TransformerZone(t.rated_kva, t.lv_km, t.secondary_kv), model.samples)
            )
            sources.add(model.source)
    fitted = losses.fit_calibration(zones)
    if fitted is not None:
        session.add(
            LossCalibration(
                no_load_factor=fitted.no_load_factor,
                load_factor=fitted.load_factor,
                zones=fitted.zones,
                source=", ".join(sorted(sources)),
            )
        )
        session.flush()


def _page(session: Session, query: Select[Any], offset: int, limit: int) -> ZoneBalancePage:
    rows, total = paginate(session, query, offset=offset, limit=limit)
    codes = repository.zone_codes(session, rows)
    items = [
        ZoneBalanceRead.model_validate(
            {
                **{c: getattr(row, c) for c in ZoneBalanceRead.model_fields if hasattr(row, c)},
                "zone_kind": ZoneKind.TRANSFORMER if row.transformer_id else ZoneKind.FEEDER,
                "zone_code": codes[(row.transformer_id, row.feeder_id)],
            }
        )
        for row in rows
    ]
    return ZoneBalancePage(items=items, total=total, offset=offset, limit=limit)


def list_balances(
    session: Session,
    *,
    actor: Actor,
    offset: int,
    limit: int,
    kind: ZoneKind | None = None,
    first: date | None = None,
    last: date | None = None,
    analysable: bool | None = None,
    flagged: bool | None = None,
) -> ZoneBalancePage:
    """The balances the actor sees (its territory's zones), newest month first."""
    query = repository.balances_query(
        actor, kind=kind, first=first, last=last, analysable=analysable, flagged=flagged
    )
    return _page(session, query, offset, limit)


def zone_balances(
    session: Session,
    *,
    actor: Actor,
    kind: ZoneKind,
    code: str,
    first: date | None,
    last: date | None,
    offset: int,
    limit: int,
) -> ZoneBalancePage:
    """One zone's balances, newest month first; an unknown or unseen zone is a 404."""
    zone_id = repository.visible_zone_id(session, actor, kind, code)
    if zone_id is None:
        raise ZoneNotFoundError(f"no {kind.value} {code!r}")
    key = "transformer_id" if kind is ZoneKind.TRANSFORMER else "feeder_id"
    query = repository.balances_query(actor, first=first, last=last, **{key: zone_id})  # type: ignore[arg-type]
    return _page(session, query, offset, limit)
