"""Request and response shapes of tariffs and the bill calculator. A tariff document (what
YAML/JSON import reads and export writes) is a ``TariffCreate`` with its versions."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from billing.tariffs.definition import Kva, Kwh, LineKind, Name, TariffDefinition
from core.money import CurrencyUnknownError, minor_exponent

TariffCode = Annotated[
    str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
]
# Business dates within reason: a tariff of year 1 or 9999 is a typing error.
BusinessDate = Annotated[date, Field(ge=date(1950, 1, 1), le=date(2200, 12, 31))]
SIMULATION_DAYS_MAX = 3660


def _iso_currency(code: str) -> str:
    try:
        minor_exponent(code)
    except CurrencyUnknownError as exc:
        raise ValueError(str(exc)) from exc
    return code


Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$"), AfterValidator(_iso_currency)]


class TariffVersionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    effective_from: BusinessDate
    note: str = Field("", max_length=500)
    definition: TariffDefinition


class TariffCreate(BaseModel):
    """A tariff and (optionally) its versions: also the YAML/JSON tariff document."""

    model_config = ConfigDict(extra="forbid")

    code: TariffCode
    name: str = Field(min_length=1, max_length=200)
    currency: Currency
    description: str = Field("", max_length=2000)
    versions: list[TariffVersionCreate] = Field(default_factory=list, max_length=100)

    @model_validator(mode="after")
    def _distinct_dates(self) -> TariffCreate:
        dates = [v.effective_from for v in self.versions]
        if len(set(dates)) != len(dates):
            raise ValueError("two versions cannot start on the same day")
        return self


class TariffVersionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: int
    effective_from: date
    effective_to: date | None = None  # the next version's start (exclusive)
    note: str
    created_at: datetime
    definition: TariffDefinition


class TariffSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    currency: str
    description: str


class TariffRead(TariffSummary):
    versions: list[TariffVersionRead]


class ImportReport(BaseModel):
    """What an import did: versions already present with the same content are left alone."""

    code: str
    created: bool
    versions_added: list[int]
    versions_unchanged: list[int]


class SimulateRequest(BaseModel):
    """A consumption to rate: any date range ``[start, end)`` (first day in, last day out)
    and kWh per register."""

    model_config = ConfigDict(extra="forbid")

    start: BusinessDate
    end: BusinessDate
    kwh: dict[Name, Kwh] = Field(min_length=1, max_length=12)
    category: Name = "residential"
    connection_type: Name = "single_phase"
    subscribed_kva: Kva | None = None

    @model_validator(mode="after")
    def _range(self) -> SimulateRequest:
        if self.end <= self.start:
            raise ValueError("end must be after start (the last day is out)")
        if (self.end - self.start).days > SIMULATION_DAYS_MAX:
            raise ValueError(f"a simulated period spans at most {SIMULATION_DAYS_MAX} days")
        return self


class BillLineRead(BaseModel):
    kind: LineKind
    component: str
    label: str
    start: date
    end: date
    quantity: Decimal
    unit: str
    unit_price: Decimal | None
    amount: int  # minor units
    amount_major: Decimal
    tax_base: int | None
    block: int | None


class BillRead(BaseModel):
    tariff_code: str
    currency: str
    minor_exponent: int
    start: date
    end: date
    days: int
    months: Decimal
    kwh: dict[str, Decimal]
    lines: list[BillLineRead]
    net: int
    taxes: int
    rounding: int
    total: int
    total_formatted: str
