"""Progress bars for long jobs that report by stage: ``progress(stage, done, total)``.

Domain code takes the plain callback (no rich dependency); CLIs and benchmarks pass the
one made here, which shows one bar per stage.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

StageProgress = Callable[[str, int, int], None]


def stage_bars(console: Console, label_width: int = 28) -> tuple[Progress, StageProgress]:
    """A rich ``Progress`` (use it as a context manager) and the callback feeding it."""
    bars = Progress(
        TextColumn(f"{{task.description:<{label_width}}}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )
    tasks: dict[str, TaskID] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bars.add_task(stage, total=max(total, 1))
        # A stage with nothing to do (total 0) shows as complete.
        bars.update(tasks[stage], completed=done if total else 1, total=max(total, 1))

    return bars, progress
