"""Revenue protection: NTL cases (opened by hand or from a tip here; from fraud flags and
seal anomalies by their events), their findings, assessment, back-bill, contestation,
closing or dismissal, and the assessment rule sets (the regulator's order, as data).

Limited to the caller's territory: a case lies where its usage point does (404 outside,
422 for a usage point outside named in a body). Rule sets are GLOBAL.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.deps import CurrentActor, DbSession
from api.downloads import XLSX, attachment
from api.params import CONFLICT, NOT_FOUND, Id, Limit, Offset, OptionalId
from api.schemas import PROBLEM_RESPONSES
from core.context import Actor
from core.periods import add_months, month_start
from revenue_protection import (
    campaigns,
    dashboard,
    loss_drilldown,
    service,
    supervision,
    supply_policy,
)
from revenue_protection.enums import CaseStatus
from revenue_protection.schemas import (
    AssessRequest,
    CampaignRead,
    CaseStepRequest,
    Contestation,
    ContestDecision,
    Findings,
    NtlCaseCreate,
    NtlCasePage,
    NtlCaseRead,
    NtlCaseStepRead,
    RuleSetCreate,
    RuleSetRead,
    SupplyPolicyRead,
)
from revenue_protection.supervision import RestorationPage, Supervision

router = APIRouter(
    prefix="/api/v1/revenue-protection", tags=["revenue protection"], responses=PROBLEM_RESPONSES
)
STEP = {**NOT_FOUND, **CONFLICT}


def _read(case: object) -> NtlCaseRead:
    return NtlCaseRead.model_validate(case)


@router.get("/cases", response_model=NtlCasePage)
def list_cases(
    session: DbSession,
    actor: CurrentActor("rp:read"),  # type: ignore[valid-type]
    status: CaseStatus | None = None,
    usage_point_id: OptionalId = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> NtlCasePage:
    """NTL cases of the caller's territory, newest first."""
    return service.list_cases(
        session,
        actor=actor,
        status=status,
        usage_point_id=usage_point_id,
        offset=offset,
        limit=limit,
    )


@router.post("/cases", response_model=NtlCaseRead, status_code=201, responses=CONFLICT)
def create_case(
    data: NtlCaseCreate,
    session: DbSession,
    actor: CurrentActor("rp:write"),  # type: ignore[valid-type]
) -> NtlCaseRead:
    """A case by hand or from a field tip, with its inspection order (409 when the usage
    point already has an open case)."""
    return _read(service.create_case(session, actor=actor, data=data))


@router.get("/cases/{ntl_case_id}", response_model=NtlCaseRead, responses=NOT_FOUND)
def get_case(
    ntl_case_id: Id,
    session: DbSession,
    actor: CurrentActor("rp:read"),  # type: ignore[valid-type]
) -> NtlCaseRead:
    return service.get_case(session, actor=actor, case_id=ntl_case_id)


@router.get(
    "/cases/{ntl_case_id}/history", response_model=list[NtlCaseStepRead], responses=NOT_FOUND
)
def case_history(
    ntl_case_id: Id,
    session: DbSession,
    actor: CurrentActor("rp:read"),  # type: ignore[valid-type]
) -> list[NtlCaseStepRead]:
    """Every step: who, when, from, to, why, with its details (figures, invoice)."""
    steps = service.case_history(session, actor=actor, case_id=ntl_case_id)
    return [NtlCaseStepRead.model_validate(s) for s in steps]


@router.post("/cases/{ntl_case_id}/inspection", response_model=NtlCaseRead, responses=STEP)
def order_inspection(
    ntl_case_id: Id,
    session: DbSession,
    actor: CurrentActor("rp:write"),  # type: ignore[valid-type]
) -> NtlCaseRead:
    """Send the inspection order of a case opened without one."""
    return _read(service.order_inspection(session, actor=actor, case_id=ntl_case_id))


@router.post("/cases/{ntl_case_id}/findings", response_model=NtlCaseRead, responses=STEP)
def record_findings(
    ntl_case_id: Id,
    data: Findings,
    session: DbSession,
    actor: CurrentActor("rp:write"),  # type: ignore[valid-type]
) -> NtlCaseRead:
    """Complete the findings (load found, start of the irregularity, measurement after
    repair ...)."""
    return _read(service.record_findings(session, actor=actor, case_id=ntl_case_id, data=data))


