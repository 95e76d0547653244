"""Reading loads: a CSV file (CLI, API), rows held in memory (generators, sync) or single
reads, through one pipeline of four stages, each a module, each handing the next a typed
batch (``meters.readings.batches``):

    parse (``parse``)  ->  resolve (``resolve``)  ->  judge (``judge``)  ->  write (``write``)

A load with any bad line is refused whole (422 naming every line with its code) and writes
nothing. Idempotent: a row already stored under its natural key (register, read_at,
source) counts as a duplicate and changes nothing; two imports of the same file content
take turns (an advisory lock keyed by its hash), so the second finds the first's rows. A
bulk load is audited as one job.
"""

from __future__ import annotations

import hashlib
import io
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from core.audit import declare_bulk_job
from core.bulk import IdsInBackground
from core.context import Actor, current_actor
from core.locks import LockSpace, int32_key, xact_lock
from meters.models import READING_ID_SEQUENCE
from meters.readings import judge, parse, resolve, write
from meters.readings.batches import JudgedBatch, ParsedBatch
from meters.readings.codes import BIT, CODES, JUDGED_STATUSES
from meters.readings.columns import ProgressCallback
from meters.readings.rule_sets import active_rule_set


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
    # Single reads (no job) only: per input row, whether it is new (not stored before under
    # its natural key, nor earlier in this load).
    fresh_rows: tuple[bool, ...] = ()

    @property
    def rejected_by_code(self) -> dict[str, int]:
        return self.codes_by_status.get("rejected", {})


@dataclass
class _Clock:
    """Seconds spent per stage, for benchmarks and slow-load diagnosis."""

    started: float = field(default_factory=time.perf_counter)
    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        began = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[stage] = round(time.perf_counter() - began, 3)


def import_readings_from_csv(
    session: Session,
    source: str | Path | IO[bytes],
    *,
    job_key: str | None = None,
    on_progress: ProgressCallback | None = None,
    actor: Actor | None = None,
) -> ImportReport:
    """Import a reading CSV (header: serial, read_at, value, source, and optionally register,
    quality, reader_id, latitude, longitude, photo_sha256) on behalf of ``actor`` (default:
    the current one; none = unrestricted), whose territory bounds the reads it may write.
    Flushes, never commits."""
    clock = _Clock()
    job_key = _job_key(job_key)
    declare_bulk_job(session, job_key)
    with ExitStack() as stack:
        if isinstance(source, str | Path):
            path = Path(source)
            stream: IO[bytes] = stack.enter_context(path.open("rb"))
            total = path.stat().st_size
        else:
            stream, total = source, 0
            if not stream.seekable():  # hashed, then read (twice if doubted)
                stream = io.BytesIO(stream.read())
        with clock("wait_same_file"):
            xact_lock(session, LockSpace.READING_IMPORT_FILE, _content_key(stream))
        with clock("parse"):
            _tune(session)
            parsed = parse.parse_csv(session, stream, total_bytes=total, on_progress=on_progress)
    return _load(session, parsed, job_key=job_key, actor=_actor(actor), clock=clock)


def import_readings_from_rows(
    session: Session,
    rows: Iterable[Mapping[str, Any]],
    *,
    job_key: str | None = None,
    actor: Actor | None = None,
) -> ImportReport:
    """Import readings held in memory: mappings with the CSV column names (``serial``,
    ``read_at`` (aware datetime or ISO text), ``value``, ``source``, optional ``register``
    ...). Same checks, validation and idempotency as a file."""
    job_key = _job_key(job_key)
    declare_bulk_job(session, job_key)
    return load_rows(session, rows, job_key=job_key, actor=actor)


def load_rows(
    session: Session,
    rows: Iterable[Mapping[str, Any]],
    *,
    job_key: str | None,
    actor: Actor | None = None,
) -> ImportReport:
    """The pipeline over in-memory rows; without ``job_key`` the reads are single ones
    (written through the parent table, audited row by row)."""
    clock = _Clock()
    with clock("parse"):
        _tune(session)
        parsed = parse.parse_rows(session, rows)
    return _load(session, parsed, job_key=job_key, actor=_actor(actor), clock=clock)


def _load(
    session: Session,
    parsed: ParsedBatch,
    *,
    job_key: str | None,
    actor: Actor | None,
    clock: _Clock,
) -> ImportReport:
    rules = active_rule_set(session)
    with clock("resolve"):
        resolved = resolve.resolve(session, parsed, rules=rules.parameters, actor=actor)
    fresh = int(resolved.fresh.sum())
    # Ids for the rows to write, drawn by another backend while this process judges.
    ids = (
        IdsInBackground(session.connection().engine, READING_ID_SEQUENCE.name, fresh)
        if job_key is not None and fresh
        else None
    )
    with clock("judge"):
        judged = judge.judge(resolved, rules.parameters)
    with clock("write"):
        new = write.write(session, judged, version=rules.version, job_key=job_key, ids=ids)
    with clock("supersede"):
        superseded = write.supersede_estimates(session, judged)
    session.flush()
    by_status, by_code = _tally(judged)
    return ImportReport(
        job_key=job_key or "",
        rule_set_version=rules.version,
        rows=len(parsed),
        new=new,
        duplicates=len(parsed) - new,
        accepted=by_status.get("accepted", 0),
        flagged=by_status.get("flagged", 0),
        rejected=by_status.get("rejected", 0),
        codes_by_status=by_code,
        superseded_estimates=superseded,
        seconds=round(time.perf_counter() - clock.started, 3),
        timings=clock.seconds,
        fresh_rows=tuple(resolved.fresh.tolist()) if job_key is None else (),
    )


def _tune(session: Session) -> None:
    session.execute(text("SET LOCAL jit = off"))  # planning, not running, would dominate


def _actor(actor: Actor | None) -> Actor | None:
    return actor if actor is not None else current_actor()


def _job_key(job_key: str | None) -> str:
    return job_key or f"readings-import-{uuid.uuid4().hex[:12]}"


def _content_key(stream: IO[bytes]) -> int:
    """The second key of the file's import lock: its content's hash (stream rewound)."""
    start = stream.tell()
    digest = hashlib.blake2b(digest_size=8)
    while chunk := stream.read(1 << 22):
        digest.update(chunk)
    stream.seek(start)
    return int32_key(int.from_bytes(digest.digest(), "big"))


def _tally(judged: JudgedBatch) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    """Reads per status, and reason codes counted per status, of the rows kept."""
    codes, status = judged.codes[judged.keep], judged.status[judged.keep]
    by_status: dict[str, int] = {}
    by_code: dict[str, dict[str, int]] = {}
    for s in np.unique(status).tolist():
        name = JUDGED_STATUSES.value(s)
        mine = codes[status == s]
        by_status[name] = len(mine)
        for code in CODES:
            count = int(np.count_nonzero(mine & BIT[code]))
            if count:
                by_code.setdefault(name, {})[code.value] = count
    return by_status, {k: dict(sorted(v.items())) for k, v in sorted(by_code.items())}
