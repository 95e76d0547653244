"""The customers' self-care API (``/api/v1/portal``): sign-up with a code sent by e-mail
or SMS, sign-in (its own token audience and OpenAPI scheme, ``PortalBearer``), password
reset; then only the customer's own accounts, balances, invoices (with PDFs), payments,
connection requests and quotes, and online payment through the payment page adapter."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Response
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, ConfigDict, Field

from api.deps import DbSession
from api.downloads import attachment
from api.params import Id
from api.portal_auth import CurrentCustomer
from api.schemas import PROBLEM_RESPONSES
from billing.documents.from_invoice import invoice_document
from billing.documents.render import render_pdf
from billing.invoices import repository as invoice_reads
from billing.invoices.models import Invoice
from billing.ledger import repository as ledger
from billing.payments import repository as payment_reads
from core.context import SYSTEM
from core.inputs import TextInput
from customers import premises_service
from customers.models import Case, Party
from customers.portal import service as portal
from customers.portal.errors import PortalAccountNotFoundError
from customers.portal.models import PortalIdentity
from customers.portal.preferences import NotificationPreferences, PreferencesChange
from customers.schemas import ServiceLocationCreate
from field.connections import service as connections
from field.connections.schemas import ConnectionRequestRead, PortalConnectionRequestIn

router = APIRouter(prefix="/api/v1/portal", tags=["portal"], responses=PROBLEM_RESPONSES)


class _In(TextInput):
    """A request body: unknown fields and NUL characters refused."""


class RegisterIn(_In):
    first_name: str = Field(min_length=1, max_length=100)
    last_name: str = Field(min_length=1, max_length=100)
    login: str = Field(min_length=5, max_length=200, description="E-mail or E.164 phone")
    password: str = Field(min_length=1, max_length=200)


class VerifyIn(_In):
    login: str = Field(min_length=5, max_length=200)
    code: str = Field(pattern=r"^\d{6}$")


class ResetIn(_In):
    login: str = Field(min_length=5, max_length=200)


class ResetConfirmIn(VerifyIn):
    password: str = Field(min_length=1, max_length=200)


class CaseIn(_In):
    case_type: Literal["complaint", "dispute", "meter_check", "data_correction"]
    subject: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=5000)


class Registered(BaseModel):
    identity_id: int
    channel: str


class PortalToken(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type
    expires_in: int


class Me(BaseModel):
    party_id: int
    display_name: str
    login: str
    preferences: NotificationPreferences


class AccountView(BaseModel):
    id: int
    number: str
    status: str
    balance: dict[str, int] = Field(description="Owed (positive) or in credit, per currency")


class InvoiceView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    kind: str
    period_start: date
    period_end: date
    issue_date: date
    due_date: date
    currency: str
    total: int


class PaymentView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    channel: str
    amount: int
    currency: str
    value_date: date
    status: str


# --- sign-up, sign-in, reset (public) ----------------------------------------------------


@router.post("/register", response_model=Registered, status_code=201)
def register(body: RegisterIn, session: DbSession) -> Registered:
    """A new customer; a six-digit code goes to the e-mail or phone given."""
    identity = portal.register(
        session,
        first_name=body.first_name,
        last_name=body.last_name,
        login=body.login,
        password=body.password,
    )
    return Registered(identity_id=identity.id, channel=identity.channel)


@router.post("/verify", status_code=204)
def verify(body: VerifyIn, session: DbSession) -> Response:
    portal.verify(session, login=body.login, code=body.code)
    return Response(status_code=204)


@router.post("/token", response_model=PortalToken)
def token(session: DbSession, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> PortalToken:
    """Exchange a verified login and its password for a portal token (not a staff one)."""
    _, access, expires_in = portal.sign_in(session, login=form.username, password=form.password)
    return PortalToken(access_token=access, expires_in=expires_in)


class ResetAccepted(BaseModel):
    detail: str = "if this login exists, a code is on its way"


@router.post("/password-reset", response_model=ResetAccepted, status_code=202)
def password_reset(body: ResetIn, session: DbSession) -> ResetAccepted:
    """Send a reset code if the login exists (the answer is the same either way)."""
    portal.request_reset(session, login=body.login)
    return ResetAccepted()


@router.post("/password-reset/confirm", status_code=204)
def password_reset_confirm(body: ResetConfirmIn, session: DbSession) -> Response:
    portal.reset_password(session, login=body.login, code=body.code, password=body.password)
    return Response(status_code=204)


# --- the customer's own data ---------------------------------------------------------------


@router.get("/me", response_model=Me)
def me(session: DbSession, customer: CurrentCustomer) -> Me:
    identity = session.get(PortalIdentity, customer.identity_id)
    party = session.get(Party, customer.party_id)
    assert identity is not None and party is not None  # the token was checked against them
    return Me(
        party_id=party.id,
        display_name=party.display_name,
        login=identity.login,
        preferences=portal.preferences(session, customer),
    )


@router.put("/me/preferences", response_model=NotificationPreferences)
def preferences(
    body: PreferencesChange, session: DbSession, customer: CurrentCustomer
) -> NotificationPreferences:
    """How each kind of notice reaches the customer (e-mail, SMS, letter or not at all)
    and in which language; the invoice channel and language apply to every account they
    pay (what invoice delivery reads). A channel without an address with us: 422."""
    return portal.set_preferences(session, customer, body)


@router.get("/accounts", response_model=list[AccountView])
def accounts(session: DbSession, customer: CurrentCustomer) -> list[AccountView]:
    mine = portal.my_accounts(session, customer)
    owed = ledger.balances(session, [a.id for a in mine])
    return [
        AccountView(id=a.id, number=a.number, status=a.status, balance=owed.get(a.id, {}))
        for a in mine
    ]


@router.get("/accounts/{account_id}", response_model=AccountView)
def account(account_id: Id, session: DbSession, customer: CurrentCustomer) -> AccountView:
    a = portal.my_account(session, customer, account_id)
    owed = ledger.balances(session, [a.id]).get(a.id, {})
    return AccountView(id=a.id, number=a.number, status=a.status, balance=owed)


# Twenty years of monthly bills, newest first: the portal lists a customer's own documents
# through billing's repositories once the account is known to be theirs.
HISTORY = 240


@router.get("/accounts/{account_id}/invoices", response_model=list[InvoiceView])
def invoices(account_id: Id, session: DbSession, customer: CurrentCustomer) -> list[Any]:
    portal.my_account(session, customer, account_id)  # the customer's own, else 404
    rows, _total = invoice_reads.invoices_page(
        session, SYSTEM, account_id=account_id, limit=HISTORY
    )
    return [InvoiceView.model_validate(r) for r in rows]


@router.get("/accounts/{account_id}/payments", response_model=list[PaymentView])
def payments(account_id: Id, session: DbSession, customer: CurrentCustomer) -> list[Any]:
    portal.my_account(session, customer, account_id)  # the customer's own, else 404
    rows = payment_reads.payments_of(session, SYSTEM, account_id, limit=HISTORY, offset=0)
    return [PaymentView.model_validate(r) for r in rows]


class ConsumptionMonth(BaseModel):
    month: str
    kwh: Decimal
    last_year_kwh: Decimal | None
    similar_homes_median_kwh: Decimal | None = Field(
        description="Median billed kWh of homes of the same category, same month"
    )


@router.get("/accounts/{account_id}/consumption", response_model=list[ConsumptionMonth])
def consumption(account_id: Id, session: DbSession, customer: CurrentCustomer) -> list[Any]:
    """The consumption chart: billed kWh per month, the same month last year, and the
    median of similar homes."""
    portal.my_account(session, customer, account_id)
    return invoice_reads.consumption_comparison(session, account_id)


@router.get("/invoices/{invoice_id}/pdf", response_class=Response)
def invoice_pdf(invoice_id: Id, session: DbSession, customer: CurrentCustomer) -> Response:
    """One of the customer's invoices as the PDF the desk prints."""
    invoice = session.get(Invoice, invoice_id)
    owner = invoice and portal.my_accounts(session, customer)
    if invoice is None or invoice.account_id not in {a.id for a in owner or []}:
        raise PortalAccountNotFoundError(f"no invoice {invoice_id} of yours")
    document = invoice_document(session, customer.actor, invoice_id)
    return attachment(
        render_pdf(document), f"{document.number}.pdf", "application/pdf", inline=True
    )


