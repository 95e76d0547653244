"""Billing pages: the billing-run screen (runs, a run's progress and control report with
drill-down to the customer, the simulate / approve / issue / cancel buttons, print
batches) and the invoice page (lines, totals, PDF, deliveries).

The buttons post forms (the sign-in cookie is SameSite=Strict, so another site cannot
post them) and answer with a redirect back to the run. Simulating and issuing go through
``billing.runs.runner``: in this process chunk by chunk, or to the workers when a broker
is configured (the page then refreshes itself while the run moves).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from api.deps import DbSession
from api.params import Id
from api.web.navigation import NavItem, register_nav_item
from api.web.rendering import page_actor, render
from billing import run_screen
from billing.documents import batches, delivery
from billing.documents.tasks import deliver_invoices, render_print_batch
from billing.invoices import repository as invoices
from billing.runs import runner, service
from billing.runs.control import Check
from billing.runs.models import ITEM_STATUSES
from billing.runs.schemas import RunCreate, Selection
from core.tasks import send_after_commit
from customers.enums import UsageCategory
from customers.models import Account, Party

router = APIRouter(include_in_schema=False)
register_nav_item(NavItem("Billing runs", "/billing/runs", "billing:read", order=35))

PAGE = 50
MOVING = ("issuing",)


def _run_url(run_id: int) -> RedirectResponse:
    return RedirectResponse(f"/billing/runs/{run_id}", status_code=303)


@router.get("/billing/runs", response_class=HTMLResponse)
def runs_page(request: Request, session: DbSession) -> Response:
    actor = page_actor(request, session, "billing:read")
    return render(
        request,
        "billing_runs.html",
        actor,
        title="Billing runs",
        runs=run_screen.recent_runs(session, actor),
        categories=[c.value for c in UsageCategory],
        can_prepare=actor.has_scope("billing:run"),
    )


@router.post("/billing/runs", response_class=HTMLResponse)
def create_run_page(
    request: Request,
    session: DbSession,
    period_start: Annotated[date, Form()],
    period_end: Annotated[date, Form()],
    issue_date: Annotated[date | None, Form()] = None,
    label: Annotated[str, Form(max_length=200)] = "",
    category: Annotated[UsageCategory | None, Form()] = None,
    agency: Annotated[str, Form(max_length=50)] = "",
) -> Response:
    actor = page_actor(request, session, "billing:run")
    selection = Selection(categories=[category] if category else None, agency=agency or None)
    run = service.create_run(
        session,
        actor,
        RunCreate(
            label=label,
            period_start=period_start,
            period_end=period_end,
            issue_date=issue_date,
            selection=selection,
        ),
    )
    return _run_url(run.id)


@router.get("/billing/runs/{run_id}", response_class=HTMLResponse)
def run_page(
    request: Request,
    session: DbSession,
    run_id: Id,
    status: Annotated[str | None, Query(max_length=20)] = None,
    check: Annotated[str | None, Query(max_length=40)] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    actor = page_actor(request, session, "billing:read")
    run = service.get_run(session, actor, run_id)
    progress = service.progress(session, actor, run_id)
    rows, matching = run_screen.control_rows(
        session,
        actor,
        run_id,
        status=status or None,
        check=check or None,
        offset=offset,
        limit=PAGE,
    )
    prints = run_screen.print_batches(session, actor, run_id)
    return render(
        request,
        "billing_run.html",
        actor,
        title=f"Billing run {run.id}",
        run=run,
        progress=progress,
        rows=rows,
        matching=matching,
        offset=offset,
        page=PAGE,
        status=status or "",
        check=check or "",
        statuses=ITEM_STATUSES,
        checks=[c.value for c in Check],
        prints=prints,
        moving=run.status in MOVING or any(p.status in ("queued", "running") for p in prints),
        can_run=actor.has_scope("billing:run"),
        can_issue=actor.has_scope("billing:issue"),
    )


@router.post("/billing/runs/{run_id}/simulate")
def simulate_page(request: Request, session: DbSession, run_id: Id) -> Response:
    actor = page_actor(request, session, "billing:run")
    runner.simulate(session, actor, run_id)
    return _run_url(run_id)


@router.post("/billing/runs/{run_id}/approve")
def approve_page(
    request: Request,
    session: DbSession,
    run_id: Id,
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    actor = page_actor(request, session, "billing:issue")
    service.approve(session, actor, run_id, note)
    return _run_url(run_id)


@router.post("/billing/runs/{run_id}/issue")
def issue_page(request: Request, session: DbSession, run_id: Id) -> Response:
    """Issue the run, then deliver its invoices by e-mail and SMS after the commit (a
    paper account gets its invoice through a print batch)."""
    actor = page_actor(request, session, "billing:issue")
    progress = runner.issue(session, actor, run_id)
    if progress.status == "issued":
        ids = run_screen.run_invoice_ids(session, actor, run_id)
        if ids:
            send_after_commit(session, deliver_invoices, ids)
    return _run_url(run_id)


@router.post("/billing/runs/{run_id}/cancel")
def cancel_page(
    request: Request,
    session: DbSession,
    run_id: Id,
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    actor = page_actor(request, session, "billing:run")
    service.cancel(session, actor, run_id, note)
    return _run_url(run_id)


@router.post("/billing/runs/{run_id}/print")
def print_page(
    request: Request,
    session: DbSession,
    run_id: Id,
    output: Annotated[str, Form(pattern="^(pdf|zip)$")] = "pdf",
) -> Response:
    """A print batch of the run's paper invoices (all of them when none is on paper)."""
    actor = page_actor(request, session, "billing:issue")
    ids = run_screen.paper_first(session, run_screen.run_invoice_ids(session, actor, run_id))
    batch = batches.create_batch(
        session, actor, invoice_ids=ids, output=output, label=run_screen.print_label(run_id)
    )
    send_after_commit(session, render_print_batch, batch.id)
    return _run_url(run_id)


@router.get("/billing/print-batches/{batch_id}/file")
def print_file_page(request: Request, session: DbSession, batch_id: Id) -> Response:
    actor = page_actor(request, session, "billing:read")
    batch = batches.get_batch(session, actor, batch_id)
    path = batches.file_of(batch)
    if path is None or not path.exists():
        raise batches.PrintBatchNotFoundError(f"no finished print batch {batch_id}")
    media = "application/pdf" if batch.output == "pdf" else "application/zip"
    return FileResponse(path, media_type=media, filename=path.name)


@router.get("/invoices/{invoice_id}", response_class=HTMLResponse)
def invoice_page(request: Request, session: DbSession, invoice_id: Id) -> Response:
    actor = page_actor(request, session, "billing:read")
    invoice = invoices.get_invoice(session, actor, invoice_id)
    account = session.get(Account, invoice.account_id)
    assert account is not None
    payer = session.get(Party, account.payer_party_id)
    return render(
        request,
        "invoice.html",
        actor,
        title=f"Invoice {invoice.number}",
        invoice=invoice,
        lines=invoices.lines_of(session, invoice.id),
        account=account,
        payer=payer,
        deliveries=delivery.deliveries(session, invoice.id),
        can_send=actor.has_scope("billing:issue") and account.delivery_channel != "paper",
    )


@router.post("/invoices/{invoice_id}/send")
def send_invoice_page(request: Request, session: DbSession, invoice_id: Id) -> Response:
    actor = page_actor(request, session, "billing:issue")
    delivery.deliver_invoice(session, actor, invoice_id, again=True)
    return RedirectResponse(f"/invoices/{invoice_id}", status_code=303)
