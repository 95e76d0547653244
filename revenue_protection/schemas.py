"""Request and response bodies of revenue protection."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from billing.collections.schemas import CutEligibleRow
from revenue_protection.assessment import AssessmentRules
from revenue_protection.enums import AssessmentMethod, CaseSource, Irregularity


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NtlCaseCreate(_In):
    """A case raised at the office or from a field tip."""

    usage_point_id: int = Field(gt=0)
    source: CaseSource = CaseSource.MANUAL
    note: str = Field("", max_length=2000)
    priority: int = Field(3, ge=1, le=5)
    order_inspection: bool = True


class Findings(_In):
    """What the inspection found, as the office completes it (the handheld's outcome
    gives the photos, seals, indexes and the irregularity when its code is known)."""

    irregularity: Irregularity | None = None
    irregularity_since: date | None = None
    load_kw: Decimal | None = Field(None, ge=0, le=100000)
    meter_state: str | None = Field(None, max_length=200)
    corrected_kwh: Decimal | None = Field(None, ge=0)
    corrected_days: int | None = Field(None, ge=1, le=366)
    inspected_on: date | None = None
    note: str | None = Field(None, max_length=2000)


class AssessRequest(_In):
    method: AssessmentMethod | None = None  # None: the first that applies, in the rules' order


class Contestation(_In):
    reason: str = Field(min_length=1, max_length=2000)


class ContestDecision(_In):
    accepted: bool
    reason: str = Field(min_length=1, max_length=2000)


class CaseStepRequest(_In):
    reason: str = Field("", max_length=2000)


class RuleSetCreate(_In):
    effective_from: date
    definition: AssessmentRules
    note: str = Field("", max_length=2000)


class RuleSetRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    version: int
    effective_from: date
    definition: dict[str, Any]
    note: str


class NtlCaseRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    usage_point_id: int
    contract_id: int | None
    source: str
    source_ref: str | None
    flag_id: int | None
    status: str
    priority: int
    note: str
    inspection_work_order_id: int | None
    findings: dict[str, Any]
    irregularity: str | None
    inspected_on: date | None
    irregularity_since: date | None
    assessment: dict[str, Any]
    unbilled_kwh: Decimal | None
    penalty: int | None
    back_bill_invoice_id: int | None
    contestation: dict[str, Any]
    recovered_kwh: Decimal | None
    recovered_amount: int | None
    currency: str | None
    closed_at: datetime | None
    created_at: datetime


class NtlCasePage(BaseModel):
    items: list[NtlCaseRead]
    total: int
    offset: int
    limit: int


class NtlCaseStepRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    event: str
    from_status: str | None
    to_status: str
    reason: str | None
    actor: str
    details: dict[str, Any]
    at: datetime


class CampaignRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: str
    agency_id: int | None
    criteria: dict[str, Any]
    status: str
    planned_date: date | None
    reconnection_fee: int


class CutListRow(CutEligibleRow):
    """A row of collections' cut list with what a visit would do there under the
    reduce-instead-of-cut policy in force (``supply_policy.for_accounts``)."""

    supply_action: str = "cut"  # cut | reduce | mixed
    limit_kva: Decimal | None = None


class SupplyPolicyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: int
    definition: dict[str, Any]
    note: str
    created_at: datetime
