"""Importing a legacy base: read, stage, check everything, then write.

``prepare_import`` records a run, stages every file (``core.migration.staging``), runs
each entity's ``validate`` in dependency order, and then:

- problems found and not ``partial``: :class:`MigrationInvalidError` (422, every problem a
  field error ``file:line:field``); nothing is written (the caller rolls back);
- ``dry_run``: the report only, the run recorded as ``dry``;
- otherwise it returns an :class:`ImportRun` whose ``pending()`` steps (``partial`` parks
  the bad rows in ``core_migration_parked`` first, then each entity's ``write`` in order)
  the caller writes, then ``finish()``.

Services never commit: ``run_import`` writes every step in the caller's one transaction
(tests, the API's own session); ``core.migration.runner`` (the CLI, the worker, the bench)
commits after each step, so a run killed half-way keeps its finished entities and resumes
from the first unwritten one. Running the same files again changes nothing: the entities'
writes compare with what is stored through the key map.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from core.audit import declare_bulk_job
from core.bulk import drop_tables
from core.context import Actor
from core.errors import EntityNotFoundError, FieldError, InputInvalidError
from core.migration.context import MigrationContext, MigrationSettings, Problem, Progress
from core.migration.models import MigrationParked, MigrationRun
from core.migration.source import Source, read_source
from core.migration.spec import Entity, entities
from core.migration.staging import stage_file, staging_name

# A refused import lists at most this many problems in its error (the report keeps all).
MAX_LISTED_PROBLEMS = 1000


class MigrationInvalidError(InputInvalidError):
    """The files break rules of the format: nothing was written. ``problems`` holds them
    all (``errors`` the first ``MAX_LISTED_PROBLEMS``)."""

    code = "migration_invalid"

    @property
    def problems(self) -> list[Problem]:
        found: list[Problem] = self.extra.get("_problems", [])
        return found


@dataclass
class EntityReport:
    """What one entity's file gave: rows read, what the write did, rows parked, time."""

    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    parked: int = 0
    problems: int = 0
    seconds: float = 0.0  # all of it: staging, checks and the write
    staging_seconds: float = 0.0  # reading aside: typing and COPY


@dataclass
class MigrationReport:
    """The outcome of one run, per entity, with every problem found."""

    run_id: int
    status: str
    dry_run: bool
    partial: bool
    entities: dict[str, EntityReport] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)  # told, not refused (see ctx.note)
    written: list[str] = field(default_factory=list)  # steps written (see ImportRun)
    resumed: list[str] = field(default_factory=list)  # of those, by the run cut short
    seconds: float = 0.0
    reading_seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(e.rows for e in self.entities.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "dry_run": self.dry_run,
            "partial": self.partial,
            "seconds": round(self.seconds, 3),
            "reading_seconds": round(self.reading_seconds, 3),
            "rows": self.rows,
            "entities": {
                name: {
                    **asdict(e),
                    "seconds": round(e.seconds, 3),
                    "staging_seconds": round(e.staging_seconds, 3),
                }
                for name, e in self.entities.items()
            },
            "problems": [p.as_dict() for p in self.problems],
            "notes": [n.as_dict() for n in self.notes],
            "written": list(self.written),
            "resumed": list(self.resumed),
        }


def problem_errors(problems: list[Problem]) -> list[FieldError]:
    """Problems as the field errors of a problem+json answer (``file:line:field``)."""
    return [
        FieldError(field=f"{p.file}:{p.line}:{p.field}", message=p.message, code=p.code)
        for p in problems[:MAX_LISTED_PROBLEMS]
    ]


def start_run(
    session: Session,
    *,
    actor: Actor,
    source_name: str,
    dry_run: bool,
    partial: bool,
    status: str = "running",
) -> MigrationRun:
    """Record a new run and flush it for its id."""
    run = MigrationRun(
        status=status,
        dry_run=dry_run,
        partial=partial,
        source_name=source_name,
        actor=actor.username,
        actor_id=actor.user_id,
        progress={},
    )
    session.add(run)
    session.flush()
    return run


# The step of a partial run that parks its bad rows, before the entities write.
PARK_STEP = "parked"


def run_import(
    session: Session,
    *,
    actor: Actor,
    source: Path,
    dry_run: bool = False,
    partial: bool = False,
    settings: MigrationSettings | None = None,
    progress: Progress | None = None,
    run_id: int | None = None,
) -> MigrationReport:
    """Import the base at ``source`` (a folder of CSV files, an XLSX workbook, a zip) in
    the caller's one transaction; ``run_id`` continues a run already recorded (an upload
    the worker processes). ``core.migration.runner`` commits entity by entity instead."""
    run = prepare_import(
        session,
        actor=actor,
        source=source,
        dry_run=dry_run,
        partial=partial,
        settings=settings,
        progress=progress,
        run_id=run_id,
    )
    for step in run.pending():
        run.write(step)
    return run.finish()


