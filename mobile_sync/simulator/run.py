"""Run many simulated handhelds at once and report what happened (one JSON object).

Phases: ``capture`` (sign in, enroll, pull, create the records into each outbox), ``sync``
(push and upload until every outbox is empty), ``all`` (both). State lives in
``state_dir`` (one SQLite file per device), so a run cut short, or split in phases, goes
on where it stopped.
"""

from __future__ import annotations

import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

from mobile_sync.simulator.device import Device, DeviceReport, DeviceSpec
from mobile_sync.simulator.faults import Faults

PHASES = ("all", "capture", "sync")


def _run_one(
    spec: DeviceSpec,
    *,
    url: str,
    records: int,
    faults_seed: int | None,
    state_dir: Path,
    batch_size: int,
    phase: str,
    deadline_s: float,
    photo_every: int,
) -> DeviceReport:
    faults = Faults(None if faults_seed is None else faults_seed * 10_007 + spec.index)
    device = Device(
        spec,
        url=url,
        state_dir=state_dir,
        faults=faults,
        batch_size=batch_size,
        deadline_s=deadline_s,
        photo_every=photo_every,
    )
    try:
        device.sign_in()
        device.enroll()
        if phase in ("all", "capture"):
            device.pull()
            device.capture(records)
        if phase in ("all", "sync"):
            device.sync()
        device.report.created = device.outbox.count("created")
        device.report.faults = dict(faults.injected)
        return device.report
    finally:
        device.close()


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def simulate(
    *,
    url: str,
    specs: list[DeviceSpec],
    records: int,
    state_dir: Path,
    faults_seed: int | None = None,
    batch_size: int = 50,
    concurrency: int = 8,
    phase: str = "all",
    deadline_s: float = 120.0,
    photo_every: int = 4,
) -> dict[str, Any]:
    """Run ``specs`` (one simulated device each) and summarise."""
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        futures = [
            pool.submit(
                _run_one,
                spec,
                url=url,
                records=records,
                faults_seed=faults_seed,
                state_dir=state_dir,
                batch_size=batch_size,
                phase=phase,
                deadline_s=deadline_s,
                photo_every=photo_every,
            )
            for spec in specs
        ]
        reports = [f.result() for f in futures]
    seconds = time.perf_counter() - started
    batches = [ms for r in reports for ms in r.batch_ms]
    pulls = [ms for r in reports for ms in r.pull_ms]
    statuses: dict[str, int] = {}
    faults: dict[str, int] = {}
    for report in reports:
        for key, value in report.receipts.items():
            statuses[key] = statuses.get(key, 0) + value
        for key, value in report.faults.items():
            faults[key] = faults.get(key, 0) + value
    return {
        "devices": len(specs),
        "records_per_device": records,
        "phase": phase,
        "faults_seed": faults_seed,
        "seconds": round(seconds, 3),
        "records_created": sum(r.created for r in reports),
        "receipts": statuses,
        "faults": faults,
        "pushes": len(batches),
        "batch_ms_p50": percentile(batches, 50),
        "batch_ms_p99": percentile(batches, 99),
        "batch_ms_mean": round(statistics.fmean(batches), 3) if batches else None,
        "pull_ms_p95": percentile(pulls, 95),
        "retries": sum(r.retries for r in reports),
        "per_device": [
            {k: v for k, v in asdict(r).items() if k not in ("batch_ms", "pull_ms")}
            for r in reports
        ],
    }
