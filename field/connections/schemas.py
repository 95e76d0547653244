"""API shapes of connection requests, quotes and price lists."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from core.inputs import TextInput
from field.connections.pricing import PriceListDefinition


class _In(TextInput):
    """A request body: unknown fields and NUL characters refused."""


class SiteIn(_In):
    """Where the supply is wanted (the customer's own pin on the map)."""

    address_line: str = Field(min_length=3, max_length=200)
    city: str = Field(min_length=2, max_length=100)
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)


class PortalConnectionRequestIn(_In):
    site: SiteIn
    connection_type: str = Field(min_length=1, max_length=40)
    subscribed_kva: Decimal = Field(gt=0, le=1000)


class DeskConnectionRequestIn(_In):
    party_id: int = Field(ge=1)
    service_location_id: int = Field(ge=1)
    kind: Literal["new_connection", "power_change"] = "new_connection"
    connection_type: str = Field(min_length=1, max_length=40)
    subscribed_kva: Decimal = Field(gt=0, le=1000)
    tariff_code: str | None = Field(default=None, max_length=40)
    usage_point_id: int | None = Field(default=None, ge=1)


class ExtraLineIn(_In):
    """Work the price list does not name, priced by the desk (taxed like the works)."""

    label: str = Field(min_length=1, max_length=200)
    quantity: Decimal = Field(gt=0, le=100000, decimal_places=2)
    unit_price: int = Field(ge=0, le=10**12)


class QuoteIn(_In):
    """A new quote version; everything left out is as the request (and the map) says."""

    distance_m: Decimal | None = Field(default=None, ge=0, le=100000)
    connection_type: str | None = Field(default=None, min_length=1, max_length=40)
    subscribed_kva: Decimal | None = Field(default=None, gt=0, le=1000)
    include_meter: bool | None = None
    extra_lines: list[ExtraLineIn] = Field(default_factory=list, max_length=20)


class PriceListIn(_In):
    version: int = Field(ge=1)
    valid_from: date
    definition: PriceListDefinition
    note: str | None = Field(default=None, max_length=500)


class PriceListRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    version: int
    valid_from: date
    definition: dict[str, Any]
    note: str | None


class QuoteRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: int
    distance_m: Decimal
    currency: str
    lines: list[dict[str, Any]]
    subtotal: int
    tax: int
    deposit: int
    total: int
    status: str
    accepted_at: datetime | None


class ConnectionRequestRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    kind: str
    source: str
    status: str
    party_id: int
    service_location_id: int
    usage_point_id: int | None
    account_id: int | None
    connection_type: str
    subscribed_kva: Decimal
    step_started_at: datetime
    contract_id: int | None
    quote: QuoteRead | None = None
    sla_due_at: datetime | None = None
    late: bool = False
