"""The managers' loss map: each transformer zone of a month as a GeoJSON polygon (RFC 7946,
EPSG:4326) carrying its balance, for colouring by NTL share.

A zone's outline is the convex hull of its transformer and the service points it feeds,
widened by 25 m (on the geography, so in metres) so that a zone of one pole still shows.
Limited to the caller's territory by the balance's own rule (``ZoneBalance.__territory__``).
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from core.context import Actor
from core.territory import rule_sql
from fraud.models import ZoneBalance

_SQL = """
SELECT t.code, f.code AS feeder, b.energy_in_kwh, b.metered_kwh, b.unmetered_kwh,
       b.technical_loss_kwh, b.loss_method, b.ntl_kwh, b.ntl_share, b.analysable, b.reason,
       b.flagged, b.threshold_share,
       ST_AsGeoJSON(ST_Buffer(ST_ConvexHull(ST_Collect(
         t.geom, (SELECT ST_Collect(sp.geom) FROM gis_service_point sp
                  WHERE sp.transformer_id = t.id)))::geography, 25)::geometry, 6) AS outline
FROM fraud_zone_balance b
JOIN gis_power_transformer t ON t.id = b.transformer_id
LEFT JOIN gis_feeder f ON f.id = t.feeder_id
WHERE b.period_start = :month AND {territory}
ORDER BY t.code
"""

_NUMBERS = (
    "energy_in_kwh",
    "metered_kwh",
    "unmetered_kwh",
    "technical_loss_kwh",
    "ntl_kwh",
    "ntl_share",
    "threshold_share",
)


def months_computed(session: Session) -> list[date]:
    """The months holding balances, newest first."""
    return list(
        session.scalars(
            text("SELECT DISTINCT period_start FROM fraud_zone_balance ORDER BY 1 DESC LIMIT 60")
        )
    )


def transformer_zones(session: Session, actor: Actor, month: date) -> dict[str, Any]:
    """A FeatureCollection of the month's transformer zones the actor sees."""
    territory = rule_sql(actor, ZoneBalance, "b") or "true"
    features = []
    for row in session.execute(text(_SQL.format(territory=territory)), {"month": month}):
        values = row._asdict()
        outline = values.pop("outline")
        for key in _NUMBERS:
            if values[key] is not None:
                values[key] = float(values[key])
        features.append(
            {
                "type": "Feature",
                "geometry": json.loads(outline) if outline else None,
                "properties": values,
            }
        )
    return {"type": "FeatureCollection", "month": f"{month:%Y-%m}", "features": features}


_TRENDS_SQL = """
SELECT f.code, b.period_start, CASE WHEN b.analysable THEN b.ntl_share::float8 END,
       b.flagged
FROM fraud_zone_balance b JOIN gis_feeder f ON f.id = b.feeder_id
WHERE b.period_start > CAST(:month AS date) - make_interval(months => :months)
  AND b.period_start <= :month AND {territory}
ORDER BY f.code, b.period_start
"""


def feeder_trends(
    session: Session, actor: Actor, month: date, months: int = 12
) -> list[dict[str, Any]]:
    """Each feeder's NTL share (None: not analysable) over the ``months`` months ending with
    ``month``, oldest first, with whether the feeder was flagged; feeders the actor sees."""
    territory = rule_sql(actor, ZoneBalance, "b") or "true"
    trends: dict[str, dict[str, Any]] = {}
    for code, start, share, flagged in session.execute(
        text(_TRENDS_SQL.format(territory=territory)), {"month": month, "months": months}
    ):
        trend = trends.setdefault(code, {"feeder": code, "months": [], "shares": [], "flagged": []})
        trend["months"].append(f"{start:%Y-%m}")
        trend["shares"].append(share)
        trend["flagged"].append(bool(flagged))
    return list(trends.values())
