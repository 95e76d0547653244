"""Billing runs: prepare (select), simulate a chunk (rate + control), approve (a second
person), issue a chunk, finish. Services flush, never commit: ``billing.runs.runner``
commits after each chunk, so a run stopped anywhere resumes with the chunks not done.

Re-running never bills twice: an issued chunk is never issued again (``issued_at``); an
item whose usage point already has an issued bill sharing a day with its period is
skipped (``already_billed``), at simulation and again at issue; and the database's
exclusion constraint refuses an overlapping bill whatever the code does.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from billing.invoices import repository as invoices
from billing.invoices.enums import InvoiceReason
from billing.invoices.writer import Draft, prepare
from billing.runs import control, selection
from billing.runs.control import Check
from billing.runs.errors import (
    BillingRunApproverIsPreparerError,
    BillingRunNotFoundError,
    BillingRunSelectionInvalidError,
)
from billing.runs.machine import RUN
from billing.runs.models import BillingRun, BillingRunChunk, BillingRunItem
from billing.runs.rater import MEMO_LIMIT, Rater
from billing.runs.schemas import RunCreate, RunProgress
from billing.tariffs.errors import TariffNotFoundError, TariffNotInForceError, UsageInvalidError
from core.audit import declare_bulk_job
from core.auth.models import Agency
from core.context import Actor
from core.errors import FieldError, ReferenceUnknownError
from core.periods import Period, local_date
from core.territory import OutsideTerritoryError, agency_allowed, scope_of, visible
from customers.models import UsagePoint


def get_run(session: Session, actor: Actor, run_id: int, *, lock: bool = False) -> BillingRun:
    query = select(BillingRun).where(BillingRun.id == run_id, visible(actor, BillingRun))
    if lock:
        query = query.with_for_update()
    run = session.scalars(query).one_or_none()
    if run is None:
        raise BillingRunNotFoundError(f"no billing run {run_id}")
    return run


def _agency_id(session: Session, actor: Actor, code: str | None) -> int | None:
    agency_id = None
    if code is not None:
        agency_id = session.scalar(select(Agency.id).where(Agency.code == code))
        if agency_id is None:
            raise BillingRunSelectionInvalidError(
                f"no agency {code}",
                errors=[FieldError("selection.agency", "no such agency", "reference_unknown")],
            )
    scope = scope_of(actor)
    if scope is not None:
        if agency_id is not None and not agency_allowed(session, actor, agency_id):
            raise OutsideTerritoryError(f"agency {code} is not yours")
        if scope.agency_id is not None:
            agency_id = scope.agency_id  # an agency's staff bill their own territory only
        elif agency_id is None:
            # A company's head office bills one of its agencies at a time: a run with no
            # agency is the whole network's, which is no single company's.
            raise BillingRunSelectionInvalidError(
                "name the agency to bill (one of your company's)",
                errors=[FieldError("selection.agency", "required", "agency_required")],
            )
    return agency_id


def _require_usage_points(session: Session, actor: Actor, ids: list[int] | None) -> None:
    """Every usage point named exists and is seen (one unseen looks like one missing)."""
    if not ids:
        return
    wanted = set(ids)
    seen = session.scalar(
        select(func.count()).where(UsagePoint.id.in_(wanted), visible(actor, UsagePoint))
    )
    if seen != len(wanted):
        raise ReferenceUnknownError(
            f"{len(wanted) - (seen or 0)} of the usage points named do not exist",
            errors=[
                FieldError("selection.usage_point_ids", "unknown usage point", "reference_unknown")
            ],
        )


def create_run(session: Session, actor: Actor, data: RunCreate) -> BillingRun:
    """Prepare a run (status ``draft``): its items and chunks are selected at once."""
    # Unseen usage points first: naming another territory's is refused the same way
    # whoever asks, before a company's head office is told to name an agency.
    _require_usage_points(session, actor, data.selection.usage_point_ids)
    agency_id = _agency_id(session, actor, data.selection.agency)
    run = BillingRun(
        label=data.label,
        period_start=data.period_start,
        period_end=data.period_end,
        issue_date=data.issue_date or local_date(datetime.now(UTC)),
        due_days=data.due_days,
        selection=data.selection.model_dump(mode="json", exclude_none=True),
        agency_id=agency_id,
        amount_threshold=data.amount_threshold,
        history_factor=data.history_factor,
        park_estimated=data.park_estimated,
        chunk_size=data.chunk_size,
        prepared_by=actor.username,
        prepared_by_id=actor.user_id,
    )
    session.add(run)
    session.flush()
    RUN.record(session, actor, run, "prepare", None, "draft")
    declare_bulk_job(session, f"billing-run-{run.id}-select")
    count = selection.select_items(session, actor, run, data.selection, agency_id)
    if count == 0:
        raise BillingRunSelectionInvalidError("the selection holds no usage point")
    return run


# -- simulate ------------------------------------------------------------------------------

_ITEMS = """
SELECT i.id, i.usage_point_id, i.contract_id, i.period_start, i.period_end,
       c.tariff_code, c.subscribed_power_kva, c.start_date, c.previous_contract_id,
       c.account_id, a.number, up.category, up.phases, i.consumption, i.total, i.estimated