def prepare_import(
    session: Session,
    *,
    actor: Actor,
    source: Path,
    dry_run: bool = False,
    partial: bool = False,
    settings: MigrationSettings | None = None,
    progress: Progress | None = None,
    run_id: int | None = None,
    resume: bool = False,
) -> ImportRun:
    """Read, stage and check the whole base; raise :class:`MigrationInvalidError` when a
    problem refuses it. What is left to write is the returned run's ``pending()`` steps.
    ``resume`` continues run ``run_id`` cut short after some entities were written (they
    are recorded in its report's ``written``): those are not written again."""
    started = time.perf_counter()
    earlier: dict[str, Any] = {}
    if run_id is None:
        run_id = start_run(
            session, actor=actor, source_name=source.name, dry_run=dry_run, partial=partial
        ).id
    elif resume:
        earlier = get_run(session, run_id).report or {}
    # A run recorded beforehand (an upload) is left untouched until the end: its progress
    # is written meanwhile from other connections, which a lock held here would block.
    ctx = MigrationContext(
        session=session,
        actor=actor,
        run_id=run_id,
        settings=settings or MigrationSettings(),
        progress=progress,
    )
    report = MigrationReport(run_id, "running", dry_run, partial)
    read = read_source(source)
    report.reading_seconds = time.perf_counter() - started
    ctx.found.extend(read.problems)
    order = entities()
    _stage(ctx, order, read, report)
    for entity in order:
        began = time.perf_counter()
        entity.validate(ctx)
        report.entities[entity.name].seconds += time.perf_counter() - began
    rank = {e.name: i for i, e in enumerate(order)}
    ctx.found.sort(key=lambda p: (rank.get(p.entity, -1), p.entity, p.line))
    report.problems = list(ctx.found)
    # Notes on rows a problem refused say nothing true any more.
    refused = {(p.entity, p.line) for p in ctx.found}
    report.notes = [n for n in ctx.notes if (n.entity, n.line) not in refused]
    for problem in ctx.found:
        if problem.entity in report.entities:
            report.entities[problem.entity].problems += 1
    if ctx.found and not partial:
        raise MigrationInvalidError(
            f"{len(ctx.found)} problems in {read.name}: nothing was imported",
            errors=problem_errors(ctx.found),
            extra={"run_id": run_id, "problem_count": len(ctx.found), "_problems": ctx.found},
        )
    run = ImportRun(ctx, order, report, started)
    run.resume_from(earlier)
    return run


@dataclass
class ImportRun:
    """A checked import and the writes it has left: the parked rows (partial runs), then
    each entity in dependency order. Each step records itself as ``written`` on the run
    (``core_migration_run.report``), so a caller committing after every step can resume a
    run cut short from its first unwritten step."""

    ctx: MigrationContext
    order: list[Entity]
    report: MigrationReport
    started: float

    def resume_from(self, earlier: dict[str, Any]) -> None:
        """Take the steps ``earlier`` (the report of the run cut short) wrote as done:
        their counts and notes are the ones they had then (the stored records now match
        the file, so checking again would note nothing)."""
        done = list(earlier.get("written", []))
        self.report.written = done
        self.report.resumed = list(done)
        for name in done:
            if name in self.report.entities and name in earlier.get("entities", {}):
                before = earlier["entities"][name]
                line = self.report.entities[name]
                for count in ("inserted", "updated", "unchanged", "parked"):
                    setattr(line, count, int(before.get(count, 0)))
        self.report.notes = [n for n in self.report.notes if n.entity not in done] + [
            Problem(**_problem_fields(n))
            for n in earlier.get("notes", [])
            if str(n["file"]).removesuffix(".csv") in done
        ]

    def pending(self) -> list[str]:
        """The steps still to write, in order (none for a dry run)."""
        if self.report.dry_run:
            return []
        steps = [PARK_STEP] if self.report.partial else []
        steps += [e.name for e in self.order]
        return [s for s in steps if s not in self.report.written]

    def write(self, step: str) -> None:
        """Write one step (flushes, never commits) and record it as written."""
        ctx = self.ctx
        # Inserts of a whole base are audited as one summary row per statement; an entity
        # audits its updates of existing records row by row (``ctx.each_row_audited()``).
        declare_bulk_job(ctx.session, f"migration:{ctx.run_id}")
        try:
            if step == PARK_STEP:
                _park(ctx, self.order, self.report)
            else:
                began = time.perf_counter()
                counts = next(e for e in self.order if e.name == step).write(ctx)
                line = self.report.entities[step]
                line.inserted, line.updated, line.unchanged = (
                    counts.inserted,
                    counts.updated,
                    counts.unchanged,
                )
                line.seconds += time.perf_counter() - began
        finally:
            declare_bulk_job(ctx.session, "")
        self.report.written.append(step)
        run = ctx.session.get_one(MigrationRun, ctx.run_id)
        run.report = {**self.report.as_dict(), "settings": asdict(ctx.settings)}
        ctx.session.flush()

    def finish(self) -> MigrationReport:
        """Close the run (its status, report and progress) and drop the staging tables."""
        report = self.report
        report.status = "dry" if report.dry_run else "done"
        report.seconds = time.perf_counter() - self.started
        session = self.ctx.session
        _finish(session, session.get_one(MigrationRun, self.ctx.run_id), report)
        drop_tables(session, *self.ctx.staged.values())
        return report


