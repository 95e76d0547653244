"""The worker side of an uploaded migration: the API records the run and keeps the upload
in the data folder (``uploads``), then ``process_run`` imports it in its own transaction.

While it works, the run's ``progress`` is written from a second connection (committed at
once, so ``GET /api/v1/migrations/{id}`` sees it). Each entity's write is committed on its
own (``core.migration.runner``): a refused import writes nothing and says so with its
problems; a failed one keeps the entities it finished (its report's ``written``) and its
upload, and continues from there when handed again (a redelivered message after its
worker died, or :func:`resume_run`). A run found already finished is left alone.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import IO

from sqlalchemy import func, update
from sqlalchemy.orm import Session

from core.auth.models import User
from core.auth.service import actor_for
from core.celery_app import celery_app
from core.context import Actor, acting_as
from core.db import session_scope
from core.errors import EntityConflictError, FieldError, InputInvalidError
from core.logging import get_logger
from core.migration.context import MigrationSettings, Progress
from core.migration.models import MigrationRun
from core.migration.runner import import_committed
from core.migration.service import (
    MigrationInvalidError,
    get_run,
    record_refusal,
    start_run,
)
from core.settings import get_settings
from core.tasks import send_after_commit

log = get_logger(__name__)

# Progress is written at most this often per entity (and at each file's start and end).
PROGRESS_EVERY_SECONDS = 1.0


def uploads() -> Path:
    """Where uploaded bases wait for the worker (the API and the worker share it)."""
    folder = get_settings().data_dir / "migrations"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def upload_path(run_id: int, suffix: str) -> Path:
    return uploads() / f"run-{run_id}{suffix}"


UPLOAD_SUFFIXES = (".zip", ".xlsx")


class UploadNotSupportedError(InputInvalidError):
    """The upload is neither a zip of CSV files nor an XLSX workbook."""

    code = "migration_upload_unsupported"


def accept_upload(
    session: Session,
    *,
    actor: Actor,
    filename: str,
    stream: IO[bytes],
    dry_run: bool,
    partial: bool,
    attach_max_m: float,
) -> MigrationRun:
    """Record a run for an uploaded base, keep the file for the worker, and queue it (sent
    once this transaction commits)."""
    suffix = Path(filename).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise UploadNotSupportedError(
            f"{filename!r}: send a .zip of <entity>.csv files or an .xlsx workbook",
            errors=[FieldError("file", "expected a .zip or an .xlsx file", "unsupported_file")],
        )
    run = start_run(
        session,
        actor=actor,
        source_name=Path(filename).name,
        dry_run=dry_run,
        partial=partial,
        status="queued",
    )
    path = upload_path(run.id, suffix)
    with path.open("wb") as out:
        shutil.copyfileobj(stream, out, 1 << 20)
    send_after_commit(session, process_run, run.id, str(path), attach_max_m)
    return run


def _progress_writer(run_id: int) -> Progress:
    last: dict[str, float] = {}

    def tell(entity: str, done: int, total: int) -> None:
        now = time.monotonic()
        if done not in (0, total) and now - last.get(entity, 0.0) < PROGRESS_EVERY_SECONDS:
            return
        last[entity] = now
        with session_scope() as side:
            side.execute(
                update(MigrationRun)
                .where(MigrationRun.id == run_id)
                .values(
                    status="running",
                    progress=func.jsonb_set(
                        MigrationRun.progress,
                        [entity],
                        func.jsonb_build_object("done", done, "total", total),
                    ),
                )
            )

    return tell


@celery_app.task(name="core.migration.process_run", acks_late=True)
def process_run(run_id: int, source: str, attach_max_m: float = 50.0) -> str:
    """Import the upload of run ``run_id``, entity by entity (``core.migration.runner``);
    its final status. A run found ``running`` (the message handed again after its worker
    died) or ``failed`` (handed again by :func:`resume_run`) continues from its first
    unwritten entity; a finished one is left alone."""
    path = Path(source)
    with session_scope() as session:
        run = session.get_one(MigrationRun, run_id)
        if run.status not in ("queued", "running", "failed") or not path.exists():
            return run.status
        user = session.get(User, run.actor_id) if run.actor_id is not None else None
        actor = actor_for(user) if user is not None else Actor(None, run.actor)
        dry_run, partial, resume = run.dry_run, run.partial, run.status != "queued"
    try:
        with acting_as(actor, reason=f"data migration run {run_id}"):
            report = import_committed(
                actor=actor,
                source=path,
                dry_run=dry_run,
                partial=partial,
                settings=MigrationSettings(attach_max_m=attach_max_m),
                progress=_progress_writer(run_id),
                run_id=run_id,
                resume=resume,
            )
        status = report.status
    except Exception as error:  # the step under way rolled back: say why on the run
        if not isinstance(error, MigrationInvalidError):
            log.error("migration.failed", run_id=run_id, error=repr(error))
        with acting_as(actor), session_scope() as session:
            record_refusal(session, run_id, error)
        status = "refused" if isinstance(error, MigrationInvalidError) else "failed"
    if status != "failed":  # a failed run keeps its upload, to be resumed
        path.unlink(missing_ok=True)
    return status


def resume_run(session: Session, *, run_id: int, attach_max_m: float = 50.0) -> MigrationRun:
    """Queue a failed upload's run again (sent once this transaction commits): the worker
    continues it from its first unwritten entity."""
    run = get_run(session, run_id)
    kept = [p for p in uploads().glob(f"run-{run_id}.*") if p.suffix in UPLOAD_SUFFIXES]
    if run.status != "failed" or not kept:
        raise RunNotResumableError(
            f"run {run_id} is {run.status}"
            + ("" if kept else " and its upload is gone")
            + ": only a failed upload is resumed"
        )
    send_after_commit(session, process_run, run.id, str(kept[0]), attach_max_m)
    return run


class RunNotResumableError(EntityConflictError):
    code = "migration_not_resumable"
