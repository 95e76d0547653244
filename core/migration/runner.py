"""The caller's side of an import that commits entity by entity (the CLI, the worker, the
bench): it owns the session and its commits, the services only flush.

The checks run whole first (a refused base writes nothing); then each step the run has
left (the parked rows, then each entity) is written and committed on its own, recording
itself as ``written`` on the run. A run killed half-way keeps the entities it finished;
``resume`` (``kilowatch migrate import SAME --resume RUN``, or the worker handed its run
again) checks the files again and writes only the steps not yet written, ending in the
state an uninterrupted run leaves.

The staging tables are temporary: the session is bound to one connection for the whole
run so they outlive the commits, and they are discarded with it at the end, whatever
happened (the connection goes back to the pool clean).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from core.context import Actor
from core.db import get_engine
from core.migration.context import MigrationSettings, Progress
from core.migration.service import MigrationReport, prepare_import


def import_committed(
    *,
    actor: Actor,
    source: Path,
    dry_run: bool = False,
    partial: bool = False,
    settings: MigrationSettings | None = None,
    progress: Progress | None = None,
    run_id: int | None = None,
    resume: bool = False,
    url: str | None = None,
) -> MigrationReport:
    """Import ``source``, committing after the checks and after each step; ``run_id``
    continues a run already recorded (an upload), ``resume`` one cut short."""
    with get_engine(url).connect() as connection:
        session = Session(bind=connection, expire_on_commit=False)
        try:
            run = prepare_import(
                session,
                actor=actor,
                source=source,
                dry_run=dry_run,
                partial=partial,
                settings=settings,
                progress=progress,
                run_id=run_id,
                resume=resume,
            )
            session.commit()  # the run is recorded; nothing is written yet
            for step in run.pending():
                run.write(step)
                session.commit()
            report = run.finish()
            session.commit()
            return report
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
            _discard_temporaries(connection)


def _discard_temporaries(connection: Connection) -> None:
    try:
        connection.rollback()
        connection.execute(text("DISCARD TEMP"))
        connection.commit()
    except Exception:  # a broken connection: never handed out again
        connection.invalidate()
