"""Pydantic shapes of the customer domain: what clients send (XCreate / XUpdate) and get
back (XRead). Text never carries NUL bytes and ids fit PostgreSQL's bigint, so bad input is
a 422, never a database error."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    model_validator,
)

from core.inputs import no_nul
from core.pages import BIGINT_MAX
from customers.enums import (
    CaseEvent,
    CasePriority,
    CaseType,
    Commodity,
    ConnectionState,
    ContractRole,
    DeliveryChannel,
    IdentityDocumentType,
    InteractionChannel,
    InteractionDirection,
    PartyKind,
    PhoneKind,
    UsageCategory,
)

MAX_ID = BIGINT_MAX  # ids are PostgreSQL bigints


def _no_nul(value: str) -> str:
    return no_nul(value).strip()


def Text(max_length: int, min_length: int = 0) -> Any:
    return Annotated[
        str, Field(min_length=min_length, max_length=max_length), AfterValidator(_no_nul)
    ]


EntityId = Annotated[int, Field(ge=1, le=MAX_ID)]
Country = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
Language = Annotated[str, Field(pattern=r"^[a-z]{2}$")]
Kva = Annotated[Decimal, Field(gt=0, le=100000, max_digits=10, decimal_places=2)]
Reason = Text(500)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# --- Parties -------------------------------------------------------------------------


class PhoneIn(_In):
    number: Text(40, 3)
    kind: PhoneKind = PhoneKind.MOBILE
    is_primary: bool = False


class IdentityDocumentIn(_In):
    document_type: IdentityDocumentType
    number: Text(64, 2)
    issuing_country: Country | None = Field(
        default=None, description="ISO 3166-1 alpha-2; the deployment's country if omitted"
    )
    valid_until: date | None = None


class PartyCreate(_In):
    kind: PartyKind
    first_name: Text(100) | None = None
    last_name: Text(100) | None = None
    organisation_name: Text(200) | None = None
    display_name: Text(250) | None = Field(
        default=None, description="Defaults to 'first last' or the organisation name"
    )
    birth_date: date | None = None
    language: Language = "fr"
    parent_party_id: EntityId | None = Field(
        default=None, description="The organisation this party is a site or branch of"
    )
    phones: list[PhoneIn] = Field(default_factory=list, max_length=10)
    emails: list[EmailStr] = Field(default_factory=list, max_length=10)
    identity_documents: list[IdentityDocumentIn] = Field(default_factory=list, max_length=10)
    notes: Text(2000) = ""

    @model_validator(mode="after")
    def _named(self) -> PartyCreate:
        if self.kind == PartyKind.PERSON and not (self.last_name or self.display_name):
            raise ValueError("a person needs a last_name (or a display_name)")
        if self.kind == PartyKind.ORGANISATION and not (
            self.organisation_name or self.display_name
        ):
            raise ValueError("an organisation needs an organisation_name")
        return self


class PartyContactsAdd(_In):
    phones: list[PhoneIn] = Field(default_factory=list, max_length=10)
    emails: list[EmailStr] = Field(default_factory=list, max_length=10)
    identity_documents: list[IdentityDocumentIn] = Field(default_factory=list, max_length=10)


class PartyUpdate(_In):
    first_name: Text(100) | None = None
    last_name: Text(100) | None = None
    organisation_name: Text(200) | None = None
    display_name: Text(250, 1) | None = None
    birth_date: date | None = None
    language: Language | None = None
    parent_party_id: EntityId | None = None
    notes: Text(2000) | None = None
    reason: Reason | None = None


class PhoneRead(_Out):
    id: int
    e164: str
    raw: str
    kind: str
    is_primary: bool


class EmailRead(_Out):
    id: int
    email: str
    is_primary: bool


class IdentityDocumentRead(_Out):
    id: int
    document_type: str
    number: str
    issuing_country: str
    valid_until: date | None


class PartyRead(_Out):
    id: int
    kind: str
    display_name: str
    first_name: str | None
    last_name: str | None
    organisation_name: str | None
    birth_date: date | None
    language: str
    parent_party_id: int | None
    agency_id: int | None
    status: str
    merged_into_id: int | None
    merged_at: datetime | None
    notes: str
    phones: list[PhoneRead] = Field(default_factory=list)
    emails: list[EmailRead] = Field(default_factory=list)
    identity_documents: list[IdentityDocumentRead] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime


class DuplicateCandidate(BaseModel):
    """Another party that may be the same customer, with why and how sure (0..1)."""

    party_id: int
    display_name: str
    score: float
    name_similarity: float
    reasons: list[Literal["name", "phone", "identity_document"]]


class PartyCreated(PartyRead):
    likely_duplicates: list[DuplicateCandidate] = Field(default_factory=list)


class MergeRequest(_In):
    duplicate_id: EntityId
    reason: Reason = "duplicate customer record merged"


class MergeResult(BaseModel):
    survivor: PartyRead
    merged_id: int
    moved: dict[str, int] = Field(description="Rows moved to the survivor, per kind")


class SearchHit(BaseModel):
    party_id: int
    display_name: str
    kind: str
    score: float
    matched_on: list[str]


# --- Premises and usage points --------------------------------------------------------


class PointGeometry(BaseModel):
    """A GeoJSON Point (RFC 7946): [longitude, latitude] in WGS 84."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["Point"] = "Point"
    coordinates: Annotated[
        list[Annotated[float, Field(allow_inf_nan=False)]], Field(min_length=2, max_length=2)
    ]

    @model_validator(mode="after")
    def _in_range(self) -> PointGeometry:
        lon, lat = self.coordinates
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise ValueError("coordinates must be [longitude, latitude] in WGS 84")
        return self