@router.post("/cases/{ntl_case_id}/assessment", response_model=NtlCaseRead, responses=STEP)
def assess(
    ntl_case_id: Id,
    data: AssessRequest,
    session: DbSession,
    actor: CurrentActor("rp:write"),  # type: ignore[valid-type]
) -> NtlCaseRead:
    """Assess the unbilled energy and penalty under the rule set in force (422 when the
    method lacks its data)."""
    case = service.assess(session, actor=actor, case_id=ntl_case_id, method=data.method)
    return _read(case)


@router.post("/cases/{ntl_case_id}/back-bill", response_model=NtlCaseRead, responses=STEP)
def back_bill(
    ntl_case_id: Id,
    session: DbSession,
    actor: CurrentActor("rp:write"),  # type: ignore[valid-type]
) -> NtlCaseRead:
    """Issue the back-bill of the assessment (posted to the ledger)."""
    return _read(service.back_bill(session, actor=actor, case_id=ntl_case_id))


@router.post("/cases/{ntl_case_id}/contestation", response_model=NtlCaseRead, responses=STEP)
def contest(
    ntl_case_id: Id,
    data: Contestation,
    session: DbSession,
    actor: CurrentActor("rp:write"),  # type: ignore[valid-type]
) -> NtlCaseRead:
    return _read(service.contest(session, actor=actor, case_id=ntl_case_id, reason=data.reason))


@router.post(
    "/cases/{ntl_case_id}/contestation/decision", response_model=NtlCaseRead, responses=STEP
)
def decide_contestation(
    ntl_case_id: Id,
    data: ContestDecision,
    session: DbSession,
    actor: CurrentActor("rp:write"),  # type: ignore[valid-type]
) -> NtlCaseRead:
    """Rejected: the back-bill stands. Accepted: credited, the case is assessed again."""
    case = service.decide_contestation(session, actor=actor, case_id=ntl_case_id, data=data)
    return _read(case)


@router.post("/cases/{ntl_case_id}/close", response_model=NtlCaseRead, responses=STEP)
def close(
    ntl_case_id: Id,
    data: CaseStepRequest,
    session: DbSession,
    actor: CurrentActor("rp:write"),  # type: ignore[valid-type]
) -> NtlCaseRead:
    """Close a billed case: recovered energy and revenue recorded, the label to fraud."""
    return _read(service.close(session, actor=actor, case_id=ntl_case_id, reason=data.reason))


@router.post("/cases/{ntl_case_id}/dismiss", response_model=NtlCaseRead, responses=STEP)
def dismiss(
    ntl_case_id: Id,
    data: Contestation,
    session: DbSession,
    actor: CurrentActor("rp:write"),  # type: ignore[valid-type]
) -> NtlCaseRead:
    """Nothing to claim (after an inspection fraud learns no_fraud)."""
    return _read(service.dismiss(session, actor=actor, case_id=ntl_case_id, reason=data.reason))


@router.get("/assessment-rules", response_model=list[RuleSetRead])
def list_rule_sets(
    session: DbSession,
    actor: CurrentActor("rp:read"),  # type: ignore[valid-type]
) -> list[RuleSetRead]:
    """Every version of the regulator's order, newest first."""
    del actor
    return [RuleSetRead.model_validate(r) for r in service.rule_sets(session)]


@router.post("/assessment-rules", response_model=RuleSetRead, status_code=201)
def create_rule_set(
    data: RuleSetCreate,
    session: DbSession,
    actor: CurrentActor("rp:write"),  # type: ignore[valid-type]
) -> RuleSetRead:
    """A new version of the regulator's order (versions are never edited)."""
    return RuleSetRead.model_validate(service.create_rule_set(session, actor=actor, data=data))


# -- automatic restoration ---------------------------------------------------------------


