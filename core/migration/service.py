"""Importing a legacy base: read, stage, check everything, then write, in one transaction.

``run_import`` records a run, stages every file (``core.migration.staging``), runs each
entity's ``validate`` in dependency order, and then:

- problems found and not ``partial``: :class:`MigrationInvalidError` (422, every problem a
  field error ``file:line:field``); nothing is written (the caller rolls back);
- ``dry_run``: the report only, the run recorded as ``dry``;
- otherwise (``partial`` parks the bad rows in ``core_migration_parked`` first): each
  entity's ``write`` in order, its counts and time in the report.

The caller commits. Running the same files again changes nothing: the entities' writes
compare with what is stored through the key map.
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
    """Import the base at ``source`` (a folder of CSV files, an XLSX workbook, a zip);
    ``run_id`` continues a run already recorded (an upload the worker processes)."""
    started = time.perf_counter()
    if run_id is None:
        run_id = start_run(
            session, actor=actor, source_name=source.name, dry_run=dry_run, partial=partial
        ).id
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
    if not dry_run:
        if partial:
            _park(ctx, order, report)
        _write(ctx, order, report)
    report.status = "dry" if dry_run else "done"
    report.seconds = time.perf_counter() - started
    _finish(session, session.get_one(MigrationRun, run_id), report)
    return report


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


def _write(ctx: MigrationContext, order: list[Entity], report: MigrationReport) -> None:
    # Inserts of a whole base are audited as one summary row per statement; an entity
    # audits its updates of existing records row by row (``ctx.each_row_audited()``).
    declare_bulk_job(ctx.session, f"migration:{ctx.run_id}")
    try:
        for entity in order:
            began = time.perf_counter()
            counts = entity.write(ctx)
            line = report.entities[entity.name]
            line.inserted, line.updated, line.unchanged = (
                counts.inserted,
                counts.updated,
                counts.unchanged,
            )
            line.seconds += time.perf_counter() - began
    finally:
        declare_bulk_job(ctx.session, "")


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
    else:
        run.status = "failed"
        run.report = {"run_id": run_id, "status": "failed", "detail": str(error)[:2000]}
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
