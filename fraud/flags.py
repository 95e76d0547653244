"""The zone flag rule: which zone balances break their NTL bar (set-based, in SQL).

Default (``FlagRule()``): a zone-month is *above* when it is analysable and its NTL share
exceeds ``max(3 points, 2 sd)``, sd being the standard deviation of the zone's own analysable
NTL shares over the 12 months before (sd used once 3 of them exist; until then the 3-point
floor alone). A zone-month is *flagged* when it and the month before it are both above
(2 consecutive months); a run of 5 months above flags its months 2 to 5. The bar a month
was held to is stored with it (``threshold_share``), so a flag can be explained.

Months are consecutive in the calendar: a month missing from the history (not computed, or
not analysable) breaks a run.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class FlagRule:
    min_share: float = 0.03  # the floor: 3 percentage points of the energy in
    sigmas: float = 2.0  # how many of the zone's own standard deviations
    history_months: int = 12  # the history sd is taken over (months before)
    min_history: int = 3  # analysable months needed before sd counts
    consecutive: int = 2  # months above in a row before the zone is flagged


_FLAG_SQL = """
WITH h AS (
  SELECT id, transformer_id, feeder_id, period_start, analysable, ntl_share,
         extract(year FROM period_start) * 12 + extract(month FROM period_start) AS month_no,
         stddev_samp(ntl_share) OVER w AS sd, count(ntl_share) OVER w AS n
  FROM fraud_zone_balance
  WINDOW w AS (PARTITION BY transformer_id, feeder_id ORDER BY period_start
               ROWS BETWEEN :history PRECEDING AND 1 PRECEDING)
), bar AS (
  SELECT *, CASE WHEN analysable THEN greatest(
              CAST(:min_share AS numeric),
              CASE WHEN n >= :min_history THEN CAST(:sigmas AS numeric) * sd ELSE 0 END)
            END AS threshold
  FROM h
), above AS (
  SELECT *, coalesce(analysable AND ntl_share > threshold, false) AS above FROM bar
), islands AS (
  SELECT *, month_no - row_number() OVER (
              PARTITION BY transformer_id, feeder_id, above ORDER BY period_start) AS island
  FROM above
), runs AS (
  SELECT id, threshold, above AND row_number() OVER (
           PARTITION BY transformer_id, feeder_id, above, island ORDER BY period_start
         ) >= :consecutive AS flagged
  FROM islands
)
UPDATE fraud_zone_balance b
SET threshold_share = round(runs.threshold, 6), flagged = runs.flagged, updated_at = now()
FROM runs
WHERE b.id = runs.id
  AND (b.threshold_share IS DISTINCT FROM round(runs.threshold, 6)
       OR b.flagged IS DISTINCT FROM runs.flagged)
"""


def apply_flag_rule(session: Session, rule: FlagRule | None = None) -> int:
    """Re-judge every stored balance under ``rule``; returns how many rows changed."""
    rule = rule or FlagRule()
    result = session.execute(
        text(_FLAG_SQL),
        {
            "history": rule.history_months,
            "min_share": rule.min_share,
            "min_history": rule.min_history,
            "sigmas": rule.sigmas,
            "consecutive": rule.consecutive,
        },
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
