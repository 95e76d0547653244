"""What the collections API takes and gives."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from billing.collections.enums import DelayUnit, HoldKind, HoldRule, StepAction, StepChannel

Code = Annotated[str, StringConstraints(min_length=1, max_length=60, pattern=r"^[a-z0-9_\-]+$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Minor = Annotated[int, Field(ge=0, le=10**15)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StepIn(_In):
    code: Code
    delay: Annotated[int, Field(ge=0, le=1000)]
    delay_unit: DelayUnit = DelayUnit.DAYS
    min_amount: Minor = 0
    channel: StepChannel
    fee: Minor = 0
    action: StepAction = StepAction.NOTICE


class PolicyCreate(_In):
    code: Code
    name: Name
    category: Annotated[str, StringConstraints(max_length=60)] | None = None
    agency_id: Annotated[int, Field(gt=0, le=2**63 - 1)] | None = None
    interest_rate: Annotated[Decimal, Field(ge=0, lt=1, decimal_places=6)] = Decimal(0)
    interest_day_count: Annotated[str, StringConstraints(pattern=r"^ACT/(365|360)$")] = "ACT/365"
    steps: Annotated[list[StepIn], Field(min_length=1, max_length=20)]

    @model_validator(mode="after")
    def _steps_in_order(self) -> PolicyCreate:
        # Steps fire in order; a later step falling before an earlier one could never fire.
        codes = [s.code for s in self.steps]
        if len(set(codes)) != len(codes):
            raise ValueError("step codes are unique within a policy")
        return self


class PolicyUpdate(_In):
    """A policy edited: everything but its code; ``steps`` replace the steps by position
    (a step already done on some account may be changed, not removed)."""

    name: Name
    category: Annotated[str, StringConstraints(max_length=60)] | None = None
    agency_id: Annotated[int, Field(gt=0, le=2**63 - 1)] | None = None
    interest_rate: Annotated[Decimal, Field(ge=0, lt=1, decimal_places=6)] = Decimal(0)
    interest_day_count: Annotated[str, StringConstraints(pattern=r"^ACT/(365|360)$")] = "ACT/365"
    active: bool = True
    steps: Annotated[list[StepIn], Field(min_length=1, max_length=20)]

    @model_validator(mode="after")
    def _codes_unique(self) -> PolicyUpdate:
        codes = [s.code for s in self.steps]
        if len(set(codes)) != len(codes):
            raise ValueError("step codes are unique within a policy")
        return self


class StepRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    position: int
    code: str
    delay: int
    delay_unit: str
    min_amount: int
    channel: str
    fee: int
    action: str


class PolicyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    category: str | None
    agency_id: int | None
    interest_rate: Decimal
    interest_day_count: str
    active: bool
    steps: list[StepRead] = []


class HoldCreate(_In):
    customer_account_id: Annotated[int, Field(gt=0, le=2**63 - 1)] | None = None
    kind: HoldKind
    rule: HoldRule = HoldRule.DATES
    blocks: Annotated[
        list[Annotated[str, StringConstraints(min_length=1, max_length=60)]],
        Field(min_length=1, max_length=20),
    ]
    start_date: date
    end_date: date | None = None
    reason: Annotated[str, StringConstraints(max_length=500)] = ""

    @model_validator(mode="after")
    def _dates(self) -> HoldCreate:
        if self.end_date is not None and self.end_date < self.start_date:
            raise ValueError("end_date is on or after start_date")
        if self.customer_account_id is None and self.kind != HoldKind.REGULATORY:
            raise ValueError("only a regulatory hold applies to every account")
        return self


class HoldRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    customer_account_id: int | None
    kind: str
    rule: str
    blocks: list[str]
    start_date: date
    end_date: date | None
    reason: str


class PlanCreate(_In):
    customer_account_id: Annotated[int, Field(gt=0, le=2**63 - 1)]
    item_ids: Annotated[
        list[Annotated[int, Field(gt=0, le=2**63 - 1)]], Field(min_length=1, max_length=100)
    ]
    down_payment: Minor = 0
    instalments: Annotated[int, Field(ge=1, le=60)]
    first_due_date: date
    agreed_on: date
    interest_rate: Annotated[Decimal, Field(ge=0, lt=1, decimal_places=6)] = Decimal(0)
    grace_days: Annotated[int, Field(ge=0, le=90)] = 0


class InstalmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    sequence: int
    due_date: date
    amount: int


class PlanRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    customer_account_id: int
    status: str
    item_ids: list[int]
    principal: int
    interest: int
    down_payment: int
    agreed_on: date
    grace_days: int
    instalments: list[InstalmentRead] = []


class WriteOffCreate(_In):
    customer_account_id: Annotated[int, Field(gt=0, le=2**63 - 1)]
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    amount: Annotated[int, Field(gt=0, le=10**15)] | None = None


class WriteOffDecision(_In):
    approve: bool
    on: date


class WriteOffRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    customer_account_id: int
    amount: int
    currency: str
    status: str
    reason: str
    requested_by: str
    approved_by: str | None
    decided_on: date | None
    recovered: int


class LitigationCreate(_In):
    customer_account_id: Annotated[int, Field(gt=0, le=2**63 - 1)]
    handler_kind: Annotated[str, StringConstraints(pattern=r"^(bailiff|lawyer)$")]
    handler_name: Name
    on: date


class ActionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    position: int
    action: str
    channel: str
    cycle_start: date
    done_on: date
    amount_due: int
    fee_item_id: int | None
    notice_status: str


class FileRead(BaseModel):
    """An account's collection file: where it stands, what was done, what comes next."""

    customer_account_id: int
    account_number: str
    status: str
    policy_code: str | None
    overdue_amount: int
    unpaid_bills: int
    oldest_due_date: date | None
    step_position: int
    next_step: StepRead | None
    next_step_date: date | None
    cut_eligible_since: date | None
    reason: str
    actions: list[ActionRead]
    holds: list[HoldRead]
    plan: PlanRead | None