FROM billing_run_item i
JOIN customer_usage_point up ON up.id = i.usage_point_id
LEFT JOIN customer_contract c ON c.id = i.contract_id
LEFT JOIN customer_account a ON a.id = c.account_id
WHERE i.run_id = :run AND i.chunk_no = :chunk AND i.status = ANY(:statuses)
ORDER BY i.id
"""

# One index probe per item (LATERAL ... LIMIT 1 cannot be flattened into a join): as a
# plain join, stale statistics on a freshly written billing_invoice made the planner scan
# the whole exclusion index once per item, quadratic in the run's size.
_BILLED = """
SELECT i.id FROM billing_run_item i
CROSS JOIN LATERAL (
  SELECT 1 FROM billing_invoice v
  WHERE v.usage_point_id = i.usage_point_id AND v.kind = 'invoice' AND v.status = 'issued'
    AND v.reason <> 'back_billing'
    AND v.period_start < i.period_end AND v.period_end > i.period_start
    AND v.run_id IS DISTINCT FROM :run
  LIMIT 1
) hit
WHERE i.run_id = :run AND i.chunk_no = :chunk AND i.contract_id IS NOT NULL
"""

# The outcomes travel as one JSON document (json's C encoder, one parameter): nine
# arrays of 5,000 values cost more to adapt, element by element, than the UPDATE itself.
_UPDATE = """
UPDATE billing_run_item i SET status = u.status, consumption = u.consumption,
  kwh = u.kwh, estimated = u.estimated, total = u.total, currency = u.currency,
  checks = coalesce(string_to_array(nullif(u.checks, ''), ','), '{}'), detail = u.detail
FROM jsonb_to_recordset(CAST(:rows AS jsonb))
  AS u(id bigint, status text, consumption jsonb, kwh numeric, estimated boolean,
       total bigint, currency text, checks text, detail text)
