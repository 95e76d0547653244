"""The ``kilowatch demo`` step that builds customers, meters and readings, with a rich
progress bar per stage."""

from __future__ import annotations

from typing import Protocol

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.orm import Session

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
    bars = Progress(
        TextColumn("{task.description:<34}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=console, transient=False,
    )  # fmt: skip
    tasks: dict[str, int] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bars.add_task(stage, total=max(total, 1))
        bars.update(tasks[stage], completed=done if total else 1, total=max(total, 1))

    with bars:
        report = build_demo_utility(
            session, customers=options.customers, seed=options.seed,
            service_points=options.service_points, progress=progress,
        )  # fmt: skip
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
