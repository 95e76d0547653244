"""The customer's meters on the self-care portal (``/api/v1/portal``): what each meter should
show now, a reading the customer takes themselves (with an optional photo of the dials),
their reading history, and a prepaid customer's purchases (tokens, energy, deductions).

Ownership first (``customers.portal``: the customer's active contracts and accounts), then
the domains' own services: the readings rules judge a self-read exactly as a reader's."""

from __future__ import annotations

import hashlib
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from api.deps import DbSession
from api.params import Id
from api.portal_auth import CurrentCustomer
from api.schemas import PROBLEM_RESPONSES
from billing.payments import repository as payment_reads
from billing.tariffs.definition import LineKind
from core.context import SYSTEM
from customers.portal import service as portal
from meters import self_reads
from meters.enums import RegisterCode
from meters.models import Reading
from meters.schemas import ReadingOutcome
from mobile_sync import attachments

router = APIRouter(prefix="/api/v1/portal", tags=["portal"], responses=PROBLEM_RESPONSES)

# A year of weekly purchases, newest first.
VEND_HISTORY = 60


class RegisterView(BaseModel):
    code: str
    previous: Decimal = Field(description="The last counted index (or the start index)")
    previous_at: datetime
    low: Decimal | None = Field(description="Lowest index the rules accept unflagged now")
    high: Decimal | None = Field(description="Highest index the rules accept unflagged now")


class MeterView(BaseModel):
    id: int
    serial: str
    usage_point_id: int
    registers: list[RegisterView]


class ReadingView(BaseModel):
    id: int
    meter_id: int
    register_code: str
    read_at: datetime
    value: Decimal
    source: str = Field(description="self_read (yours), handheld, ami or estimated")
    status: str = Field(description="accepted, flagged (the office will look), rejected ...")
    reason_codes: list[str]
    has_photo: bool
    duplicate: bool = False


class DeductionView(BaseModel):
    kind: str
    component: str
    amount: int


class VendView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    meter_serial: str
    vended_at: datetime
    amount: int = Field(description="Paid, minor units")
    energy_amount: int = Field(description="The part buying energy")
    deductions: list[DeductionView] = Field(
        description="What else the purchase paid: the month's fixed charges, levies, taxes"
    )
    credit: int = Field(description="Left on the account (amount - charged)")
    currency: str
    kwh: Decimal
    token: str
    status: str


def _reading_view(
    read: Reading | ReadingOutcome, codes: dict[int, str], duplicate: bool = False
) -> ReadingView:
    return ReadingView(
        id=read.id,
        meter_id=read.meter_id,
        register_code=codes.get(read.register_id, "?"),
        read_at=read.read_at,
        value=read.value,
        source=read.source,
        status=read.status,
        reason_codes=list(read.reason_codes or []),
        has_photo=read.photo_sha256 is not None,
        duplicate=duplicate,
    )


@router.get("/meters", response_model=list[MeterView])
def my_meters(session: DbSession, customer: CurrentCustomer) -> list[MeterView]:
    """The meters fitted at the customer's supplies, and the index range each register
    should show now (the readings rules' own)."""
    found = self_reads.customer_meters(session, portal.my_usage_points(session, customer))
    return [
        MeterView(
            id=m.expected.meter_id,
            serial=m.expected.meter_serial,
            usage_point_id=m.usage_point_id,
            registers=[
                RegisterView(
                    code=code,
                    previous=e.previous,
                    previous_at=e.previous_at,
                    low=e.low,
                    high=e.high,
                )
                for code, e in m.expected.registers.items()
            ],
        )
        for m in found
    ]


@router.get("/meters/{meter_id}/readings", response_model=list[ReadingView])
def my_readings(meter_id: Id, session: DbSession, customer: CurrentCustomer) -> list[ReadingView]:
    """The meter's reads since the customer's contract began, newest first."""
    reads = self_reads.history(session, portal.my_usage_points(session, customer), meter_id)
    codes = self_reads.register_codes(session, meter_id)
    return [_reading_view(r, codes) for r in reads]


@router.post("/meters/{meter_id}/readings", response_model=ReadingView, status_code=201)
def submit_reading(
    meter_id: Id,
    session: DbSession,
    customer: CurrentCustomer,
    value: Annotated[Decimal, Form(ge=0, lt=Decimal("1e13"), decimal_places=3)],
    register_code: Annotated[RegisterCode, Form()] = RegisterCode.TOTAL,
    read_at: Annotated[
        AwareDatetime | None, Form(description="When the dials were read (default: now)")
    ] = None,
    confirm: Annotated[
        bool, Form(description="Keep a value the rules flag (the office will check it)")
    ] = False,
    photo: Annotated[UploadFile | None, File(description="A JPEG or PNG of the dials")] = None,
) -> ReadingView:
    """The customer's own read of one register, judged by the readings rules: an
    implausible value answers 422 ``reading_implausible`` with the reason codes and the
    expected range (nothing stored); a flagged one is kept only when confirmed."""
    usage_points = portal.my_usage_points(session, customer)
    content = photo.file.read() if photo is not None else None
    photo_sha = hashlib.sha256(content).hexdigest() if content is not None else None
    # The read is judged first: a refused one leaves no photo behind on disk either.
    outcome = self_reads.submit(
        session,
        actor=customer.actor,
        usage_points=usage_points,
        meter_id=meter_id,
        register_code=register_code,
        value=value,
        read_at=read_at,
        photo_sha256=photo_sha,
        confirmed=confirm,
    )
    if content is not None and photo_sha is not None:
        attachments.receive(  # not an image: the whole request fails, the read with it
            session,
            actor=customer.actor,
            device=None,
            sha256=photo_sha,
            body=content,
            content_type=photo.content_type if photo is not None else None,
            content_range=None,
        )
    return _reading_view(outcome, self_reads.register_codes(session, meter_id), outcome.duplicate)


@router.get("/accounts/{account_id}/prepaid-vends", response_model=list[VendView])
def my_vends(account_id: Id, session: DbSession, customer: CurrentCustomer) -> list[Any]:
    """A prepaid customer's purchases on one of their accounts, newest first: the token
    to key in, the energy bought and what was deducted from the amount."""
    portal.my_account(session, customer, account_id)  # the customer's own, else 404
    views = []
    for vend in payment_reads.vends_of_account(session, SYSTEM, account_id, limit=VEND_HISTORY):
        lines = [DeductionView.model_validate(line) for line in vend.lines]
        views.append(
            VendView(
                id=vend.id,
                meter_serial=vend.meter_serial,
                vended_at=vend.vended_at,
                amount=vend.amount,
                energy_amount=sum(x.amount for x in lines if x.kind == LineKind.ENERGY),
                deductions=[x for x in lines if x.kind != LineKind.ENERGY],
                credit=vend.amount - vend.charged,
                currency=vend.currency,
                kwh=vend.kwh,
                token=vend.token,
                status=vend.status,
            )
        )
    return views
