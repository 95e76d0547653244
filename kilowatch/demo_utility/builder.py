"""Build the demo utility for a seed on the generated network, set-based, in the caller's
transaction (one audited bulk job; the caller commits, so a failure leaves nothing).

Stages: network (generated when missing) -> plan (numpy) -> customers -> meters and
installations -> 24 months of reads through the meters bulk import -> zone meters -> the
ground truth. A batch already built for the seed is left as it is (idempotent).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from core.audit import declare_bulk_job
from core.auth.models import Agency
from core.locks import LockSpace, int32_key, xact_lock
from core.periods import add_months, local_date, month_start
from gis.generator import generate_network, generated_network_exists, generated_prefix
from kilowatch.demo_utility.copying import Progress, quiet
from kilowatch.demo_utility.models import DemoBatch
from kilowatch.demo_utility.network_input import load_network
from kilowatch.demo_utility.plan_customers import plan_customers
from kilowatch.demo_utility.plan_energy import plan_energy
from kilowatch.demo_utility.profiles import month_starts
from kilowatch.demo_utility.write_customers import write_customers
from kilowatch.demo_utility.write_meters import write_meters, write_readings, write_zone_meters
from kilowatch.demo_utility.write_truth import write_truth

MONTHS = 24
PREMISES_PER_SERVICE_POINT = 1.25  # compounds and shop rows share a connection
DEMO_AGENCY_CODE = "COT-C"
ANALYZED = (
    "customer_party",
    "customer_party_phone",
    "customer_service_location",
    "customer_usage_point",
    "customer_account",
    "customer_contract",
    "customer_contract_role",
    "customer_case",
    "customer_interaction",
    "meter_asset",
    "meter_register",
    "meter_installation",
    "meter_zone_installation",
    "meter_reading",
    "demo_ground_truth",
)


@dataclass
class BuildReport:
    """What a build did (or found): the batch, its row counts and timings (s)."""

    seed: int
    created: bool
    first_month: date
    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    readings: dict[str, int] = field(default_factory=dict)


def default_first_month(today: date | None = None, months: int = MONTHS) -> date:
    """The window: the ``months`` full local calendar months before the current one."""
    today = today or local_date(datetime.now(UTC))
    return add_months(month_start(today), -months)


def service_points_for(customers: int, requested: int) -> int:
    return max(requested, math.ceil(customers / PREMISES_PER_SERVICE_POINT))


def existing_batch(session: Session, seed: int) -> DemoBatch | None:
    return session.scalar(select(DemoBatch).where(DemoBatch.seed == seed))


def build_demo_utility(
    session: Session,
    *,
    customers: int,
    seed: int,
    service_points: int = 0,
    first_month: date | None = None,
    progress: Progress = quiet,
) -> BuildReport:
    """Build ``customers`` customers with 24 months of reads on the network generated with
    ``seed`` (generated now if missing, with at least ``service_points`` connections)."""
    xact_lock(session, LockSpace.DEMO_BUILD, int32_key(seed))
    found = existing_batch(session, seed)
    if found is not None:
        return BuildReport(
            seed=seed,
            created=False,
            first_month=found.first_month,
            counts=dict(found.counts),
            seconds=dict(found.seconds),
        )
    job_key = f"demo.build:{seed}"
    seconds: dict[str, float] = {}
    started = clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[stage] = round(now - clock, 2)
        clock = now

    if not generated_network_exists(session, seed=seed):
        generate_network(
            session,
            service_points=service_points_for(customers, service_points),
            seed=seed,
            progress=progress,
        )
    declare_bulk_job(session, job_key)
    lap("network")
    net = load_network(session, generated_prefix(seed))
    first_month = first_month or default_first_month()
    cust = plan_customers(
        net, customers=customers, seed=seed, window_start=first_month, months=MONTHS
    )
    energy = plan_energy(net, cust, seed=seed, first_month=first_month, months=MONTHS)
    progress("plan", 1, 1)
    lap("plan")
    agency_id = session.scalar(select(Agency.id).where(Agency.code == DEMO_AGENCY_CODE))
    window_end = month_starts(first_month, MONTHS)[-1]
    ids = write_customers(
        session, cust, net, agency_id=agency_id, today=window_end, progress=progress
    )
    lap("customers")
    meter_ids = write_meters(
        session, energy, ids.usage_point, first_month=first_month, progress=progress
    )
    lap("meters")
    report = write_readings(
        session, energy, meter_ids, first_month=first_month, job_key=job_key, progress=progress
    )
    lap("readings")
    zones = write_zone_meters(
        session, energy, net, first_month=first_month, job_key=job_key, progress=progress
    )
    lap("zone meters")
    counts = {
        "service_points": net.service_points,
        "transformers": len(net.tr_id),
        "feeders": len(net.fd_id),
        "parties": cust.n,
        "usage_points": cust.n,
        "contracts": len(cust.ct_party),
        "cases": len(cust.case_party),
        "interactions": len(cust.it_party),
        "meters": len(meter_ids.meter),
        "zone_meters": len(net.tr_id) + len(net.fd_id),
        "readings": report.new,
        "zone_readings": (len(net.tr_id) + len(net.fd_id)) * (MONTHS + 1),
        **cust.stats,
        **energy.stats,
    }
    readings = {
        "accepted": report.accepted,
        "flagged": report.flagged,
        "rejected": report.rejected,
        "duplicates": report.duplicates,
    }
    batch = DemoBatch(
        seed=seed,
        customers=customers,
        service_points=net.service_points,
        network_prefix=generated_prefix(seed),
        first_month=first_month,
        months=MONTHS,
        counts={**counts, "reading_status": readings},
    )
    session.add(batch)
    session.flush()
    write_truth(
        session,
        batch_id=batch.id,
        cust=cust,
        energy=energy,
        net=net,
        first_month=first_month,
        usage_points=ids.usage_point,
        transformer_meters=zones.transformer_meter,
        feeder_meters=zones.feeder_meter,
        progress=progress,
    )
    lap("ground truth")
    for table in ANALYZED:  # the planner must know the tables just grew
        session.execute(text(f"ANALYZE {table}"))
    progress("analyze", 1, 1)
    lap("analyze")
    seconds["total"] = round(time.perf_counter() - started, 2)
    batch.seconds = seconds
    session.flush()
    return BuildReport(
        seed=seed,
        created=True,
        first_month=first_month,
        counts=counts,
        seconds=seconds,
        readings=readings,
    )