WHERE i.id = u.id
"""


@dataclass
class _Outcome:
    status: str = "ready"
    consumption: dict[str, str] | None = None
    kwh: Decimal | None = None
    estimated: bool = False
    total: int | None = None
    currency: str | None = None
    checks: list[Check] | None = None
    detail: str = ""


def _settings(run: BillingRun) -> control.Settings:
    return control.Settings(run.amount_threshold, Decimal(run.history_factor), run.park_estimated)


def _rate(rater: Rater, row: Any, kwh: Mapping[str, Any]) -> Any:
    """The item's bill for ``kwh`` (register -> kWh, as Decimal or as the decimal text
    stored on the item), through the rater's memo: keyed first on the item's raw values,
    so an account rated like an earlier one costs one dict look-up."""
    key = (
        row.tariff_code,
        row.period_start,
        row.period_end,
        row.category,
        row.phases,
        row.subscribed_power_kva,
        tuple(kwh.items()),
    )
    found = rater.seen.get(key)
    if found is None:
        found = rater.bill(
            row.tariff_code,
            Period(row.period_start, row.period_end),
            {k: Decimal(v) for k, v in kwh.items()},
            category=row.category,
            connection_type=invoices.connection_type(row.phases),
            subscribed_kva=Decimal(str(row.subscribed_power_kva)),
        )
        if len(rater.seen) >= MEMO_LIMIT:
            rater.seen.clear()
        rater.seen[key] = found
    return found


def simulate_chunk(
    session: Session, run: BillingRun, chunk_no: int, rater: Rater | None = None
) -> int:
    """Measure, rate and check the items of one chunk (again, if simulated before); the
    number of items looked at. Marks the chunk simulated."""
    rater = rater or Rater(session)
    # The items are the run's working rows: one audit summary per statement, not per row.
    declare_bulk_job(session, f"billing-run-{run.id}-simulate-{chunk_no}")
    params = {"run": run.id, "chunk": chunk_no}
    rows = session.execute(
        text(_ITEMS), {**params, "statuses": ["selected", "ready", "parked", "skipped"]}
    ).all()
    billed = set(session.scalars(text(_BILLED), params))
    with_contract = [r for r in rows if r.contract_id is not None]
    by_window: dict[Period, list[int]] = {}
    for r in with_contract:
        opening = not (r.previous_contract_id is not None and r.period_start == r.start_date)
        days = invoices.window(Period(r.period_start, r.period_end), opening_day=opening)
        by_window.setdefault(days, []).append(r.usage_point_id)
    measured: dict[int, invoices.Measured] = {}
    for days, ids in by_window.items():
        measured.update(invoices.measured(session, ids, days))
    history = invoices.kwh_history(session, [r.usage_point_id for r in rows], run.period_start)
    settings = _settings(run)
    outcomes = []
    for r in rows:
        outcome = _Outcome()
        outcomes.append(outcome)
        if r.contract_id is None:
            outcome.status, outcome.checks = "parked", [Check.NO_CONTRACT]
            continue
        if r.id in billed:
            outcome.status, outcome.checks = "skipped", [Check.ALREADY_BILLED]
            continue
        m = measured.get(r.usage_point_id)
        total_kwh = sum(m.kwh.values(), Decimal(0)) if m else None
        checks = control.measure_checks(
            kwh=total_kwh,
            days=(r.period_end - r.period_start).days,
            estimated=bool(m and m.estimated),
            meter_changed=bool(m and m.meter_changed),
            history=history.get(r.usage_point_id),
            settings=settings,
        )
        if m is not None:
            outcome.consumption = {k: format(v, "f") for k, v in sorted(m.kwh.items())}
            outcome.kwh, outcome.estimated = total_kwh, m.estimated
        if m is not None and Check.NEGATIVE not in checks:
            try:
                bill = _rate(rater, r, m.kwh)
            except (UsageInvalidError, TariffNotFoundError, TariffNotInForceError) as exc:
                checks.append(Check.RATING_FAILED)
                outcome.detail = exc.detail
            else:
                outcome.total, outcome.currency = bill.total, bill.currency
                checks += control.amount_checks(bill.total, settings)
        outcome.checks = checks
        outcome.status = "parked" if control.parks(checks, settings) else "ready"
    _store(session, rows, outcomes)
    session.execute(
        text(
            "UPDATE billing_run_chunk SET simulated_at = now() "
            "WHERE run_id = :run AND chunk_no = :chunk"
        ),
        params,
    )
    return len(rows)


def _store(session: Session, rows: list[Any], outcomes: list[_Outcome]) -> None:
    if not rows:
        return
    document = json.dumps(
        [
            {
                "id": r.id,
                "status": o.status,
                "consumption": o.consumption,
                "kwh": None if o.kwh is None else format(o.kwh, "f"),
                "estimated": o.estimated,
                "total": o.total,
                "currency": o.currency,
                "checks": ",".join(o.checks or []),
                "detail": o.detail,
            }
            for r, o in zip(rows, outcomes, strict=True)
        ]
    )
    session.execute(text(_UPDATE), {"rows": document})


def reset_simulation(session: Session, run: BillingRun) -> None:
    """Mark every chunk to be simulated again (a re-simulation after new reads)."""
    session.execute(
        text("UPDATE billing_run_chunk SET simulated_at = NULL WHERE run_id = :run"),
        {"run": run.id},
    )


def pending_chunks(session: Session, run_id: int, phase: str) -> list[int]:
    """Chunks of ``phase`` (``simulated`` or ``issued``) not done yet, in order."""
    column = {"simulated": "simulated_at", "issued": "issued_at"}[phase]
    return list(
        session.scalars(
            text(
                f"SELECT chunk_no FROM billing_run_chunk WHERE run_id = :run "
                f"AND {column} IS NULL ORDER BY chunk_no"
            ),
            {"run": run_id},
        )
    )


def finish_simulation(session: Session, actor: Actor, run: BillingRun) -> None:
    if not pending_chunks(session, run.id, "simulated"):
        RUN.step(session, actor, run, "simulate", details=_counts(session, run.id))


# -- approve, cancel -------------------------------------------------------------------------


def approve(session: Session, actor: Actor, run_id: int, note: str = "") -> BillingRun:
    """A second person approves the simulated run (never its preparer)."""
    run = get_run(session, actor, run_id, lock=True)
    if actor.username == run.prepared_by or (
        actor.user_id is not None and actor.user_id == run.prepared_by_id
    ):
        raise BillingRunApproverIsPreparerError(
            f"{actor.username} prepared run {run.id}: another person must approve it"
        )
    RUN.step(session, actor, run, "approve", reason=note or None)
    run.approved_by, run.approved_by_id = actor.username, actor.user_id
    run.approved_at = datetime.now(UTC)
    session.flush()
    return run


def cancel(session: Session, actor: Actor, run_id: int, note: str = "") -> BillingRun:
    run = get_run(session, actor, run_id, lock=True)
    RUN.step(session, actor, run, "cancel", reason=note or None)
    session.flush()
    return run


# -- issue ---------------------------------------------------------------------------------


def start_issue(session: Session, actor: Actor, run: BillingRun) -> None:
    if run.status == "approved":
        RUN.step(session, actor, run, "start_issue")
        session.flush()


def claim_chunk(session: Session, run_id: int, chunk_no: int) -> bool:
    """Lock the chunk for this transaction if it is still to issue (a second worker
    handed the same chunk skips it)."""
    found = session.scalar(
        text(
            "SELECT chunk_no FROM billing_run_chunk WHERE run_id = :run AND chunk_no = :chunk "
            "AND issued_at IS NULL FOR UPDATE SKIP LOCKED"
        ),
        {"run": run_id, "chunk": chunk_no},
    )
    return found is not None


def issue_chunk(
    session: Session, actor: Actor, run: BillingRun, chunk_no: int, rater: Rater | None = None
) -> int:
    """Issue the ready items of one chunk (rating the approved consumption again with the
    same function); the number of invoices. Nothing when the chunk is done or taken."""
    if not claim_chunk(session, run.id, chunk_no):
        return 0
    declare_bulk_job(session, f"billing-run-{run.id}-chunk-{chunk_no}")
    rater = rater or Rater(session)
    params = {"run": run.id, "chunk": chunk_no}
    billed = set(session.scalars(text(_BILLED), params))
    rows = session.execute(text(_ITEMS), {**params, "statuses": ["ready"]}).all()
    drafts, issued_rows, held = [], [], []
    for r in rows:
        if r.id in billed:
            held.append((r, "skipped", Check.ALREADY_BILLED))
            continue
        bill = _rate(rater, r, r.consumption)
        if bill.total != r.total:
            held.append((r, "parked", Check.CHANGED_SINCE_SIMULATION))
            continue
        issued_rows.append(r)
        drafts.append(
            Draft.of_bill(
                bill,
                reason=InvoiceReason.CYCLE,
                account_id=r.account_id,
                account_number=r.number,
                usage_point_id=r.usage_point_id,
                contract_id=r.contract_id,
                category=r.category,
                connection_type=invoices.connection_type(r.phases),
                subscribed_kva=Decimal(str(r.subscribed_power_kva)),
                estimated=r.estimated,
                run_id=run.id,
            )
        )
    # Everything but the numbers first (ids drawn from sequences, rows built, the items
    # marked): numbering locks the series until commit, so it comes last and a second
    # worker's chunk waits only for the COPY of this one.
    prepared = prepare(
        session,
        actor,
        drafts,
        series=run.series,
        issue_date=run.issue_date,
        due_date=run.issue_date + timedelta(days=run.due_days),
    )
    session.execute(
        text(
            "UPDATE billing_run_item i SET status = 'issued', invoice_id = u.invoice "
            "FROM unnest(CAST(:ids AS bigint[]), CAST(:invoices AS bigint[])) AS u(id, invoice) "
            "WHERE i.id = u.id"
        ),
        {"ids": [r.id for r in issued_rows], "invoices": prepared.ids},
    )
    for r, status, check in held:
        session.execute(
            text(
                "UPDATE billing_run_item SET status = :status, "
                "checks = array_append(checks, :check) WHERE id = :id"
            ),
            {"status": status, "check": check.value, "id": r.id},
        )
    session.execute(
        text(
            "UPDATE billing_run_chunk SET issued_at = now(), invoices = :n "
            "WHERE run_id = :run AND chunk_no = :chunk"
        ),
        {**params, "n": len(drafts)},
    )
    written = prepared.issue(session)
    return len(written)


def finish_if_done(session: Session, actor: Actor, run_id: int) -> bool:
    """Close the run (``issued``) when no chunk is left to issue; True when it is issued."""
    run = session.scalars(select(BillingRun).where(BillingRun.id == run_id).with_for_update()).one()
    if run.status == "issued":
        return True
    if run.status != "issuing" or pending_chunks(session, run_id, "issued"):
        return False
    RUN.step(session, actor, run, "finish", details=_counts(session, run_id))
    session.flush()
    return True


# -- reading a run ---------------------------------------------------------------------------


def _counts(session: Session, run_id: int) -> dict[str, int]:
    rows = session.execute(
        select(BillingRunItem.status, func.count())
        .where(BillingRunItem.run_id == run_id)
        .group_by(BillingRunItem.status)
    )
    return {status: int(n) for status, n in rows}


def progress(session: Session, actor: Actor, run_id: int) -> RunProgress:
    run = get_run(session, actor, run_id)
    by_status = _counts(session, run_id)
    checks = Counter(
        dict(
            session.execute(
                text(
                    "SELECT c, count(*) FROM billing_run_item, unnest(checks) AS c "
                    "WHERE run_id = :run GROUP BY c"
                ),
                {"run": run_id},
            ).all()
        )
    )
    chunks = session.execute(
        select(
            func.count(),
            func.count(BillingRunChunk.simulated_at),
            func.count(BillingRunChunk.issued_at),
            func.coalesce(func.sum(BillingRunChunk.invoices), 0),
        ).where(BillingRunChunk.run_id == run_id)
    ).one()
    simulated: dict[str, int] = {}
    issued: dict[str, int] = {}
    for status, currency, total in session.execute(
        select(BillingRunItem.status, BillingRunItem.currency, func.sum(BillingRunItem.total))
        .where(BillingRunItem.run_id == run_id, BillingRunItem.total.is_not(None))
        .group_by(BillingRunItem.status, BillingRunItem.currency)
    ):
        if status in ("ready", "issued"):
            simulated[currency] = simulated.get(currency, 0) + int(total)
        if status == "issued":
            issued[currency] = issued.get(currency, 0) + int(total)
    return RunProgress(
        id=run.id,
        status=run.status,
        items=sum(by_status.values()),
        by_status=by_status,
        by_check={str(k): int(v) for k, v in checks.items()},
        chunks=int(chunks[0]),
        chunks_simulated=int(chunks[1]),
        chunks_issued=int(chunks[2]),
        invoices=int(chunks[3]),
        simulated_total=simulated,
        issued_total=issued,
    )


def control_report(
    session: Session,
    actor: Actor,
    run_id: int,
    *,
    status: str | None = None,
    check: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[list[BillingRunItem], int]:
    """The run's items (the control report), optionally of one status or check, with
    paging; items outside the caller's territory are not shown."""
    from core.pages import paginate

    get_run(session, actor, run_id)
    query = select(BillingRunItem).where(
        BillingRunItem.run_id == run_id, visible(actor, BillingRunItem)
    )
    if status is not None:
        query = query.where(BillingRunItem.status == status)
    if check is not None:
        query = query.where(BillingRunItem.checks.any(check))
    return paginate(session, query.order_by(BillingRunItem.id), offset=offset, limit=limit)
