"""Energy per zone and month from meter reads, aligned to the month (set-based SQL).

Reads are rarely taken on a month's boundary (a reader walks a round over days; a customer's
meter is read on the 11th, a transformer's on the 1st), so a balance cannot use billing's
convention (``meters.consumption``: an interval counts in the period its closing read falls
in) without mixing a month of one meter with half of another's. The alignment rule here:

    **each interval between two consecutive index points of a meter is spread over time at a
    constant rate, and a month receives the share of its advance that falls inside it**:
    ``kWh(month) = sum over intervals of advance x |interval ∩ month| / |interval|``
    (elapsed time: days and fractions of days, in UTC instants of the local month's bounds).

Index points are those billing counts (``meters.consumption``): an installation's start
index, its accepted and flagged reads (standing estimates included), its end index at
removal; an advance crosses at most one rollover (+10^digits) and is multiplied by the
meter's multiplier. Only the main register set's ``total`` register is used.

What a month cannot see yet is made explicit rather than guessed silently: when a usage
point's intervals cover only part of the time its meter was fitted during the month (its
next read has not come in), its aligned energy is scaled up to the whole time at the rate
of what is covered, and that extrapolated part is counted as estimated, like the kWh of
intervals closed by an estimated read. A usage point with no interval touching the month is
"unread" (no energy, counted apart). Reads more than ``WINDOW_DAYS`` before or after the
month are not looked at (readings are partitioned by month: the window keeps the scan to a
few partitions).

Zone meters are read the same way; their energy counts only when their intervals cover the
whole month (a zone meter's gap is not extrapolated: the zone is then not analysable).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.orm import Session

WINDOW_DAYS = 100

# Interval arithmetic shared by both statements: ``steps`` has (owner, t0, t1, delta,
# estimated, capacity, multiplier); each becomes kWh and its overlap with the month.
_PRORATE = """
intervals AS (
  SELECT s.owner, s.estimated,
         (CASE WHEN s.delta >= 0 THEN s.delta ELSE s.delta + s.capacity END) * s.multiplier
           AS kwh,
         greatest(0, extract(epoch FROM least(s.t1, :p_to) - greatest(s.t0, :p_from)))
           AS overlap_s,
         extract(epoch FROM s.t1 - s.t0) AS span_s
  FROM steps s
  WHERE s.t0 IS NOT NULL AND s.t1 > s.t0 AND s.t0 < :p_to AND s.t1 > :p_from
), shares AS (
  SELECT owner, sum(kwh * overlap_s / span_s) AS kwh,
         coalesce(sum(kwh * overlap_s / span_s) FILTER (WHERE estimated), 0) AS estimated_kwh,
         sum(overlap_s) AS covered_s
  FROM intervals GROUP BY owner
)"""

# Usage points hang on a zone through their premises' service point, whose feeder and
# transformer the network trace materialised.
_DOWNSTREAM_SQL = f"""
WITH ups AS (
  SELECT up.id AS usage_point_id, sp.transformer_id, sp.feeder_id
  FROM customer_usage_point up
  JOIN customer_service_location sl ON sl.id = up.service_location_id
  JOIN gis_service_point sp ON sp.id = sl.service_point_id
  WHERE sp.feeder_id IS NOT NULL
), inst AS (
  SELECT i.id AS installation_id, i.usage_point_id, i.installed_at, i.removed_at,
         (i.start_indexes ->> r.code)::numeric AS start_index,
         (i.end_indexes ->> r.code)::numeric AS end_index,
         power(10::numeric, m.dial_digits) AS capacity, m.multiplier, r.id AS register_id
  FROM meter_installation i
  JOIN ups USING (usage_point_id)
  JOIN meter_asset m ON m.id = i.meter_id
  JOIN meter_register r ON r.meter_id = m.id AND r.code = 'total'
  WHERE i.register_set = 'main' AND i.installed_at < :w_to
    AND (i.removed_at IS NULL OR i.removed_at > :w_from)
), points AS (
  SELECT installation_id, installed_at AS at, 0 AS kind, start_index AS value,
         false AS estimated
  FROM inst WHERE installed_at >= :w_from
  UNION ALL
  SELECT inst.installation_id, rd.read_at, 1, rd.value, rd.source = 'estimated'
  FROM inst JOIN meter_reading rd ON rd.register_id = inst.register_id
   AND rd.installation_id = inst.installation_id
  WHERE rd.status IN ('accepted', 'flagged') AND rd.read_at >= :w_from AND rd.read_at < :w_to
  UNION ALL
  SELECT installation_id, removed_at, 2, end_index, false
  FROM inst WHERE removed_at IS NOT NULL AND removed_at < :w_to
), steps AS (
  SELECT i.usage_point_id AS owner, lag(p.at) OVER w AS t0, p.at AS t1,
         p.value - lag(p.value) OVER w AS delta, p.estimated, i.capacity, i.multiplier
  FROM points p JOIN inst i USING (installation_id)
  WINDOW w AS (PARTITION BY p.installation_id ORDER BY p.at, p.kind)
), {_PRORATE}, fitted AS (
  -- How long each usage point had a meter during the month: what its reads should cover.
  SELECT usage_point_id,
         sum(extract(epoch FROM least(coalesce(removed_at, :p_to), :p_to)
                              - greatest(installed_at, :p_from))) AS fitted_s
  FROM inst WHERE installed_at < :p_to AND (removed_at IS NULL OR removed_at > :p_from)
  GROUP BY usage_point_id
), aligned AS (
  SELECT ups.transformer_id, ups.feeder_id, f.usage_point_id,
         coalesce(sh.kwh * f.fitted_s / sh.covered_s, 0) AS kwh,
         coalesce(sh.estimated_kwh + sh.kwh * (f.fitted_s / sh.covered_s - 1), 0)
           AS estimated_kwh,
         sh.owner IS NULL AS unread
  FROM fitted f JOIN ups USING (usage_point_id)
  LEFT JOIN shares sh ON sh.owner = f.usage_point_id
)
SELECT CASE WHEN grouping(transformer_id) = 0 THEN 'transformer' ELSE 'feeder' END AS kind,
       coalesce(transformer_id, feeder_id) AS zone_id,
       sum(kwh) AS kwh, sum(estimated_kwh) AS estimated_kwh,
       count(*) AS usage_points, count(*) FILTER (WHERE unread) AS unread
