"""Queries of the fraud domain's balance: the zones and what their loss models need, the
unmetered loads, storing balances set-based, and reading them under the territory rule."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, select, text
from sqlalchemy.orm import Session

from core.context import Actor
from core.territory import visible
from fraud.balance import ZoneMonth
from fraud.enums import ZoneKind
from fraud.losses import Calibration
from fraud.models import LossCalibration, ZoneBalance
from gis.models import Feeder, PowerTransformer

_TRANSFORMERS_SQL = """
SELECT t.id, t.feeder_id, t.rated_kva, t.secondary_kv, lower(t.code) AS code,
       coalesce(sum(s.length_m) FILTER (WHERE s.voltage_level = 'lv'), 0) / 1000.0 AS lv_km,
       coalesce(f.topology_dirty, false) AS stale
FROM gis_power_transformer t
LEFT JOIN gis_feeder f ON f.id = t.feeder_id
LEFT JOIN gis_line_segment s ON s.transformer_id = t.id
GROUP BY t.id, f.topology_dirty
"""

_FEEDERS_SQL = """
SELECT f.id, f.nominal_kv, lower(f.code) AS code,
       coalesce(sum(s.length_m) FILTER (WHERE s.voltage_level = 'mv'), 0) / 1000.0 AS mv_km,
       f.topology_dirty AS stale
FROM gis_feeder f LEFT JOIN gis_line_segment s ON s.feeder_id = f.id
GROUP BY f.id
"""

# kW x hours a day of each zone's unmetered loads; a feeder holds its transformers' too.
_UNMETERED_SQL = """
SELECT 'transformer' AS kind, u.transformer_id AS zone_id, sum(u.load_kw * u.hours_per_day)
FROM fraud_unmetered_load u WHERE u.transformer_id IS NOT NULL GROUP BY u.transformer_id
UNION ALL
SELECT 'feeder', coalesce(u.feeder_id, t.feeder_id), sum(u.load_kw * u.hours_per_day)
FROM fraud_unmetered_load u LEFT JOIN gis_power_transformer t ON t.id = u.transformer_id
WHERE coalesce(u.feeder_id, t.feeder_id) IS NOT NULL
GROUP BY coalesce(u.feeder_id, t.feeder_id)
"""

_MODELS_SQL = """
SELECT CASE WHEN transformer_id IS NOT NULL THEN 'transformer' ELSE 'feeder' END,
       coalesce(transformer_id, feeder_id), samples
FROM fraud_zone_loss_model
"""

_UPSERT_SQL = """
INSERT INTO fraud_zone_balance AS b (
  transformer_id, feeder_id, period_start, period_end, energy_in_kwh, metered_kwh,
  estimated_kwh, usage_points, usage_points_unread, unmetered_kwh, technical_loss_kwh,
  loss_method, ntl_kwh, ntl_share, analysable, reason, flagged, computed_at)
SELECT z.transformer_id, z.feeder_id, :period_start, :period_end, z.energy_in, z.metered,
       z.estimated, z.ups, z.unread, z.unmetered, z.loss, z.method, z.ntl, z.share,
       z.reason IS NULL, z.reason, false, :computed_at
FROM unnest(CAST(:transformer_id AS bigint[]), CAST(:feeder_id AS bigint[]),
            CAST(:energy_in AS numeric[]), CAST(:metered AS numeric[]),
            CAST(:estimated AS numeric[]), CAST(:ups AS int[]), CAST(:unread AS int[]),
            CAST(:unmetered AS numeric[]), CAST(:loss AS numeric[]), CAST(:method AS text[]),
            CAST(:ntl AS numeric[]), CAST(:share AS numeric[]), CAST(:reason AS text[]))
  AS z(transformer_id, feeder_id, energy_in, metered, estimated, ups, unread, unmetered,
       loss, method, ntl, share, reason)
ON CONFLICT (transformer_id, feeder_id, period_start) DO UPDATE SET
  period_end = excluded.period_end, energy_in_kwh = excluded.energy_in_kwh,
  metered_kwh = excluded.metered_kwh, estimated_kwh = excluded.estimated_kwh,
  usage_points = excluded.usage_points, usage_points_unread = excluded.usage_points_unread,
  unmetered_kwh = excluded.unmetered_kwh, technical_loss_kwh = excluded.technical_loss_kwh,
  loss_method = excluded.loss_method, ntl_kwh = excluded.ntl_kwh,
  ntl_share = excluded.ntl_share, analysable = excluded.analysable, reason = excluded.reason,
  computed_at = excluded.computed_at, updated_at = now()