class ServiceLocationCreate(_In):
    code: Text(40, 1) | None = Field(default=None, description="Generated when omitted")
    address_line: Text(300) = ""
    unit: Text(50) | None = None
    district: Text(100) | None = None
    city: Text(100) | None = None
    region: Text(100) | None = None
    postal_code: Text(20) | None = None
    country: Country = "BJ"
    landmark: Text(300) | None = None
    location: PointGeometry
    service_point_id: EntityId | None = None


class ServiceLocationUpdate(_In):
    address_line: Text(300) | None = None
    unit: Text(50) | None = None
    district: Text(100) | None = None
    city: Text(100) | None = None
    region: Text(100) | None = None
    postal_code: Text(20) | None = None
    landmark: Text(300) | None = None
    location: PointGeometry | None = None
    service_point_id: EntityId | None = None
    reason: Reason | None = None


class ServiceLocationRead(BaseModel):
    id: int
    code: str
    address_line: str
    unit: str | None
    district: str | None
    city: str | None
    region: str | None
    postal_code: str | None
    country: str
    landmark: str | None
    location: dict[str, Any] | None
    service_point_id: int | None
    service_point_code: str | None = None
    # Inherited from the network service point (never stored here).
    feeder_id: int | None = None
    feeder_code: str | None = None
    transformer_id: int | None = None
    transformer_code: str | None = None
    created_at: datetime
    updated_at: datetime


class UsagePointCreate(_In):
    code: Text(40, 1) | None = Field(default=None, description="Generated when omitted")
    service_location_id: EntityId
    commodity: Commodity = Commodity.ELECTRICITY
    category: UsageCategory
    subscribed_power_kva: Kva
    phases: Literal[1, 3] = 1
    connection_state: ConnectionState = ConnectionState.CONNECTED


class UsagePointUpdate(_In):
    category: UsageCategory | None = None
    phases: Literal[1, 3] | None = None
    connection_state: ConnectionState | None = None
    reason: Reason | None = None


class UsagePointRead(_Out):
    id: int
    code: str
    service_location_id: int
    commodity: str
    category: str
    subscribed_power_kva: Decimal
    phases: int
    connection_state: str
    connection_state_at: datetime
    created_at: datetime
    updated_at: datetime


class Occupant(BaseModel):
    """A party that held a role at the premises over a period (from its contracts)."""

    party_id: int
    display_name: str
    role: str
    contract_id: int
    contract_number: str
    contract_status: str
    usage_point_id: int
    start_date: date
    end_date: date | None


# --- Accounts and contracts -----------------------------------------------------------


class AccountCreate(_In):
    payer_party_id: EntityId
    delivery_channel: DeliveryChannel = DeliveryChannel.PAPER
    delivery_email: EmailStr | None = None
    delivery_phone: Text(40, 3) | None = None
    language: Language = "fr"


class AccountUpdate(_In):
    delivery_channel: DeliveryChannel | None = None
    delivery_email: EmailStr | None = None
    delivery_phone: Text(40, 3) | None = None
    language: Language | None = None
    reason: Reason | None = None


class AccountRead(_Out):
    id: int
    number: str
    payer_party_id: int
    delivery_channel: str
    delivery_email: str | None
    delivery_phone: str | None
    language: str
    status: str
    created_at: datetime
    updated_at: datetime


class RoleIn(_In):
    party_id: EntityId
    role: ContractRole


class RoleRead(_Out):
    party_id: int
    role: str


class MoveInRequest(_In):
    """A new occupant moves in: a contract on the usage point from ``start_date``."""

    usage_point_id: EntityId
    holder_party_id: EntityId
    account_id: EntityId | None = Field(
        default=None, description="Bill to this account; a new one for the payer if omitted"
    )
    payer_party_id: EntityId | None = Field(default=None, description="Defaults to the holder")
    tariff_code: Text(40, 1)
    subscribed_power_kva: Kva | None = Field(
        default=None, description="Defaults to the usage point's subscribed power"
    )
    start_date: date
    roles: list[RoleIn] = Field(
        default_factory=list, max_length=10, description="Owner, tenant ... besides the holder"
    )
    activate: bool = Field(default=True, description="False leaves the contract pending")
    reason: Reason | None = None