FROM aligned
GROUP BY GROUPING SETS ((transformer_id), (feeder_id))
HAVING coalesce(transformer_id, feeder_id) IS NOT NULL
"""

_ZONE_IN_SQL = f"""
WITH zi AS (
  SELECT z.id AS zone_installation_id, z.transformer_id, z.feeder_id, z.installed_at,
         z.removed_at, r.id AS register_id, power(10::numeric, m.dial_digits) AS capacity,
         m.multiplier
  FROM meter_zone_installation z
  JOIN meter_asset m ON m.id = z.meter_id
  JOIN meter_register r ON r.meter_id = m.id AND r.code = 'total'
  WHERE z.installed_at < :p_to AND (z.removed_at IS NULL OR z.removed_at > :p_from)
), points AS (
  SELECT zi.zone_installation_id, rd.read_at AS at, rd.value
  FROM zi JOIN meter_reading rd ON rd.register_id = zi.register_id
  WHERE rd.status IN ('accepted', 'flagged') AND rd.read_at >= :w_from AND rd.read_at < :w_to
    AND rd.read_at >= zi.installed_at AND (zi.removed_at IS NULL OR rd.read_at <= zi.removed_at)
), steps AS (
  SELECT p.zone_installation_id AS owner, lag(p.at) OVER w AS t0, p.at AS t1,
         p.value - lag(p.value) OVER w AS delta, false AS estimated, zi.capacity, zi.multiplier
  FROM points p JOIN zi USING (zone_installation_id)
  WINDOW w AS (PARTITION BY p.zone_installation_id ORDER BY p.at)
), {_PRORATE}
SELECT CASE WHEN zi.transformer_id IS NOT NULL THEN 'transformer' ELSE 'feeder' END AS kind,
       coalesce(zi.transformer_id, zi.feeder_id) AS zone_id,
       coalesce(sum(sh.kwh), 0) AS kwh, coalesce(sum(sh.covered_s), 0) AS covered_s
FROM zi LEFT JOIN shares sh ON sh.owner = zi.zone_installation_id
GROUP BY 1, 2
"""


@dataclass(frozen=True)
class Downstream:
    """What the customers' meters of one zone recorded over the month, aligned."""

    kwh: Decimal
    estimated_kwh: Decimal
    usage_points: int  # with a meter fitted during the month
    unread: int  # of which no interval touches the month


@dataclass(frozen=True)
class ZoneIn:
    """What a zone's meter(s) recorded entering it over the month."""

    kwh: Decimal
    covered_s: float  # seconds of the month its intervals cover


Zone = tuple[str, int]  # (ZoneKind value, transformer or feeder id)


def _bounds(p_from: datetime, p_to: datetime) -> dict[str, datetime]:
    window = timedelta(days=WINDOW_DAYS)
    return {"p_from": p_from, "p_to": p_to, "w_from": p_from - window, "w_to": p_to + window}


def downstream(session: Session, p_from: datetime, p_to: datetime) -> dict[Zone, Downstream]:
    """Aligned customer energy of every transformer and feeder zone over [p_from, p_to)."""
    rows = session.execute(text(_DOWNSTREAM_SQL), _bounds(p_from, p_to)).all()
    return {
        (kind, int(zone)): Downstream(Decimal(kwh), Decimal(est), int(n), int(unread))
        for kind, zone, kwh, est, n, unread in rows
    }


def zone_energy_in(session: Session, p_from: datetime, p_to: datetime) -> dict[Zone, ZoneIn]:
    """Aligned zone-meter energy of every zone with a zone meter fitted during the month."""
    rows = session.execute(text(_ZONE_IN_SQL), _bounds(p_from, p_to)).all()
    return {(kind, int(zone)): ZoneIn(Decimal(kwh), float(cov)) for kind, zone, kwh, cov in rows}
