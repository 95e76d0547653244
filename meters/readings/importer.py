"""Bulk reading loads: a CSV file (CLI, API) or rows held in memory (generators, sync).

Parsed and typed in Arrow (``meters.readings.parsing``; a file with any bad line is refused
whole, every bad line named by the exhaustive SQL typing of ``meters.readings.staging``),
then resolved, judged and merged vectorised (``meters.readings.validation``). Idempotent: a row already stored under its natural key
(register, read_at, source) counts as a duplicate and changes nothing. The whole load is
audited as one bulk job.
"""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
from sqlalchemy import text
from sqlalchemy.orm import Session

from core.audit import declare_bulk_job
from meters.readings import parsing, staging, validation
from meters.readings.rule_sets import active_rule_set
from meters.readings.staging import ProgressCallback


@dataclass
class ImportReport:
    job_key: str
    rule_set_version: int
    rows: int
    new: int
    duplicates: int
    accepted: int
    flagged: int
    rejected: int
    codes_by_status: dict[str, dict[str, int]] = field(default_factory=dict)
    superseded_estimates: int = 0
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def rejected_by_code(self) -> dict[str, int]:
        return self.codes_by_status.get("rejected", {})


def load(
    session: Session,
    table: pa.Table | None,
    *,
    refill_stage: Callable[[], None],
    job_key: str | None,
    started: float,
    on_progress: ProgressCallback | None = None,
) -> ImportReport:
    """Type ``table`` (the load's text columns; ``None`` if Arrow could not read it), judge
    and merge it. On any doubt about a line, ``refill_stage`` puts the raw rows into the SQL
    stage and the exhaustive typing refuses the load naming every bad line."""
    if on_progress:
        on_progress("validate", 0, 1)
    typed_at = time.perf_counter()
    session.execute(text("SET LOCAL jit = off"))  # planning, not running, would dominate
    rows = parsing.type_rows(table) if table is not None else None
    registers = validation.resolve_registers(session, rows) if rows is not None else None
    if registers is None:
        staging.create_raw_stage(session)
        refill_stage()
        staging.refuse_bad_lines(session)  # raises, naming the lines, if any is bad
        rows = parsing.typed_from_staged(staging.staged_rows(session))
        staging.drop_stage_tables(session, staging.RAW, staging.TYPED)
        registers = validation.resolve_registers(session, rows)
        assert registers is not None, "the exhaustive typing resolved every serial"
    typed_seconds = round(time.perf_counter() - typed_at, 3)
    rules = active_rule_set(session)
    outcome = validation.validate_and_merge(
        session, rules=rules, rows=rows, registers=registers, job_key=job_key
    )
    session.flush()
    if on_progress:
        on_progress("validate", 1, 1)
    return ImportReport(
        job_key=job_key or "",
        rule_set_version=rules.version,
        rows=outcome.rows,
        new=outcome.new,
        duplicates=outcome.duplicates,
        accepted=outcome.by_status.get("accepted", 0),
        flagged=outcome.by_status.get("flagged", 0),
        rejected=outcome.by_status.get("rejected", 0),
        codes_by_status=outcome.codes_by_status,
        superseded_estimates=outcome.superseded_estimates,
        seconds=round(time.perf_counter() - started, 3),
        timings={
            "read_csv": round(typed_at - started, 3),
            "type_and_resolve": typed_seconds,
            **outcome.timings,
        },
    )


def _job_key(job_key: str | None) -> str:
    return job_key or f"readings-import-{uuid.uuid4().hex[:12]}"


def import_readings_from_csv(
    session: Session,
    source: str | Path | IO[bytes],
    *,
    job_key: str | None = None,
    on_progress: ProgressCallback | None = None,
) -> ImportReport:
    """Import a reading CSV (header: serial, read_at, value, source, and optionally register,
    quality, reader_id, latitude, longitude, photo_sha256). Flushes, never commits."""
    started = time.perf_counter()
    job_key = _job_key(job_key)
    declare_bulk_job(session, job_key)
    with ExitStack() as stack:
        if isinstance(source, str | Path):
            path = Path(source)
            stream: IO[bytes] = stack.enter_context(path.open("rb"))
            total = path.stat().st_size
        else:
            stream, total = source, 0
            if not stream.seekable():  # a refused file is read a second time, by COPY
                stream = io.BytesIO(stream.read())
        table = parsing.read_csv(stream)
        if on_progress:
            on_progress("copy", total, total)

        def refill_stage() -> None:
            stream.seek(0)
            staging.copy_csv(session, stream, None, total)

        return load(
            session,
            table,
            refill_stage=refill_stage,
            job_key=job_key,
            started=started,
            on_progress=on_progress,
        )


def import_readings_from_rows(
    session: Session, rows: Iterable[Mapping[str, Any]], *, job_key: str | None = None
) -> ImportReport:
    """Import readings held in memory: mappings with the CSV column names (``serial``,
    ``read_at`` (aware datetime or ISO text), ``value``, ``source``, optional ``register``
    ...). Same validation and idempotency as a file."""
    started = time.perf_counter()
    job_key = _job_key(job_key)
    declare_bulk_job(session, job_key)
    listed = [_as_text(r) for r in rows]
    return load(
        session,
        parsing.rows_table(listed),
        refill_stage=lambda: staging.copy_rows(session, listed),
        job_key=job_key,
        started=started,
    )


def _as_text(row: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(row)
    read_at = out.get("read_at")
    if hasattr(read_at, "isoformat"):
        out["read_at"] = read_at.isoformat()  # type: ignore[union-attr]
    return out
