"""The ``kilowatch demo`` step that builds customers, meters and readings, with a rich
progress bar per stage."""

from __future__ import annotations

from typing import Protocol

from rich.console import Console
from sqlalchemy.orm import Session

from core.progress import stage_bars
from kilowatch.demo_utility.builder import build_demo_utility

console = Console(stderr=True)


class DemoSizes(Protocol):
    seed: int
    service_points: int
    customers: int


def build_demo_customers(session: Session, options: DemoSizes) -> str:
    """Demo step: ``options.customers`` customers with 24 months of reads on the network
    generated with ``options.seed`` (skipped when that seed's batch exists)."""
    if options.customers <= 0:
        return "no customers asked for"
    bars, progress = stage_bars(console, 34)

    with bars:
        report = build_demo_utility(
            session,
            customers=options.customers,
            seed=options.seed,
            service_points=options.service_points,
            progress=progress,
        )
    counts = report.counts
    if not report.created:
        return (
            f"demo batch for seed {report.seed} already present ({counts.get('parties')} customers)"
        )
    return (
        f"{counts['parties']:,} customers, {counts['meters']:,} meters, "
        f"{counts['readings']:,} reads from {report.first_month:%B %Y} "
        f"({report.readings['flagged']:,} flagged, {report.readings['rejected']:,} rejected), "
        f"{counts['thefts']:,} injected thefts, {counts['zone_meters']:,} zone meters "
        f"in {report.seconds['total']:.0f} s"
    )


build_demo_customers.shows_progress = True  # type: ignore[attr-defined]