# --- connection requests ---------------------------------------------------------------------


@router.post("/connection-requests", response_model=ConnectionRequestRead, status_code=201)
def request_connection(
    body: PortalConnectionRequestIn, session: DbSession, customer: CurrentCustomer
) -> ConnectionRequestRead:
    """A new supply at the customer's pin on the map: the premises is recorded and a site
    survey ordered."""
    location = premises_service.create_location(
        session,
        actor=customer.actor,
        data=ServiceLocationCreate(
            address_line=body.site.address_line,
            city=body.site.city,
            location={"type": "Point", "coordinates": [body.site.lon, body.site.lat]},
        ),
    )
    request = connections.submit_request(
        session,
        actor=customer.actor,
        party_id=customer.party_id,
        service_location_id=location.id,
        connection_type=body.connection_type,
        subscribed_kva=body.subscribed_kva,
        source="portal",
    )
    connections.order_survey(session, actor=customer.actor, request_id=request.id)
    return connections.read(session, request)


@router.get("/connection-requests", response_model=list[ConnectionRequestRead])
def my_requests(session: DbSession, customer: CurrentCustomer) -> list[ConnectionRequestRead]:
    return [
        connections.read(session, r)
        for r in connections.requests_of_party(session, customer.party_id)
    ]


@router.get("/connection-requests/{request_id}", response_model=ConnectionRequestRead)
def my_request(
    request_id: Id, session: DbSession, customer: CurrentCustomer
) -> ConnectionRequestRead:
    return connections.read(
        session, connections.request_of_party(session, customer.party_id, request_id)
    )