def _problem_fields(stored: dict[str, Any]) -> dict[str, Any]:
    """A problem or note as the report stored it, back to :class:`Problem`'s fields."""
    return {
        "entity": str(stored["file"]).removesuffix(".csv"),
        "line": int(stored["line"]),
        "field": stored["field"],
        "code": stored["code"],
        "message": stored["message"],
    }


def _stage(
    ctx: MigrationContext, order: list[Entity], read: Source, report: MigrationReport
) -> None:
    for entity in order:
        began = time.perf_counter()
        file = read.files.get(entity.name)
        total = file.rows if file is not None else 0
        ctx.tell(entity.name, 0, total)
        ctx.found.extend(stage_file(ctx.session, entity, file))
        ctx.staged[entity.name] = staging_name(entity.name)
        spent = time.perf_counter() - began
        report.entities[entity.name] = EntityReport(
            rows=total, seconds=spent, staging_seconds=spent
        )
        ctx.tell(entity.name, total, total)


def _park(ctx: MigrationContext, order: list[Entity], report: MigrationReport) -> None:
    """Set the rows with a problem aside, with their text and their problems."""
    by_row: dict[tuple[str, int], list[dict[str, str]]] = {}
    for p in ctx.found:
        by_row.setdefault((p.entity, p.line), []).append(
            {"field": p.field, "code": p.code, "message": p.message}
        )
    for entity in order:
        lines = [line for (name, line) in by_row if name == entity.name]
        problems = [by_row[(entity.name, line)] for line in lines]
        result = ctx.session.execute(
            text(
                "INSERT INTO core_migration_parked (run_id, entity, line, data, problems) "
                "SELECT :run, :entity, s.line, s.raw, "
                "coalesce(p.found, '[]'::jsonb) "
                f"FROM {ctx.staging(entity.name)} s "
                "LEFT JOIN (SELECT * FROM unnest(CAST(:lines AS bigint[]), "
                "CAST(:problems AS jsonb[])) AS u (line, found)) p ON p.line = s.line "
                "WHERE NOT s.ok"
            ),
            {
                "run": ctx.run_id,
                "entity": entity.name,
                "lines": lines,
                "problems": [_json(p) for p in problems],
            },
        )
        report.entities[entity.name].parked = int(result.rowcount or 0)  # type: ignore[attr-defined]


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _finish(session: Session, run: MigrationRun, report: MigrationReport) -> None:
    run.status = report.status
    run.progress = {n: {"done": e.rows, "total": e.rows} for n, e in report.entities.items()}
    run.finished_at = datetime.now(UTC)
    run.report = report.as_dict()
    session.flush()


def record_refusal(session: Session, run_id: int, error: MigrationInvalidError | Exception) -> None:
    """Mark a run refused (its problems in the report) or failed, after the rollback of
    its work: for runs the API started, whose record must outlive the refusal."""
    run = session.get_one(MigrationRun, run_id)
    if isinstance(error, MigrationInvalidError):
        run.status = "refused"
        run.report = {
            "run_id": run_id,
            "status": "refused",
            "detail": error.detail,
            "problems": [p.as_dict() for p in error.problems],
        }
    else:  # what the steps committed before the failure stays said (a resume needs it)
        run.status = "failed"
        run.report = {
            **(run.report or {}),
            "run_id": run_id,
            "status": "failed",
            "detail": str(error)[:2000],
        }
    run.finished_at = datetime.now(UTC)
    session.flush()


def parked_rows(session: Session, run_id: int) -> list[MigrationParked]:
    """The rows a partial run set aside, by entity and line."""
    return list(
        session.scalars(
            select(MigrationParked)
            .where(MigrationParked.run_id == run_id)
            .order_by(MigrationParked.entity, MigrationParked.line)
        )
    )


class MigrationRunNotFoundError(EntityNotFoundError):
    code = "migration_run_not_found"


def get_run(session: Session, run_id: int) -> MigrationRun:
    run = session.get(MigrationRun, run_id)
    if run is None:
        raise MigrationRunNotFoundError(f"no migration run {run_id}")
    return run


def recent_runs(session: Session, limit: int = 50) -> list[MigrationRun]:
    """The latest runs, newest first."""
    return list(session.scalars(select(MigrationRun).order_by(MigrationRun.id.desc()).limit(limit)))