"""


@dataclass(frozen=True)
class TransformerRow:
    id: int
    feeder_id: int | None
    rated_kva: float
    secondary_kv: float | None
    code: str
    lv_km: float
    stale: bool


@dataclass(frozen=True)
class FeederRow:
    id: int
    nominal_kv: float | None
    code: str
    mv_km: float
    stale: bool


def transformers(session: Session) -> list[TransformerRow]:
    return [
        TransformerRow(int(i), f, float(kva or 0), kv, code, float(km), bool(stale))
        for i, f, kva, kv, code, km, stale in session.execute(text(_TRANSFORMERS_SQL))
    ]


def feeders(session: Session) -> list[FeederRow]:
    return [
        FeederRow(int(i), kv, code, float(km), bool(stale))
        for i, kv, code, km, stale in session.execute(text(_FEEDERS_SQL))
    ]


def unmetered_kwh_per_day(session: Session) -> dict[tuple[str, int], Decimal]:
    return {(k, int(z)): Decimal(v) for k, z, v in session.execute(text(_UNMETERED_SQL))}


def loss_models(session: Session) -> dict[tuple[str, int], list[list[float]]]:
    return {(k, int(z)): samples for k, z, samples in session.execute(text(_MODELS_SQL))}


def calibration(session: Session) -> Calibration:
    """The newest calibration of the load-and-length model (the constants alone if none)."""
    row = session.scalars(
        select(LossCalibration).order_by(LossCalibration.id.desc()).limit(1)
    ).first()
    return Calibration(row.no_load_factor, row.load_factor, row.zones) if row else Calibration()


def _num(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def store_month(
    session: Session, months: Sequence[ZoneMonth], start: date, end: date, at: datetime
) -> None:
    """Insert or replace the balances of one month (one statement)."""
    if not months:
        return
    tr = [m.kind is ZoneKind.TRANSFORMER for m in months]
    session.execute(
        text(_UPSERT_SQL),
        {
            "period_start": start,
            "period_end": end,
            "computed_at": at,
            "transformer_id": [m.zone_id if t else None for m, t in zip(months, tr, strict=True)],
            "feeder_id": [None if t else m.zone_id for m, t in zip(months, tr, strict=True)],
            "energy_in": [_num(m.energy_in_kwh) for m in months],
            "metered": [_num(m.metered_kwh) for m in months],
            "estimated": [_num(m.estimated_kwh) for m in months],
            "ups": [m.usage_points for m in months],
            "unread": [m.usage_points_unread for m in months],
            "unmetered": [_num(m.unmetered_kwh) for m in months],
            "loss": [_num(m.technical_loss_kwh) for m in months],
            "method": [m.loss_method.value if m.loss_method else None for m in months],
            "ntl": [_num(m.ntl_kwh) for m in months],
            "share": [_num(m.ntl_share) for m in months],
            "reason": [m.reason.value if m.reason else None for m in months],
        },
    )


def balances_query(
    actor: Actor,
    *,
    kind: ZoneKind | None = None,
    transformer_id: int | None = None,
    feeder_id: int | None = None,
    first: date | None = None,
    last: date | None = None,
    analysable: bool | None = None,
    flagged: bool | None = None,
) -> Select[Any]:
    """Balances the actor sees, filtered, newest month first, then by zone."""
    query = select(ZoneBalance).where(visible(actor, ZoneBalance))
    if kind is ZoneKind.TRANSFORMER:
        query = query.where(ZoneBalance.transformer_id.is_not(None))
    elif kind is ZoneKind.FEEDER:
        query = query.where(ZoneBalance.feeder_id.is_not(None))
    if transformer_id is not None:
        query = query.where(ZoneBalance.transformer_id == transformer_id)
    if feeder_id is not None:
        query = query.where(ZoneBalance.feeder_id == feeder_id)
    if first is not None:
        query = query.where(ZoneBalance.period_start >= first)
    if last is not None:
        query = query.where(ZoneBalance.period_start <= last)
    if analysable is not None:
        query = query.where(ZoneBalance.analysable.is_(analysable))
    if flagged is not None:
        query = query.where(ZoneBalance.flagged.is_(flagged))
    return query.order_by(
        ZoneBalance.period_start.desc(), ZoneBalance.feeder_id, ZoneBalance.transformer_id
    )


def visible_zone_id(session: Session, actor: Actor, kind: ZoneKind, code: str) -> int | None:
    """The id of the transformer or feeder ``code`` if the actor sees it."""
    model: Any = PowerTransformer if kind is ZoneKind.TRANSFORMER else Feeder
    return session.scalar(select(model.id).where(model.code == code, visible(actor, model)))


def zone_codes(
    session: Session, rows: Sequence[ZoneBalance]
) -> dict[tuple[int | None, int | None], str]:
    """The transformer or feeder code of each balance's zone."""
    transformer_ids = {r.transformer_id for r in rows if r.transformer_id}
    feeder_ids = {r.feeder_id for r in rows if r.feeder_id}
    codes: dict[tuple[int | None, int | None], str] = {}
    for i, code in session.execute(
        select(PowerTransformer.id, PowerTransformer.code).where(
            PowerTransformer.id.in_(transformer_ids)
        )
    ):
        codes[(i, None)] = code
    for i, code in session.execute(select(Feeder.id, Feeder.code).where(Feeder.id.in_(feeder_ids))):
        codes[(None, i)] = code
    return codes