class CutEligibleRow(BaseModel):
    customer_account_id: int
    account_number: str
    category: str | None
    agency_id: int | None
    overdue_amount: int
    unpaid_bills: int
    oldest_due_date: date | None
    days_overdue: int
    cut_eligible_since: date
    lon: float | None = None
    lat: float | None = None


class NightReport(BaseModel):
    on: date
    recomputed: int
    plans_moved: int
    interest_items: int
    steps_fired: int
    fees: int
    cut_eligible: int
    litigation: int


class PlanView(PlanRead):
    """A plan with its account and what its covered items have been paid since."""

    account_number: str
    paid: int
    due: int


class AgedDebtRow(BaseModel):
    """One agency x category line of the aged debt (minor units)."""

    agency_id: int | None
    agency_code: str | None
    category: str | None
    accounts: int
    d0_30: int
    d31_60: int
    d61_90: int
    d91_180: int
    d181: int
    total: int


class AgedDebtTotals(BaseModel):
    accounts: int
    d0_30: int
    d31_60: int
    d61_90: int
    d91_180: int
    d181: int
    total: int


class AgedDebt(BaseModel):
    """Open amounts past due on ``on`` by days late: 0-30 (1 to 30), 31-60, 61-90,
    91-180, over 180."""

    on: date
    currency: str
    rows: list[AgedDebtRow]
    totals: AgedDebtTotals


class WorklistRow(BaseModel):
    customer_account_id: int
    account_number: str
    agency_id: int | None
    agency_code: str | None
    category: str | None
    status: str
    overdue_amount: int
    unpaid_bills: int
    oldest_due_date: date | None
    days_overdue: int | None
    step_position: int
    step_code: str | None
    step_done_on: date | None
    notice_status: str | None
    next_step_code: str | None
    next_step_date: date | None
    next_action: str
    next_action_text: str


class TimelineEvent(BaseModel):
    on_date: date
    kind: str
    what: str
    amount: int | None