@router.get("/restorations", response_model=RestorationPage)
def list_restorations(
    session: DbSession,
    actor: CurrentActor("rp:read"),  # type: ignore[valid-type]
    status: Annotated[str | None, Query(max_length=40)] = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> RestorationPage:
    """Restoration processes of the caller's territory, newest first, each step timed."""
    return supervision.list_restorations(
        session, actor=actor, status=status, offset=offset, limit=limit
    )


@router.get("/restorations/supervision", response_model=Supervision)
def supervise_restorations(
    session: DbSession,
    actor: CurrentActor("rp:read"),  # type: ignore[valid-type]
    stuck_after_minutes: Annotated[int, Query(ge=1, le=10080)] = 60,
) -> Supervision:
    """Running processes, p50 / p95 from the payment's commit to the decision and to the
    command per branch (remote, field, remote_fallback, hold), and the stuck ones."""
    return supervision.supervise(session, actor=actor, stuck_after_minutes=stuck_after_minutes)


# -- campaigns ----------------------------------------------------------------------------


@router.post("/campaigns", response_model=CampaignRead, status_code=201)
def create_campaign(
    data: campaigns.CampaignCreate,
    session: DbSession,
    actor: CurrentActor("rp:write"),  # type: ignore[valid-type]
) -> CampaignRead:
    """A cut / reduce / restore / inspect campaign over the usage points matching the
    criteria (registry: ``revenue_protection.campaigns.CRITERIA``)."""
    return CampaignRead.model_validate(campaigns.create_campaign(session, actor=actor, data=data))


@router.post("/campaigns/{campaign_id}/dispatch", response_model=CampaignRead, responses=NOT_FOUND)
def dispatch_campaign(
    campaign_id: Id,
    data: campaigns.CampaignDispatch,
    session: DbSession,
    actor: CurrentActor("rp:write"),  # type: ignore[valid-type]
) -> CampaignRead:
    """Split among the agents as routes, create and assign the work orders (remote
    commands at smart meters for reduce / restore)."""
    return CampaignRead.model_validate(
        campaigns.dispatch(session, actor=actor, campaign_id=campaign_id, data=data)
    )


@router.get(
    "/campaigns/{campaign_id}/progress",
    response_model=campaigns.CampaignProgress,
    responses=NOT_FOUND,
)
def campaign_progress(
    campaign_id: Id,
    session: DbSession,
    actor: CurrentActor("rp:read"),  # type: ignore[valid-type]
) -> campaigns.CampaignProgress:
    return campaigns.progress(session, actor=actor, campaign_id=campaign_id)


@router.get("/campaigns/{campaign_id}/map", responses=NOT_FOUND)
def campaign_map(
    campaign_id: Id,
    session: DbSession,
    actor: CurrentActor("rp:read"),  # type: ignore[valid-type]
) -> dict[str, object]:
    """The stops as GeoJSON (RFC 7946, EPSG:4326): outcome, agent and order of each."""
    return campaigns.campaign_map(session, actor=actor, campaign_id=campaign_id)


# -- loss dashboard -----------------------------------------------------------------------

MonthParam = Annotated[
    str | None, Query(pattern=r"^[1-9][0-9]{3}-(0[1-9]|1[0-2])$", description="YYYY-MM")
]


def _months(from_month: str | None, to_month: str | None) -> tuple[date, date]:
    """[first, last) from two YYYY-MM (default: the twelve months before this one)."""
    this = month_start(datetime.now(UTC))
    last = add_months(parse_month(to_month), 1) if to_month else this
    first = parse_month(from_month) if from_month else add_months(last, -12)
    return first, max(last, add_months(first, 1))


def parse_month(value: str) -> date:
    return date(int(value[:4]), int(value[5:7]), 1)


@router.get("/dashboard", response_model=dashboard.Dashboard)
def loss_dashboard(
    session: DbSession,
    actor: CurrentActor("rp:read"),  # type: ignore[valid-type]
    from_month: MonthParam = None,
    to_month: MonthParam = None,
) -> dashboard.Dashboard:
    """Losses per zone and month (technical, non-technical, ratios), recovered energy and
    revenue, inspections and hit rate, cuts and restorations, collection rate."""
    first, last = _months(from_month, to_month)
    return dashboard.build(session, actor=actor, first=first, last=last)


@router.get(
    "/dashboard.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "The dashboard as CSV"}},
)
def loss_dashboard_csv(
    session: DbSession,
    actor: CurrentActor("rp:read"),  # type: ignore[valid-type]
    from_month: MonthParam = None,
    to_month: MonthParam = None,
) -> Response:
    first, last = _months(from_month, to_month)
    board = dashboard.build(session, actor=actor, first=first, last=last)
    return attachment(dashboard.to_csv(board), f"losses-{first:%Y-%m}.csv", "text/csv")


@router.get("/dashboard.xlsx", response_class=Response)
def loss_dashboard_xlsx(
    session: DbSession,
    actor: CurrentActor("rp:read"),  # type: ignore[valid-type]
    from_month: MonthParam = None,
    to_month: MonthParam = None,
) -> Response:
    first, last = _months(from_month, to_month)
    board = dashboard.build(session, actor=actor, first=first, last=last)
    return attachment(
        dashboard.to_xlsx(board),
        f"losses-{first:%Y-%m}.xlsx",
        XLSX,
    )


# -- drill-down: a zone's customers -----------------------------------------------------


@router.get("/dashboard/customers", response_model=loss_drilldown.ZoneCustomers)
def zone_customers(
    session: DbSession,
    actor: CurrentActor("rp:read"),  # type: ignore[valid-type]
    transformer_id: OptionalId = None,
    feeder_id: OptionalId = None,
    from_month: MonthParam = None,
    to_month: MonthParam = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> loss_drilldown.ZoneCustomers:
    """The dashboard's drill-down: the usage points of a transformer zone or a feeder
    (neither: the caller's territory) with their billed consumption, fraud flags and
    score, NTL cases and recoveries, and supply state; open flags and cases first."""
    first, last = _months(from_month, to_month)
    return loss_drilldown.zone_customers(
        session, actor=actor, first=first, last=last, transformer_id=transformer_id,
        feeder_id=feeder_id, offset=offset, limit=limit,
    )  # fmt: skip


def _whole_zone(
    session: DbSession, actor: Actor, transformer_id: int | None, feeder_id: int | None,
    from_month: str | None, to_month: str | None,
) -> tuple[loss_drilldown.ZoneCustomers, str]:  # fmt: skip
    first, last = _months(from_month, to_month)
    page = loss_drilldown.zone_customers(
        session, actor=actor, first=first, last=last,
        transformer_id=transformer_id, feeder_id=feeder_id, limit=100_000,
    )  # fmt: skip
    zone = f"t{transformer_id}" if transformer_id else (f"f{feeder_id}" if feeder_id else "all")
    return page, f"customers-{zone}-{first:%Y-%m}"


@router.get(
    "/dashboard/customers.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "A zone's customers as CSV"}},
)
def zone_customers_csv(
    session: DbSession,
    actor: CurrentActor("rp:read"),  # type: ignore[valid-type]
    transformer_id: OptionalId = None,
    feeder_id: OptionalId = None,
    from_month: MonthParam = None,
    to_month: MonthParam = None,
) -> Response:
    """Every usage point of the zone (no paging), as the JSON's items."""
    page, name = _whole_zone(session, actor, transformer_id, feeder_id, from_month, to_month)
    return attachment(loss_drilldown.to_csv(page), f"{name}.csv", "text/csv")


@router.get(
    "/dashboard/customers.xlsx",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}, "description": "A zone's customers as XLSX"}},
)
def zone_customers_xlsx(
    session: DbSession,
    actor: CurrentActor("rp:read"),  # type: ignore[valid-type]
    transformer_id: OptionalId = None,
    feeder_id: OptionalId = None,
    from_month: MonthParam = None,
    to_month: MonthParam = None,
) -> Response:
    page, name = _whole_zone(session, actor, transformer_id, feeder_id, from_month, to_month)
    return attachment(loss_drilldown.to_xlsx(page), f"{name}.xlsx", XLSX)


# -- reduce instead of cut ----------------------------------------------------------------


@router.get("/supply-policy", response_model=list[SupplyPolicyRead])
def list_supply_policies(
    session: DbSession,
    actor: CurrentActor("rp:read"),  # type: ignore[valid-type]
) -> list[SupplyPolicyRead]:
    """Every version of the reduce-instead-of-cut policy, newest first."""
    del actor
    return [SupplyPolicyRead.model_validate(p) for p in supply_policy.versions(session)]


@router.post("/supply-policy", response_model=SupplyPolicyRead, status_code=201)
def publish_supply_policy(
    data: supply_policy.SupplyPolicyCreate,
    session: DbSession,
    actor: CurrentActor("rp:write"),  # type: ignore[valid-type]
) -> SupplyPolicyRead:
    """A new version of the policy (versions are never edited); cut campaigns built from
    now on and the cut list follow it."""
    del actor
    row = supply_policy.publish(session, policy=data.policy, note=data.note)
    return SupplyPolicyRead.model_validate(row)
