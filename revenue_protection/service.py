"""NTL cases: opened (from a fraud flag, a seal anomaly, a tip, by hand), inspected
through a field work order, assessed under the rule set in force (``assessment``),
back-billed through billing's invoice service and ledger, perhaps contested, closed with
what was recovered, the decision going back to fraud detection as a label.

Every step goes through ``machines.NTL_CASE`` (history in rp_ntl_case_step). Services are
keyword-only, take the session and the acting principal, flush and never commit.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from billing.invoices import service as invoices
from core.context import Actor
from core.errors import FieldError
from core.pages import paginate
from core.periods import Period, local_date
from core.territory import require_visible, visible
from customers.models import UsagePoint
from field import service as field
from field.enums import WorkOrderKind
from field.schemas import WorkOrderCreate
from fraud import review as fraud
from fraud.enums import FlagEvent, FlagStatus, LabelOutcome
from fraud.schemas import FlagStep
from revenue_protection import assessment, repository
from revenue_protection.enums import (
    AssessmentMethod,
    CaseSource,
    CaseStatus,
    Irregularity,
)
from revenue_protection.errors import (
    AssessmentNotPossibleError,
    NtlCaseOpenExistsError,
    ReferenceUnknownError,
)
from revenue_protection.machines import NTL_CASE
from revenue_protection.models import AssessmentRuleSet, NtlCase, NtlCaseStep
from revenue_protection.schemas import (
    ContestDecision,
    Findings,
    NtlCaseCreate,
    NtlCasePage,
    NtlCaseRead,
    RuleSetCreate,
)

# -- opening --------------------------------------------------------------------------------


def open_case(
    session: Session,
    *,
    actor: Actor,
    usage_point_id: int,
    source: CaseSource,
    source_ref: str | None = None,
    flag_id: int | None = None,
    note: str = "",
    priority: int = 3,
    order_inspection: bool = True,
) -> NtlCase:
    """A case at the usage point, with its inspection order. Idempotent on the source
    (the same flag or seal event opens one case). News about a usage point that already
    has an open case joins it (its note, its flag); a second case by hand is refused."""
    if source_ref is not None:
        known = repository.case_by_source(session, source.value, source_ref)
        if known is not None:
            return known
    require_visible(session, actor, UsagePoint, usage_point_id, "usage point")
    existing = repository.open_case_at(session, usage_point_id)
    if existing is not None:
        if source in (CaseSource.MANUAL, CaseSource.FIELD_TIP):
            raise NtlCaseOpenExistsError(
                f"usage point {usage_point_id} already has open NTL case {existing.id}",
                extra={"case_id": existing.id},
            )
        existing.note = (existing.note + "\n" if existing.note else "") + f"[{source}] {note}"
        if flag_id is not None and existing.flag_id is None:
            existing.flag_id = flag_id
        NTL_CASE.record(
            session, actor, existing, "joined", existing.status, existing.status,
            reason=note or None, details={"source": source.value, "source_ref": source_ref},
        )  # fmt: skip
        session.flush()
        return existing
    case = NtlCase(
        usage_point_id=usage_point_id,
        contract_id=repository.contract_at(session, usage_point_id),
        source=source.value,
        source_ref=source_ref,
        flag_id=flag_id,
        status=CaseStatus.OPEN.value,
        priority=priority,
        note=note,
    )
    try:
        with session.begin_nested():
            session.add(case)
            session.flush()
    except IntegrityError as exc:  # a concurrent opening won the race
        raise NtlCaseOpenExistsError(
            f"usage point {usage_point_id} already has an open NTL case"
        ) from exc
    NTL_CASE.record(session, actor, case, "open", None, case.status, reason=note or None,
                    details={"source": source.value, "source_ref": source_ref})  # fmt: skip
    if order_inspection:
        _order_inspection(session, actor, case)
    session.flush()
    return case


def create_case(session: Session, *, actor: Actor, data: NtlCaseCreate) -> NtlCase:
    """A case raised at the office (or a tip typed in there)."""
    if data.source in (CaseSource.FRAUD_FLAG, CaseSource.SEAL_ANOMALY):
        raise ReferenceUnknownError(
            f"a {data.source.value} case opens itself from its event",
            errors=[FieldError("source", "manual or field_tip", "invalid")],
        )
    seen = session.scalar(
        select(UsagePoint.id).where(
            UsagePoint.id == data.usage_point_id, visible(actor, UsagePoint)
        )
    )
    if seen is None:
        message = f"no usage point {data.usage_point_id}"
        raise ReferenceUnknownError(
            message, errors=[FieldError("usage_point_id", message, "reference_unknown")]
        )
    return open_case(
        session,
        actor=actor,
        usage_point_id=data.usage_point_id,
        source=data.source,
        note=data.note,
        priority=data.priority,
        order_inspection=data.order_inspection,
    )


def _order_inspection(session: Session, actor: Actor, case: NtlCase) -> None:
    order = field.create_work_order(
        session,
        actor=actor,
        data=WorkOrderCreate(
            kind=WorkOrderKind.INSPECT,
            usage_point_id=case.usage_point_id,
            contract_id=case.contract_id,
            priority=min(case.priority, 5),
            reason=f"NTL case {case.id}: inspection",
            instructions={"ntl_case_id": case.id, "note": case.note[:500]},
            source_key=f"ntl_case:{case.id}:inspect",
        ),
    )
    case.inspection_work_order_id = order.id
    NTL_CASE.step(session, actor, case, "order_inspection", details={"work_order_id": order.id})


def order_inspection(session: Session, *, actor: Actor, case_id: int) -> NtlCase:
    case = repository.get_case(session, actor, case_id, lock=True)
    NTL_CASE.fire(case, "order_inspection")  # the 409 first
    case.status = CaseStatus.OPEN.value
    _order_inspection(session, actor, case)
    session.flush()
    return case


# -- findings -------------------------------------------------------------------------------


def _irregularity(code: object) -> Irregularity | None:
    try:
        return Irregularity(str(code))
    except ValueError:
        return None


def findings_from_work_order(
    session: Session, *, actor: Actor, work_order_id: int, outcome: dict[str, Any], at: datetime
) -> NtlCase | None:
    """A completed inspection order: its outcome becomes the case's findings (photos,
    indexes, note, the seal events of the visit, the irregularity when the finding code
    names one). None when the order is no case's inspection."""
    case = repository.case_by_work_order(session, work_order_id)
    if case is None or case.status not in (CaseStatus.OPEN, CaseStatus.INSPECTING):
        return case
    found = _irregularity(outcome.get("finding"))
    case.findings = {
        **case.findings,
        "work_order_id": work_order_id,
        "finding": outcome.get("finding"),
        "note": outcome.get("note"),
        "photos": outcome.get("photo_sha256", []),
        "indexes": outcome.get("indexes", {}),
        "gps": outcome.get("gps"),
        "seals": repository.seal_events_of(session, work_order_id),
    }
    if found is not None:
        case.irregularity = found.value
    case.inspected_on = local_date(at)
    NTL_CASE.step(session, actor, case, "record_findings", details={"work_order_id": work_order_id})
    session.flush()
    return case


