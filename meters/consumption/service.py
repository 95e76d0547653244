"""Consumption per usage point and period, derived from the stored indexes.

Same convention as ``meters.consumption.derivation`` (billing by read): the kWh of
[period_from, period_to) is the sum of the intervals closed in it, between consecutive
index points of each installation: its start index, its counted reads (accepted, flagged,
standing estimates), its end index at removal. Each advance crosses at most one rollover
(+10^dial digits when the index went down) and is multiplied by the meter's multiplier.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.orm import Session

_SQL = """
WITH inst AS (
  SELECT i.id AS installation_id, i.usage_point_id, i.installed_at, i.removed_at,
         (i.start_indexes ->> r.code)::numeric AS start_index,
         (i.end_indexes ->> r.code)::numeric AS end_index, i.replaces_installation_id,
         power(10::numeric, m.dial_digits) AS capacity, m.multiplier, r.id AS register_id,
         r.code
  FROM meter_installation i
  JOIN meter_asset m ON m.id = i.meter_id
  JOIN meter_register r ON r.meter_id = m.id
  WHERE i.usage_point_id = ANY(:ids) AND i.register_set = :register_set
    AND i.installed_at < :period_to AND (i.removed_at IS NULL OR i.removed_at >= :period_from)
), opening AS (
  -- The last index point before the period, so its first interval has a start.
  SELECT inst.installation_id, inst.register_id,
         (SELECT max(rd.read_at) FROM meter_reading rd
          WHERE rd.register_id = inst.register_id AND rd.installation_id = inst.installation_id
            AND rd.status IN ('accepted', 'flagged') AND rd.read_at < :period_from) AS since
  FROM inst
), points AS (
  SELECT installation_id, register_id, installed_at AS at, 0 AS kind, start_index AS value,
         false AS estimated
  FROM inst
  UNION ALL
  SELECT inst.installation_id, inst.register_id, rd.read_at, 1, rd.value,
         rd.source = 'estimated'
  FROM inst JOIN opening o USING (installation_id, register_id)
  JOIN meter_reading rd ON rd.register_id = inst.register_id
   AND rd.installation_id = inst.installation_id AND rd.status IN ('accepted', 'flagged')
   AND rd.read_at >= coalesce(o.since, inst.installed_at) AND rd.read_at < :period_to
  UNION ALL
  SELECT installation_id, register_id, removed_at, 2, end_index, false
  FROM inst WHERE removed_at IS NOT NULL
), steps AS (
  SELECT p.*, lag(p.value) OVER w AS previous
  FROM points p WINDOW w AS (PARTITION BY installation_id, register_id ORDER BY at, kind)
)
SELECT inst.usage_point_id, inst.code,
       coalesce(sum(CASE WHEN s.value >= s.previous THEN s.value - s.previous
                         ELSE s.value - s.previous + inst.capacity END
                    * inst.multiplier), 0) AS kwh,
       count(*) AS intervals, bool_or(s.estimated) AS includes_estimate,
       count(DISTINCT inst.installation_id) > 1 AS meter_changed
FROM steps s JOIN inst USING (installation_id, register_id)
WHERE s.previous IS NOT NULL AND s.at >= :period_from AND s.at < :period_to
GROUP BY inst.usage_point_id, inst.code
ORDER BY inst.usage_point_id, inst.code
"""


@dataclass(frozen=True)
class Consumption:
    usage_point_id: int
    register_code: str
    period_from: datetime
    period_to: datetime
    kwh: Decimal
    intervals: int  # index intervals closed in the period
    includes_estimate: bool  # one of them ends on an estimate
    meter_changed: bool  # more than one meter contributed


def consumption_for(
    session: Session,
    usage_point_ids: Sequence[int],
    period_from: datetime,
    period_to: datetime,
    *,
    register_set: str = "main",
) -> list[Consumption]:
    """kWh per usage point and register code over [period_from, period_to). Usage points
    without any interval closed in the period are absent (nothing measured yet)."""
    rows = session.execute(
        text(_SQL),
        {
            "ids": list(usage_point_ids),
            "period_from": period_from,
            "period_to": period_to,
            "register_set": register_set,
        },
    ).all()
    return [
        Consumption(
            int(up),
            code,
            period_from,
            period_to,
            Decimal(kwh).normalize() + 0,
            int(n),
            bool(est),
            bool(changed),
        )
        for up, code, kwh, n, est, changed in rows
    ]


def total_kwh(consumptions: Sequence[Consumption], register: str = "total") -> Decimal:
    return sum((c.kwh for c in consumptions if c.register_code == register), Decimal(0))
