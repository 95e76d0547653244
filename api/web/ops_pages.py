"""Pages for running the utility: the scheduled jobs (pause, resume, run now, change the
rule) and process supervision (every process on one page, one process in detail, one
instance's steps)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import DbSession
from api.params import Id
from api.routes.ops import ProcessName
from api.web.navigation import NavItem, register_nav_item
from api.web.rendering import page_actor, render
from core import supervision
from core.scheduling import service
from core.scheduling.tasks import queue_run_now, registered
from core.settings import get_settings

router = APIRouter(include_in_schema=False)
register_nav_item(NavItem("Scheduled jobs", "/ops/jobs", "jobs:read", order=85))
register_nav_item(NavItem("Processes", "/ops/processes", "processes:read", order=86))


@router.get("/ops/jobs", response_class=HTMLResponse)
def jobs_page(request: Request, session: DbSession) -> Response:
    actor = page_actor(request, session, "jobs:read")
    jobs = service.list_jobs(session)
    return render(
        request,
        "ops_jobs.html",
        actor,
        title="Scheduled jobs",
        jobs=jobs,
        registered={j.id: registered(j.task) is not None for j in jobs},
        runs=service.recent_runs(session, limit=100),
        names={j.id: j.name for j in jobs},
        can_admin=actor.has_scope("jobs:admin"),
        timezone=get_settings().timezone,
    )


@router.post("/ops/jobs/{job_id}", response_class=HTMLResponse)
def change_job_page(
    request: Request,
    session: DbSession,
    job_id: Id,
    action: Annotated[str, Form(pattern=r"^(pause|resume|run|save)$")],
    cron: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    actor = page_actor(request, session, "jobs:admin")
    now = datetime.now(UTC)
    if action == "run":
        queue_run_now(session, actor, job_id)
    elif action == "save":
        service.update_job(session, actor, job_id, now, cron_rule=cron)
    else:
        service.set_enabled(session, actor, job_id, action == "resume", now)
    return RedirectResponse("/ops/jobs", status_code=303)


@router.get("/ops/processes", response_class=HTMLResponse)
def processes_page(request: Request, session: DbSession) -> Response:
    actor = page_actor(request, session, "processes:read")
    now = datetime.now(UTC)
    rows = [
        (
            src,
            supervision.by_state(session, actor, src),
            len(supervision.stuck(session, actor, src, now)),
        )
        for src in supervision.sources()
    ]
    return render(request, "ops_processes.html", actor, title="Processes", rows=rows)


@router.get("/ops/processes/{process}", response_class=HTMLResponse)
def process_page(request: Request, session: DbSession, process: ProcessName) -> Response:
    actor = page_actor(request, session, "processes:read")
    src = supervision.source(process)
    monthly = supervision.monthly_entries(session, actor, src, tz=get_settings().timezone)
    months = sorted({m for m, _, _ in monthly})
    chart = {
        "labels": months,
        "datasets": [{"label": state, "data": [0] * len(months)} for state in src.states],
    }
    for dataset in chart["datasets"]:
        counts = {m: n for m, s, n in monthly if s == dataset["label"]}
        dataset["data"] = [counts.get(m, 0) for m in months]
    return render(
        request,
        "ops_process.html",
        actor,
        title=src.label,
        src=src,
        counts=supervision.by_state(session, actor, src),
        steps=supervision.step_durations(session, actor, src),
        stuck=supervision.stuck(session, actor, src, datetime.now(UTC)),
        chart=json.dumps(chart),
    )


@router.get("/ops/processes/{process}/{instance_id}", response_class=HTMLResponse)
def instance_page(
    request: Request, session: DbSession, process: ProcessName, instance_id: Id
) -> Response:
    actor = page_actor(request, session, "processes:read")
    src = supervision.source(process)
    steps = supervision.instance_steps(session, actor, src, instance_id)
    return render(
        request,
        "ops_instance.html",
        actor,
        title=f"{src.label} {instance_id}",
        src=src,
        instance_id=instance_id,
        steps=steps,
    )