def record_findings(session: Session, *, actor: Actor, case_id: int, data: Findings) -> NtlCase:
    """The office completes the findings (the load found, when the irregularity began,
    the measurement after repair ...). A case not inspected yet becomes inspected."""
    case = repository.get_case(session, actor, case_id, lock=True)
    if case.status in (CaseStatus.OPEN, CaseStatus.INSPECTING):
        NTL_CASE.step(session, actor, case, "record_findings", reason=data.note)
    elif case.status in (CaseStatus.INSPECTED, CaseStatus.ASSESSED):
        NTL_CASE.record(
            session, actor, case, "record_findings", case.status, case.status, reason=data.note
        )  # completed, not a transition: the history says what changed
    else:
        NTL_CASE.fire(case, "record_findings")  # the 409 saying why
    values = data.model_dump(mode="json", exclude_none=True)
    if data.irregularity is not None:
        case.irregularity = data.irregularity.value
    if data.irregularity_since is not None:
        case.irregularity_since = data.irregularity_since
    if data.inspected_on is not None:
        case.inspected_on = data.inspected_on
    if case.inspected_on is None:
        case.inspected_on = local_date(datetime.now(UTC))
    case.findings = {**case.findings, **values}
    session.flush()
    return case


# -- assessment and back-billing --------------------------------------------------------------


def create_rule_set(session: Session, *, actor: Actor, data: RuleSetCreate) -> AssessmentRuleSet:
    """A new version of the regulator's order (versions are never edited)."""
    del actor
    version = (session.scalar(select(func.max(AssessmentRuleSet.version))) or 0) + 1
    rules = AssessmentRuleSet(
        version=version,
        effective_from=data.effective_from,
        definition=data.definition.model_dump(mode="json"),
        note=data.note,
    )
    session.add(rules)
    session.flush()
    return rules


