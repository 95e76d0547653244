"""Remove a demo batch and everything it created (customers, meters, reads, zone meters,
ground truth), optionally its generated network too. One audited bulk job; the caller
commits."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from core.audit import declare_bulk_job
from gis.generator import delete_generated_network

# Temporary id lists first, then children before parents.
_STEPS = (
    (
        "CREATE TEMP TABLE kw_demo_up ON COMMIT DROP AS SELECT usage_point_id AS id "
        "FROM demo_ground_truth WHERE batch_id = :batch AND usage_point_id IS NOT NULL"
    ),
    (
        "CREATE TEMP TABLE kw_demo_meter ON COMMIT DROP AS "
        "SELECT meter_id AS id FROM meter_installation WHERE usage_point_id IN (SELECT id FROM kw_demo_up) "
        "UNION SELECT meter_id FROM demo_ground_truth WHERE batch_id = :batch AND meter_id IS NOT NULL"
    ),
    (
        "CREATE TEMP TABLE kw_demo_contract ON COMMIT DROP AS SELECT id, holder_party_id, account_id "
        "FROM customer_contract WHERE usage_point_id IN (SELECT id FROM kw_demo_up)"
    ),
    (
        "CREATE TEMP TABLE kw_demo_party ON COMMIT DROP AS SELECT DISTINCT holder_party_id AS id "
        "FROM kw_demo_contract"
    ),
    "DELETE FROM demo_batch WHERE id = :batch",  # the ground truth goes with it (cascade)
    "DELETE FROM meter_reading WHERE meter_id IN (SELECT id FROM kw_demo_meter)",
    "DELETE FROM meter_zone_installation WHERE meter_id IN (SELECT id FROM kw_demo_meter)",
    "UPDATE meter_installation SET replaces_installation_id = NULL "
    "WHERE meter_id IN (SELECT id FROM kw_demo_meter)",
    "DELETE FROM meter_installation WHERE meter_id IN (SELECT id FROM kw_demo_meter)",
    "DELETE FROM meter_asset WHERE id IN (SELECT id FROM kw_demo_meter)",  # registers cascade
    "DELETE FROM customer_interaction WHERE party_id IN (SELECT id FROM kw_demo_party)",
    "DELETE FROM customer_case_status_change WHERE case_id IN (SELECT id FROM customer_case "
    "WHERE party_id IN (SELECT id FROM kw_demo_party))",
    "DELETE FROM customer_case WHERE party_id IN (SELECT id FROM kw_demo_party)",
    "DELETE FROM customer_contract_transition WHERE contract_id IN (SELECT id FROM kw_demo_contract)",
    "DELETE FROM customer_contract_role WHERE contract_id IN (SELECT id FROM kw_demo_contract)",
    "DELETE FROM customer_contract WHERE id IN (SELECT id FROM kw_demo_contract)",
    "DELETE FROM customer_account WHERE payer_party_id IN (SELECT id FROM kw_demo_party)",
    "DELETE FROM customer_usage_point WHERE id IN (SELECT id FROM kw_demo_up) "
    "RETURNING service_location_id",
    "DELETE FROM customer_party_phone WHERE party_id IN (SELECT id FROM kw_demo_party)",
    "DELETE FROM customer_party_email WHERE party_id IN (SELECT id FROM kw_demo_party)",
    "DELETE FROM customer_identity_document WHERE party_id IN (SELECT id FROM kw_demo_party)",
    "DELETE FROM customer_party WHERE id IN (SELECT id FROM kw_demo_party)",
)


def delete_demo_utility(session: Session, *, seed: int, with_network: bool = False) -> bool:
    """Remove the demo batch built with ``seed``; False when there is none."""
    batch = session.scalar(text("SELECT id FROM demo_batch WHERE seed = :s"), {"s": seed})
    if batch is None:
        return False
    declare_bulk_job(session, f"demo.delete:{seed}")
    locations: list[int] = []
    for statement in _STEPS:
        result = session.execute(text(statement), {"batch": batch})
        if statement.endswith("RETURNING service_location_id"):
            locations = [row[0] for row in result]
    session.execute(
        text("DELETE FROM customer_service_location WHERE id = ANY(:ids)"), {"ids": locations}
    )
    for table in ("kw_demo_up", "kw_demo_meter", "kw_demo_contract", "kw_demo_party"):
        session.execute(text(f"DROP TABLE IF EXISTS {table}"))
    if with_network:
        delete_generated_network(session, seed=seed)
    return True
