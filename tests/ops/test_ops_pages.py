"""The jobs and supervision screens and API: who sees them, pause / run now / change,
bad rules refused with problem+json, pages render."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.auth.service import create_user
from core.scheduling.models import ScheduledJob
from core.scheduling.service import execute
from core.scheduling.tasks import registered
from tests.conftest import TEST_PASSWORD, bearer


def _job(db: Session, name: str) -> ScheduledJob:
    job = db.scalar(select(ScheduledJob).where(ScheduledJob.name == name))
    assert job is not None
    return job


def test_jobs_api(client: TestClient, db: Session, make_user: Callable[..., str]) -> None:
    admin = bearer(make_user("admin"))
    manager = bearer(make_user("manager"))
    jobs = client.get("/api/v1/ops/jobs", headers=manager).json()
    by_name = {j["name"]: j for j in jobs}
    assert by_name["invoice_delivery_sweep"]["task_registered"] is True
    assert by_name["dunning_advance"]["task_registered"] is True
    assert by_name["reading_cycle_preparation"]["task_registered"] is False
    job_id = _job(db, "reading_cycle_preparation").id
    # A manager sees but does not change.
    assert client.post(f"/api/v1/ops/jobs/{job_id}/run", headers=manager).status_code == 403
    bad = client.patch(f"/api/v1/ops/jobs/{job_id}", headers=admin, json={"cron": "0 25 * * *"})
    assert bad.status_code == 422 and bad.json()["code"] == "scheduled_job_invalid"
    ok = client.patch(
        f"/api/v1/ops/jobs/{job_id}", headers=admin, json={"cron": "0 6 * * 1", "enabled": True}
    )
    assert ok.status_code == 200 and ok.json()["cron"] == "0 6 * * 1" and ok.json()["enabled"]
    run = client.post(f"/api/v1/ops/jobs/{job_id}/run", headers=admin)
    assert run.status_code == 202 and run.json()["trigger"] == "manual"
    # The worker's part (its own session cannot see this test's transaction): run it here.
    recorded = execute(db, run.json()["id"], lookup=registered)
    assert recorded is not None
    assert (recorded.outcome, recorded.output) == (
        "failed",
        "task 'field.prepare_reading_cycles' is not registered",
    )
    runs = client.get(f"/api/v1/ops/jobs/{job_id}/runs", headers=manager).json()
    assert runs[0]["outcome"] == "failed"
    assert client.get("/api/v1/ops/jobs/999999999/runs", headers=manager).status_code == 404


def test_processes_api(client: TestClient, make_user: Callable[..., str]) -> None:
    manager = bearer(make_user("manager"))
    listed = client.get("/api/v1/ops/processes", headers=manager).json()
    assert {p["name"] for p in listed} >= {
        "contract",
        "case",
        "work_order",
        "billing_run",
        "fraud_flag",
    }
    detail = client.get("/api/v1/ops/processes/work_order", headers=manager).json()
    assert [s["state"] for s in detail["steps"]] == [
        "created",
        "planned",
        "assigned",
        "in_progress",
    ]
    missing = client.get("/api/v1/ops/processes/nothing", headers=manager)
    assert missing.status_code == 404 and missing.json()["code"] == "process_unknown"
    cashier = bearer(make_user("cashier"))
    assert client.get("/api/v1/ops/processes", headers=cashier).status_code == 403


def test_pages(client: TestClient, db: Session) -> None:
    create_user(db, username="ops-admin", password=TEST_PASSWORD, roles=["admin"])
    db.commit()
    client.post("/login", data={"username": "ops-admin", "password": TEST_PASSWORD})
    page = client.get("/ops/jobs")
    assert page.status_code == 200 and "invoice_delivery_sweep" in page.text
    job_id = _job(db, "final_bill_sweep").id
    paused = client.post(f"/ops/jobs/{job_id}", data={"action": "pause"}, follow_redirects=False)
    assert paused.status_code == 303
    db.expire_all()
    assert _job(db, "final_bill_sweep").enabled is False
    assert client.get("/ops/processes").status_code == 200
    detail = client.get("/ops/processes/billing_run")
    assert detail.status_code == 200 and 'data-testid="process-chart"' in detail.text