def _inputs(session: Session, case: NtlCase) -> assessment.Inputs:
    findings = case.findings
    inspected_on = case.inspected_on or local_date(datetime.now(UTC))
    corrected = findings.get("corrected_kwh")
    load = findings.get("load_kw")
    return assessment.Inputs(
        inspected_on=inspected_on,
        irregularity=Irregularity(case.irregularity or Irregularity.NONE),
        category=repository.category_of(session, case.usage_point_id),
        irregularity_since=case.irregularity_since,
        history=repository.monthly_history(session, case.usage_point_id, inspected_on),
        corrected_kwh=Decimal(str(corrected)) if corrected is not None else None,
        corrected_days=findings.get("corrected_days"),
        load_kw=Decimal(str(load)) if load is not None else None,
    )


def assess(
    session: Session, *, actor: Actor, case_id: int, method: AssessmentMethod | None = None
) -> NtlCase:
    """Work out the unbilled energy and the penalty under the rule set in force on the
    inspection day (again, while not billed: new findings, another method)."""
    case = repository.get_case(session, actor, case_id, lock=True)
    if case.status not in (CaseStatus.INSPECTED, CaseStatus.ASSESSED):
        NTL_CASE.fire(case, "assess")  # the 409 saying why
    inputs = _inputs(session, case)
    rule_set = repository.rules_in_force(session, inputs.inspected_on)
    rules = assessment.AssessmentRules.model_validate(rule_set.definition)
    claimed = assessment.claim(rules, inputs)
    billed = repository.billed_kwh_between(session, case.usage_point_id, claimed.start, claimed.end)
    result = assessment.assess(rules, inputs, billed, method)
    if result is None:
        wanted = method.value if method else ", ".join(m.value for m in rules.methods)
        raise AssessmentNotPossibleError(
            f"no data for {wanted}: record the findings it needs first",
            extra={"methods": [m.value for m in rules.methods]},
        )
    case.assessment = {**result.as_json(), "rule_set_version": rule_set.version}
    case.unbilled_kwh = result.unbilled_kwh
    case.penalty = result.penalty
    NTL_CASE.step(session, actor, case, "assess", details=case.assessment)
    session.flush()
    return case


def back_bill(
    session: Session, *, actor: Actor, case_id: int, issue_date: date | None = None
) -> NtlCase:
    """Issue the back-bill of the assessment (billing's invoice service, posted to the
    ledger like any bill)."""
    case = repository.get_case(session, actor, case_id, lock=True)
    NTL_CASE.fire(case, "bill")  # the 409 before anything is issued
    case.status = CaseStatus.ASSESSED.value
    contract_id = case.contract_id or repository.contract_at(session, case.usage_point_id)
    if contract_id is None:
        raise AssessmentNotPossibleError(
            f"usage point {case.usage_point_id} has no contract to bill"
        )
    a = case.assessment
    invoice = invoices.issue_back_bill(
        session,
        actor,
        contract_id=contract_id,
        period=Period(date.fromisoformat(a["claim_start"]), date.fromisoformat(a["claim_end"])),
        billed_kwh=Decimal(a["billed_kwh"]),
        unbilled_kwh=Decimal(a["unbilled_kwh"]),
        penalty=int(a["penalty"]),
        note=f"NTL case {case.id}: {a['method']}",
        issue_date=issue_date,
    )
    case.contract_id = contract_id
    case.back_bill_invoice_id = invoice.id
    case.currency = invoice.currency
    case.assessment = {**a, "invoice_number": invoice.number, "invoice_total": invoice.total}
    NTL_CASE.step(
        session, actor, case, "bill", details={"invoice": invoice.number, "total": invoice.total}
    )
    session.flush()
    return case


def contest(session: Session, *, actor: Actor, case_id: int, reason: str) -> NtlCase:
    """The customer disputes the back-bill."""
    case = repository.get_case(session, actor, case_id, lock=True)
    NTL_CASE.step(session, actor, case, "contest", reason=reason)
    case.contestation = {"reason": reason, "at": datetime.now(UTC).isoformat()}
    session.flush()
    return case


def decide_contestation(
    session: Session, *, actor: Actor, case_id: int, data: ContestDecision
) -> NtlCase:
    """Rejected: the back-bill stands. Accepted: a credit note cancels it and the case
    goes back to assessment (new findings, another method, then a new back-bill)."""
    case = repository.get_case(session, actor, case_id, lock=True)
    event = "revise" if data.accepted else "uphold"
    NTL_CASE.fire(case, event)
    case.status = CaseStatus.CONTESTED.value
    details: dict[str, Any] = {}
    if data.accepted and case.back_bill_invoice_id is not None:
        note = invoices.credit(
            session,
            actor,
            invoice_id=case.back_bill_invoice_id,
            note=f"NTL case {case.id}: contestation accepted",
        )
        details["credit_note"] = note.number
        case.back_bill_invoice_id = None
    NTL_CASE.step(session, actor, case, event, reason=data.reason, details=details)
    case.contestation = {**case.contestation, "accepted": data.accepted, "decision": data.reason}
    session.flush()
    return case