@router.post("/connection-requests/{request_id}/accept", response_model=ConnectionRequestRead)
def accept(request_id: Id, session: DbSession, customer: CurrentCustomer) -> ConnectionRequestRead:
    request = connections.request_of_party(session, customer.party_id, request_id)
    connections.accept_quote(session, actor=customer.actor, request_id=request.id)
    return connections.read(session, request)


@router.post("/connection-requests/{request_id}/pay", response_model=ConnectionRequestRead)
def pay(
    request_id: Id,
    session: DbSession,
    customer: CurrentCustomer,
    idempotency_key: Annotated[str, Header(alias="Idempotency-Key", min_length=8, max_length=100)],
) -> ConnectionRequestRead:
    """Pay the accepted quote through the (simulated) payment page: the provider's
    confirmation is posted through billing's payments; the key names the transaction, so
    a retried click with the same key answers the same payment, never a second one."""
    request = connections.request_of_party(session, customer.party_id, request_id)
    connections.pay_quote(
        session, actor=customer.actor, request_id=request.id, external_id=f"PAGE-{idempotency_key}"
    )
    return connections.read(session, request)


# --- complaints and requests ---------------------------------------------------------------


class CaseView(BaseModel):
    """A complaint or request as its customer sees it (who handles it inside stays inside)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    case_type: str
    status: str
    subject: str
    description: str
    opened_at: datetime
    sla_working_days: int
    due_date: date = Field(description="Last working day by which it should be resolved")
    late: bool = Field(default=False, description="Past its due date (or resolved after it)")
    resolved_at: datetime | None
    closed_at: datetime | None
    resolution: str | None


class CaseStepView(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    event: str
    from_status: str | None
    to_status: str
    at: datetime


class CaseDetail(CaseView):
    history: list[CaseStepView]


def _case_view(case: Case) -> CaseView:
    return CaseView.model_validate(case).model_copy(update={"late": portal.case_is_late(case)})


@router.get("/cases", response_model=list[CaseView])
def my_cases(session: DbSession, customer: CurrentCustomer) -> list[CaseView]:
    """The customer's complaints and requests with their status and SLA due date."""
    return [_case_view(c) for c in portal.my_cases(session, customer)]


@router.get("/cases/{case_id}", response_model=CaseDetail)
def my_case(case_id: Id, session: DbSession, customer: CurrentCustomer) -> CaseDetail:
    """One of the customer's cases and its steps; another customer's answers 404."""
    case, history = portal.my_case(session, customer, case_id)
    return CaseDetail(
        **_case_view(case).model_dump(),
        history=[CaseStepView.model_validate(h) for h in history],
    )


@router.post("/cases", response_model=CaseView, status_code=201)
def file_case(body: CaseIn, session: DbSession, customer: CurrentCustomer) -> CaseView:
    case = portal.open_my_case(
        session,
        customer,
        case_type=body.case_type,
        subject=body.subject,
        description=body.description,
    )
    return _case_view(case)