class MoveOutRequest(_In):
    end_date: date = Field(description="Supply stops on this day (exclusive end)")
    reason: Reason | None = None


class TransferRequest(_In):
    new_holder_party_id: EntityId
    transfer_date: date
    account_id: EntityId | None = None
    tariff_code: Text(40, 1) | None = None
    reason: Reason | None = None


class ChangePowerRequest(_In):
    subscribed_power_kva: Kva
    effective_date: date
    reason: Reason | None = None


class TerminateRequest(_In):
    end_date: date
    reason: Text(500, 1)


class StepRequest(_In):
    reason: Reason | None = None


class ContractUpdate(_In):
    tariff_code: Text(40, 1) | None = None
    reason: Reason | None = None


class ContractRead(_Out):
    id: int
    number: str
    holder_party_id: int
    usage_point_id: int
    account_id: int
    tariff_code: str
    subscribed_power_kva: Decimal
    start_date: date
    end_date: date | None
    status: str
    status_changed_at: datetime
    previous_contract_id: int | None
    roles: list[RoleRead] = Field(default_factory=list)
    created_at: datetime
    updated_at: datetime


class ContractTransitionRead(_Out):
    id: int
    event: str
    from_status: str
    to_status: str
    reason: str | None
    details: dict[str, Any]
    actor: str
    actor_id: int | None
    at: datetime


class TransferResult(BaseModel):
    previous: ContractRead
    current: ContractRead


# --- Cases and interactions -----------------------------------------------------------


class CaseCreate(_In):
    case_type: CaseType
    subject: Text(200, 1)
    description: Text(5000) = ""
    priority: CasePriority = CasePriority.NORMAL
    party_id: EntityId | None = None
    service_location_id: EntityId | None = None
    usage_point_id: EntityId | None = None
    agency_id: EntityId | None = Field(
        default=None, description="Defaults to the premises' agency, else the caller's"
    )
    opened_at: AwareDatetime | None = Field(
        default=None, description="When the customer raised it (back-dated paper forms)"
    )


class CaseUpdate(_In):
    subject: Text(200, 1) | None = None
    description: Text(5000) | None = None
    priority: CasePriority | None = None
    reason: Reason | None = None


class CaseStepRequest(_In):
    event: CaseEvent
    reason: Reason | None = None
    resolution: Text(2000) | None = None


class CaseAssignRequest(_In):
    assignee_user_id: EntityId | None = None
    assignee_group: Text(50, 1) | None = Field(default=None, description="A role name")
    reason: Reason | None = None

    @model_validator(mode="after")
    def _someone(self) -> CaseAssignRequest:
        if self.assignee_user_id is None and self.assignee_group is None:
            raise ValueError("give assignee_user_id or assignee_group")
        return self


class CaseRead(_Out):
    id: int
    number: str
    case_type: str
    status: str
    priority: str
    subject: str
    description: str
    party_id: int | None
    service_location_id: int | None
    usage_point_id: int | None
    agency_id: int | None
    assignee_user_id: int | None
    assignee_group: str | None
    opened_at: datetime
    sla_working_days: int
    due_date: date
    sla_breached: bool
    resolved_at: datetime | None
    closed_at: datetime | None
    resolution: str | None
    created_at: datetime
    updated_at: datetime


class CaseStatusChangeRead(_Out):
    id: int
    event: str
    from_status: str | None
    to_status: str
    reason: str | None
    actor: str
    actor_id: int | None
    at: datetime


class AssignmentRuleCreate(_In):
    case_type: CaseType
    agency_id: EntityId | None = None
    assignee_user_id: EntityId | None = None
    assignee_group: Text(50, 1) | None = None

    @model_validator(mode="after")
    def _someone(self) -> AssignmentRuleCreate:
        if (self.assignee_user_id is None) == (self.assignee_group is None):
            raise ValueError("give exactly one of assignee_user_id or assignee_group")
        return self


class AssignmentRuleRead(_Out):
    id: int
    case_type: str
    agency_id: int | None
    assignee_user_id: int | None
    assignee_group: str | None


class AttachmentRef(_In):
    """A reference to a stored file (content-addressed), never the bytes."""

    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    filename: Text(255, 1)
    media_type: Annotated[str, Field(max_length=100, pattern=r"^[\w.+-]+/[\w.+-]+$")]
    size_bytes: Annotated[int, Field(ge=0, le=MAX_ID)] | None = None


class InteractionCreate(_In):
    party_id: EntityId
    case_id: EntityId | None = None
    channel: InteractionChannel
    direction: InteractionDirection
    occurred_at: AwareDatetime | None = None
    subject: Text(200) = ""
    notes: Text(10000) = ""
    attachments: list[AttachmentRef] = Field(default_factory=list, max_length=20)


class InteractionRead(_Out):
    id: int
    party_id: int
    case_id: int | None
    channel: str
    direction: str
    occurred_at: datetime
    subject: str
    notes: str
    attachments: list[dict[str, Any]]
    staff_user_id: int | None
    created_at: datetime