# -- closing and the label --------------------------------------------------------------------


def close(session: Session, *, actor: Actor, case_id: int, reason: str = "") -> NtlCase:
    """Closed: the recovered energy and revenue are the back-bill's; fraud learns the
    decision (the flag confirmed, or a label of its own when no flag asked)."""
    case = repository.get_case(session, actor, case_id, lock=True)
    NTL_CASE.fire(case, "close")
    case.status = CaseStatus.BILLED.value
    case.recovered_kwh = case.unbilled_kwh
    case.recovered_amount = int(case.assessment["invoice_total"])
    case.closed_at = datetime.now(UTC)
    found = Irregularity(case.irregularity or Irregularity.NONE)
    outcome = LabelOutcome.FRAUD if found.is_fraud else LabelOutcome.IRREGULARITY
    _label(session, actor, case, outcome, found.value)
    NTL_CASE.step(session, actor, case, "close", reason=reason or None,
                  details={"recovered_kwh": str(case.recovered_kwh),
                           "recovered_amount": case.recovered_amount})  # fmt: skip
    session.flush()
    return case


def dismiss(session: Session, *, actor: Actor, case_id: int, reason: str) -> NtlCase:
    """Nothing to claim. After an inspection fraud learns no_fraud; before one, nothing
    (nobody saw the meter)."""
    case = repository.get_case(session, actor, case_id, lock=True)
    inspected = case.status == CaseStatus.INSPECTED
    NTL_CASE.step(session, actor, case, "dismiss", reason=reason)
    case.closed_at = datetime.now(UTC)
    if inspected:
        _label(session, actor, case, LabelOutcome.NO_FRAUD, case.irregularity or "")
    session.flush()
    return case


def _label(session: Session, actor: Actor, case: NtlCase, outcome: LabelOutcome, kind: str) -> None:
    day = case.inspected_on or local_date(datetime.now(UTC))
    if case.flag_id is not None:
        flag = fraud.get_flag(session, actor=actor, flag_id=case.flag_id)
        if flag.status == FlagStatus.SENT_TO_INSPECTION:
            event = FlagEvent.DISMISS if outcome is LabelOutcome.NO_FRAUD else FlagEvent.CONFIRM
            fraud.step_flag(
                session,
                actor=actor,
                flag_id=case.flag_id,
                data=FlagStep(
                    event=event,
                    reason=f"NTL case {case.id}",
                    outcome=None if outcome is LabelOutcome.NO_FRAUD else outcome,
                    kind=kind,
                    inspected_on=day,
                ),
            )
            return
    fraud.record_inspection_label(
        session,
        actor=actor,
        usage_point_id=case.usage_point_id,
        inspected_on=day,
        outcome=outcome,
        kind=kind,
        source=f"ntl_case:{case.id}",
    )


# -- reads ------------------------------------------------------------------------------------


def get_case(session: Session, *, actor: Actor, case_id: int) -> NtlCaseRead:
    return NtlCaseRead.model_validate(repository.get_case(session, actor, case_id))


def list_cases(
    session: Session,
    *,
    actor: Actor,
    offset: int,
    limit: int,
    status: CaseStatus | None = None,
    usage_point_id: int | None = None,
) -> NtlCasePage:
    query = select(NtlCase).where(visible(actor, NtlCase))
    if status is not None:
        query = query.where(NtlCase.status == status.value)
    if usage_point_id is not None:
        query = query.where(NtlCase.usage_point_id == usage_point_id)
    rows, total = paginate(session, query.order_by(NtlCase.id.desc()), offset=offset, limit=limit)
    return NtlCasePage(
        items=[NtlCaseRead.model_validate(r) for r in rows], total=total, offset=offset, limit=limit
    )


def case_history(session: Session, *, actor: Actor, case_id: int) -> list[NtlCaseStep]:
    repository.get_case(session, actor, case_id)
    return list(
        session.scalars(
            select(NtlCaseStep).where(NtlCaseStep.case_id == case_id).order_by(NtlCaseStep.id)
        )
    )


def rule_sets(session: Session) -> list[AssessmentRuleSet]:
    return list(
        session.scalars(select(AssessmentRuleSet).order_by(AssessmentRuleSet.version.desc()))
    )
