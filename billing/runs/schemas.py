"""Pydantic schemas of billing runs (API and services)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from customers.enums import UsageCategory


class Selection(BaseModel):
    """Which usage points a run bills (all conditions given must hold). A reading round or
    a billing cycle is owned by the layers that plan them: they hand the run its usage
    points (``usage_point_ids``)."""

    model_config = ConfigDict(extra="forbid")

    categories: list[UsageCategory] | None = Field(None, min_length=1)
    agency: str | None = Field(None, description="agency code: premises in its territory")
    feeder_ids: list[int] | None = Field(None, min_length=1, description="zone: feeders")
    transformer_ids: list[int] | None = Field(
        None, min_length=1, description="zone: distribution transformers"
    )
    usage_point_ids: list[int] | None = Field(
        None, min_length=1, max_length=1_000_000, description="a cycle or a round"
    )


class RunCreate(BaseModel):
    """Prepare a run: select its usage points for the period [period_start, period_end)."""

    model_config = ConfigDict(extra="forbid")

    label: str = Field("", max_length=200)
    period_start: date
    period_end: date = Field(description="exclusive")
    issue_date: date | None = None
    due_days: int = Field(15, ge=0, le=120)
    selection: Selection = Field(default_factory=Selection)
    amount_threshold: int | None = Field(None, ge=0, description="minor units")
    history_factor: Decimal = Field(Decimal(3), gt=1, le=100)
    park_estimated: bool = False
    chunk_size: int = Field(5000, ge=1, le=100_000)

    @model_validator(mode="after")
    def _ordered(self) -> RunCreate:
        if self.period_end <= self.period_start:
            raise ValueError("period_end must come after period_start")
        if (self.period_end - self.period_start).days > 366:
            raise ValueError("a run bills at most a year")
        return self


class RunDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: str = Field("", max_length=1000)


class RunRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    label: str
    status: str
    period_start: date
    period_end: date
    issue_date: date
    due_days: int
    selection: dict[str, object]
    agency_id: int | None
    amount_threshold: int | None
    history_factor: Decimal
    park_estimated: bool
    chunk_size: int
    prepared_by: str
    approved_by: str | None
    approved_at: datetime | None
    created_at: datetime


class RunProgress(BaseModel):
    """Where a run stands: items by status, chunks done per phase, totals simulated and
    issued (minor units, per currency)."""

    id: int
    status: str
    items: int
    by_status: dict[str, int]
    by_check: dict[str, int]
    chunks: int
    chunks_simulated: int
    chunks_issued: int
    invoices: int
    simulated_total: dict[str, int]
    issued_total: dict[str, int]


class RunItemRead(BaseModel):
    """One line of the control report."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    usage_point_id: int
    contract_id: int | None
    status: str
    period_start: date | None
    period_end: date | None
    consumption: dict[str, str] | None
    kwh: Decimal | None
    estimated: bool
    total: int | None
    currency: str | None
    checks: list[str]
    detail: str
    invoice_id: int | None
