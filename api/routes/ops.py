"""Running the utility: scheduled jobs (see, pause, run now, change) and the supervision of
every long-lived process (states, step durations, stuck instances, drill-down)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from api.deps import CurrentActor, DbSession
from api.params import Id
from api.schemas import PROBLEM_RESPONSES
from core import supervision
from core.scheduling import service
from core.scheduling.schemas import JobRead, JobUpdate, RunRead
from core.scheduling.tasks import queue_run_now, registered
from core.settings import get_settings

router = APIRouter(prefix="/api/v1/ops", tags=["ops"], responses=PROBLEM_RESPONSES)

ProcessName = Annotated[str, Path(max_length=40, pattern=r"^[a-z_]+$")]


def _job(job: Any) -> JobRead:
    read = JobRead.model_validate(job)
    read.task_registered = registered(job.task) is not None
    return read


@router.get("/jobs", response_model=list[JobRead])
def list_jobs(session: DbSession, actor: CurrentActor("jobs:read")) -> list[JobRead]:  # type: ignore[valid-type]
    return [_job(j) for j in service.list_jobs(session)]


@router.get("/jobs/{job_id}/runs", response_model=list[RunRead])
def job_runs(
    session: DbSession,
    actor: CurrentActor("jobs:read"),  # type: ignore[valid-type]
    job_id: Id,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[RunRead]:
    service.get_job(session, job_id)
    return [RunRead.model_validate(r) for r in service.recent_runs(session, job_id, limit)]


@router.patch("/jobs/{job_id}", response_model=JobRead)
def update_job(
    body: JobUpdate,
    session: DbSession,
    actor: CurrentActor("jobs:admin"),  # type: ignore[valid-type]
    job_id: Id,
) -> JobRead:
    now = datetime.now(UTC)
    job = service.update_job(
        session,
        actor,
        job_id,
        now,
        cron_rule=body.cron,
        args=body.args,
        kwargs=body.task_kwargs,
        description=body.description,
    )
    if body.enabled is not None:
        job = service.set_enabled(session, actor, job_id, body.enabled, now)
    return _job(job)


@router.post("/jobs/{job_id}/run", response_model=RunRead, status_code=202)
def run_job_now(
    session: DbSession,
    actor: CurrentActor("jobs:admin"),  # type: ignore[valid-type]
    job_id: Id,
) -> RunRead:
    return RunRead.model_validate(queue_run_now(session, actor, job_id))


@router.get("/processes")
def list_processes(
    session: DbSession,
    actor: CurrentActor("processes:read"),  # type: ignore[valid-type]
) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    return [
        {
            "name": src.name,
            "label": src.label,
            "by_state": supervision.by_state(session, actor, src),
            "stuck": len(supervision.stuck(session, actor, src, now)),
        }
        for src in supervision.sources()
    ]


@router.get("/processes/{process}")
def process_detail(
    session: DbSession,
    actor: CurrentActor("processes:read"),  # type: ignore[valid-type]
    process: ProcessName,
) -> dict[str, Any]:
    src = supervision.source(process)
    now = datetime.now(UTC)
    return {
        "name": src.name,
        "label": src.label,
        "by_state": supervision.by_state(session, actor, src),
        "steps": [asdict(f) for f in supervision.step_durations(session, actor, src)],
        "stuck": [asdict(s) for s in supervision.stuck(session, actor, src, now)],
        "sla_seconds": {k: v.total_seconds() for k, v in src.sla.items()},
        "monthly": supervision.monthly_entries(session, actor, src, tz=get_settings().timezone),
    }


@router.get("/processes/{process}/instances/{instance_id}")
def process_instance(
    session: DbSession,
    actor: CurrentActor("processes:read"),  # type: ignore[valid-type]
    process: ProcessName,
    instance_id: Id,
) -> list[dict[str, Any]]:
    src = supervision.source(process)
    return [asdict(s) for s in supervision.instance_steps(session, actor, src, instance_id)]
