"""Selecting a run's usage points, set-based: one INSERT ... SELECT writes the items with
their contract, their period cut to the contract (first day in, last day out) and their
chunk number, then one INSERT makes the chunks."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from billing.runs.models import BillingRun
from billing.runs.schemas import Selection
from core.context import Actor
from core.territory import rule_sql
from customers.models import UsagePoint

# The contract billed: the latest one that supplied the usage point during the period
# (active, or ended within it). A move-in during the period starts its bill on that day.
_SELECT = """
INSERT INTO billing_run_item (run_id, chunk_no, usage_point_id, contract_id, period_start,
                              period_end, status)
SELECT :run, ((row_number() OVER (ORDER BY up.id)) - 1) / :chunk, up.id, c.id,
       greatest(c.start_date, CAST(:start AS date)),
       least(coalesce(c.end_date, CAST(:end AS date)), CAST(:end AS date)),
       'selected'
FROM customer_usage_point up
JOIN customer_service_location sl ON sl.id = up.service_location_id
LEFT JOIN gis_service_point sp ON sp.id = sl.service_point_id
LEFT JOIN LATERAL (
  SELECT c.id, c.start_date, c.end_date FROM customer_contract c
  WHERE c.usage_point_id = up.id
    AND c.status IN ('active', 'ended', 'terminated', 'transferred')
    AND c.start_date < :end AND (c.end_date IS NULL OR c.end_date > :start)
  ORDER BY c.start_date DESC LIMIT 1
) c ON true
WHERE {where}
"""

_CHUNKS = """
INSERT INTO billing_run_chunk (run_id, chunk_no, items)
SELECT :run, chunk_no, count(*) FROM billing_run_item WHERE run_id = :run GROUP BY chunk_no
"""


def select_items(
    session: Session, actor: Actor, run: BillingRun, selection: Selection, agency_id: int | None
) -> int:
    """Write the run's items and chunks; the number of items."""
    where = ["true"]
    params: dict[str, Any] = {
        "run": run.id,
        "chunk": run.chunk_size,
        "start": run.period_start,
        "end": run.period_end,
    }
    if selection.categories:
        where.append("up.category = ANY(:categories)")
        params["categories"] = [c.value for c in selection.categories]
    if agency_id is not None:
        where.append(
            "ST_Intersects(sl.geom, (SELECT a.territory FROM core_agency a WHERE a.id = :agency))"
        )
        params["agency"] = agency_id
    if selection.feeder_ids:
        where.append("sp.feeder_id = ANY(:feeders)")
        params["feeders"] = selection.feeder_ids
    if selection.transformer_ids:
        where.append("sp.transformer_id = ANY(:transformers)")
        params["transformers"] = selection.transformer_ids
    if selection.usage_point_ids:
        where.append("up.id = ANY(:ids)")
        params["ids"] = selection.usage_point_ids
    territory = rule_sql(actor, UsagePoint, "up")
    if territory is not None:
        where.append(territory)
    result = session.execute(text(_SELECT.format(where=" AND ".join(where))), params)
    session.execute(text(_CHUNKS), {"run": run.id})
    return int(result.rowcount or 0)
