"""Customers: parties, premises, usage points, accounts, contracts with roles, cases and
interactions.

Names follow CIM where it has one (ServiceLocation, UsagePoint). Text columns hold enum
values from ``customers.enums``. ``normalized_name`` / ``address_normalized`` are generated
by PostgreSQL with ``customer_normalize_text`` (unaccent + lower + collapsed spaces, created
by migration 0003), so search and duplicate detection compare like with like.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Computed,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    Sequence,
    Text,
    UniqueConstraint,
    exists,
    func,
    or_,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.models import Base, IdMixin, TimestampMixin
from core.territory import Scope, through

# Territory (core.territory): premises are placed by their point; what hangs off them
# (usage points, contracts, roles, cases) by its premises; a party by its agency or its
# roles at premises; a party's details and contacts by the party.

SRID = 4326

PARTY_NAME_SQL = "customer_normalize_text(display_name)"
ADDRESS_SQL = (
    "customer_normalize_text(coalesce(address_line, '') || ' ' || coalesce(unit, '') || ' '"
    " || coalesce(district, '') || ' ' || coalesce(city, '') || ' ' || coalesce(landmark, ''))"
)


class Party(IdMixin, TimestampMixin, Base):
    """A customer: a person or an organisation (an organisation's sites are child parties)."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        """Registered by the agency, or holding a role on a contract at premises inside."""
        at_premises = (
            select(ContractRoleAssignment.id)
            .join(Contract, Contract.id == ContractRoleAssignment.contract_id)
            .join(UsagePoint, UsagePoint.id == Contract.usage_point_id)
            .join(ServiceLocation, ServiceLocation.id == UsagePoint.service_location_id)
            .where(ContractRoleAssignment.party_id == Party.id, scope.covers(ServiceLocation.geom))
            .correlate_except(ContractRoleAssignment, Contract, UsagePoint, ServiceLocation)
        )
        return or_(scope.holds(Party.agency_id), exists(at_premises))

    __tablename__ = "customer_party"
    __table_args__ = (
        Index(
            "ix_customer_party_normalized_name_trgm",
            "normalized_name",
            postgresql_using="gin",
            postgresql_ops={"normalized_name": "gin_trgm_ops"},
        ),
    )

    kind: Mapped[str] = mapped_column(Text)  # PartyKind
    display_name: Mapped[str] = mapped_column(Text)
    first_name: Mapped[str | None] = mapped_column(Text)
    last_name: Mapped[str | None] = mapped_column(Text)
    organisation_name: Mapped[str | None] = mapped_column(Text)
    normalized_name: Mapped[str] = mapped_column(Text, Computed(PARTY_NAME_SQL, persisted=True))
    birth_date: Mapped[date | None] = mapped_column(Date)
    language: Mapped[str] = mapped_column(Text, default="fr", server_default="fr")
    # An organisation's site (or a branch) points at its parent organisation.
    parent_party_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("customer_party.id"), index=True
    )
    # The agency that registered the party: its staff see it before it has premises.
    agency_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("core_agency.id"), index=True
    )
    status: Mapped[str] = mapped_column(Text, default="active", server_default="active")
    merged_into_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("customer_party.id"), index=True
    )
    merged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    notes: Mapped[str] = mapped_column(Text, default="", server_default="")


class IdentityDocument(IdMixin, TimestampMixin, Base):
    """An identity paper a party showed: national id, passport, tax or company number."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        """Where its party is seen."""
        return _party_seen(IdentityDocument.party_id, scope)

    __tablename__ = "customer_identity_document"
    __table_args__ = (
        # The same document cannot belong to two parties: creating one again is a 409.
        UniqueConstraint(
            "document_type",
            "issuing_country",
            "number_normalized",
            name="uq_customer_identity_document_number",
        ),
        Index("ix_customer_identity_document_number_normalized", "number_normalized"),
    )

    party_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("customer_party.id"), index=True)
    document_type: Mapped[str] = mapped_column(Text)  # IdentityDocumentType
    number: Mapped[str] = mapped_column(Text)
    # Upper case, letters and digits only: "ab-12 345" and "AB12345" are one document.
    number_normalized: Mapped[str] = mapped_column(Text)
    issuing_country: Mapped[str] = mapped_column(Text)  # ISO 3166-1 alpha-2
    valid_until: Mapped[date | None] = mapped_column(Date)


class PartyPhone(IdMixin, TimestampMixin, Base):
    """A phone number of a party, normalised to E.164 (as typed is kept too)."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        """Where its party is seen."""
        return _party_seen(PartyPhone.party_id, scope)

    __tablename__ = "customer_party_phone"
    __table_args__ = (UniqueConstraint("party_id", "e164"),)

    party_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("customer_party.id"), index=True)
    e164: Mapped[str] = mapped_column(Text, index=True)
    raw: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text, default="mobile", server_default="mobile")
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")


class PartyEmail(IdMixin, TimestampMixin, Base):
    """An e-mail address of a party (stored lower case)."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        """Where its party is seen."""
        return _party_seen(PartyEmail.party_id, scope)

    __tablename__ = "customer_party_email"
    __table_args__ = (UniqueConstraint("party_id", "email"),)

    party_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("customer_party.id"), index=True)
    email: Mapped[str] = mapped_column(Text, index=True)
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")


class ServiceLocation(IdMixin, TimestampMixin, Base):
    """Premises: a unique, geolocated place supplied through one network service point.

    Its electrical address (feeder, transformer) is read through ``service_point_id`` from
    gis_service_point, never copied, so a re-trace moves the premises with the network.
    """

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        """By its point (premises without coordinates lie in no territory)."""
        return scope.covers(ServiceLocation.geom)

    __tablename__ = "customer_service_location"
    __table_args__ = (
        Index("idx_customer_service_location_geom", "geom", postgresql_using="gist"),
        Index(
            "ix_customer_service_location_address_trgm",
            "address_normalized",
            postgresql_using="gin",
            postgresql_ops={"address_normalized": "gin_trgm_ops"},
        ),
    )

    code: Mapped[str] = mapped_column(Text, unique=True)
    address_line: Mapped[str] = mapped_column(Text, default="", server_default="")
    unit: Mapped[str | None] = mapped_column(Text)  # flat, shop or door within the building
    district: Mapped[str | None] = mapped_column(Text)  # quartier
    city: Mapped[str | None] = mapped_column(Text)  # commune
    region: Mapped[str | None] = mapped_column(Text)  # departement
    postal_code: Mapped[str | None] = mapped_column(Text)
    country: Mapped[str] = mapped_column(Text, default="BJ", server_default="BJ")
    # Where street names are missing, people give directions ("behind the mosque").
    landmark: Mapped[str | None] = mapped_column(Text)
    address_normalized: Mapped[str] = mapped_column(Text, Computed(ADDRESS_SQL, persisted=True))
    geom: Mapped[Any | None] = mapped_column(
        Geometry("POINT", srid=SRID, spatial_index=False), nullable=True
    )
    service_point_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("gis_service_point.id", ondelete="SET NULL"), index=True
    )


class UsagePoint(IdMixin, TimestampMixin, Base):
    """A usage point: what is metered and billed at a premises, for one commodity."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        """By its premises."""
        return _premises_seen(UsagePoint.service_location_id, scope)

    __tablename__ = "customer_usage_point"
    __table_args__ = (UniqueConstraint("service_location_id", "commodity"),)

    code: Mapped[str] = mapped_column(Text, unique=True)
    service_location_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customer_service_location.id"), index=True
    )
    commodity: Mapped[str] = mapped_column(
        Text, default="electricity", server_default="electricity"
    )
    category: Mapped[str] = mapped_column(Text)  # UsageCategory
    subscribed_power_kva: Mapped[float] = mapped_column(Numeric(10, 2))
    phases: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    connection_state: Mapped[str] = mapped_column(
        Text, default="connected", server_default="connected"
    )
    connection_state_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class Account(IdMixin, TimestampMixin, Base):
    """A customer account: who pays, and how bills reach them."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        """Where its payer is seen."""
        return _party_seen(Account.payer_party_id, scope)

    __tablename__ = "customer_account"

    # Sequence number plus a Luhn check digit, so a mistyped number is caught at the desk.
    number: Mapped[str] = mapped_column(Text, unique=True)
    payer_party_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customer_party.id"), index=True
    )
    delivery_channel: Mapped[str] = mapped_column(Text, default="paper", server_default="paper")
    delivery_email: Mapped[str | None] = mapped_column(Text)
    delivery_phone: Mapped[str | None] = mapped_column(Text)  # E.164
    language: Mapped[str] = mapped_column(Text, default="fr", server_default="fr")
    status: Mapped[str] = mapped_column(Text, default="open", server_default="open")


class Contract(IdMixin, TimestampMixin, Base):
    """A supply contract: a party at a usage point, billed to an account on a tariff.

    ``end_date`` is exclusive (supply stops that day), so the next occupant may start the
    same day. No two pending/active contracts of one usage point overlap in time
    (exclusion constraint added by migration 0003).
    """

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        """By the premises of its usage point."""
        return _usage_point_seen(Contract.usage_point_id, scope)

    __tablename__ = "customer_contract"
    __table_args__ = (
        ExcludeConstraint(
            (text("usage_point_id"), "="),
            (text("daterange(start_date, end_date, '[)')"), "&&"),
            name="ex_customer_contract_usage_point_period",
            using="gist",
            where=text("status IN ('pending', 'active')"),
        ),
        # Belt and braces: whatever the dates say, one active contract per usage point.
        Index(
            "uq_customer_contract_active_usage_point",
            "usage_point_id",
            unique=True,
            postgresql_where=text("status = 'active'"),
        ),
    )

    number: Mapped[str] = mapped_column(Text, unique=True)
    holder_party_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customer_party.id"), index=True
    )
    usage_point_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customer_usage_point.id"), index=True
    )
    account_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customer_account.id"), index=True
    )
    tariff_code: Mapped[str] = mapped_column(Text)
    subscribed_power_kva: Mapped[float] = mapped_column(Numeric(10, 2))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(Text, default="pending", server_default="pending")
    status_changed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    # A transfer links the new contract to the one it replaced.
    previous_contract_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("customer_contract.id"), index=True
    )


class ContractRoleAssignment(IdMixin, TimestampMixin, Base):
    """A party's role on a contract: holder, payer, owner or tenant."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        """By its contract."""
        return _contract_seen(ContractRoleAssignment.contract_id, scope)

    __tablename__ = "customer_contract_role"
    __table_args__ = (UniqueConstraint("contract_id", "party_id", "role"),)

    contract_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customer_contract.id"), index=True
    )
    party_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("customer_party.id"), index=True)
    role: Mapped[str] = mapped_column(Text)  # ContractRole


class ContractTransition(IdMixin, Base):
    """One step of a contract process (move-in, move-out, transfer ...): who, when, why."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        """By its contract."""
        return _contract_seen(ContractTransition.contract_id, scope)

    __tablename__ = "customer_contract_transition"

    contract_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("customer_contract.id"), index=True
    )
    event: Mapped[str] = mapped_column(Text)
    from_status: Mapped[str] = mapped_column(Text)
    to_status: Mapped[str] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    actor: Mapped[str] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Case(IdMixin, TimestampMixin, Base):
    """A customer case (complaint, connection request, dispute ...) with its SLA clock."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        """Raised in the agency, or at premises inside."""
        return or_(
            scope.holds(Case.agency_id),
            _premises_seen(Case.service_location_id, scope),
        )

    __tablename__ = "customer_case"
    __table_args__ = (
        Index("ix_customer_case_board", "status", "case_type", "agency_id"),
        Index(
            "ix_customer_case_open_due",
            "due_date",
            postgresql_where=text("status IN ('open', 'in_progress', 'waiting_customer')"),
        ),
    )

    number: Mapped[str] = mapped_column(Text, unique=True)
    case_type: Mapped[str] = mapped_column(Text)  # CaseType
    status: Mapped[str] = mapped_column(Text, default="open", server_default="open")
    priority: Mapped[str] = mapped_column(Text, default="normal", server_default="normal")
    subject: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    party_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("customer_party.id"), index=True
    )
    service_location_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("customer_service_location.id"), index=True
    )
    usage_point_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("customer_usage_point.id"), index=True
    )
    agency_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("core_agency.id"), index=True
    )
    assignee_user_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("core_user.id"), index=True
    )
    assignee_group: Mapped[str | None] = mapped_column(Text, index=True)  # a role name
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    sla_working_days: Mapped[int] = mapped_column(Integer)
    # Last working day (utility's calendar) by which the case must be resolved.
    due_date: Mapped[date] = mapped_column(Date)
    sla_breached: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolution: Mapped[str | None] = mapped_column(Text)


class CaseStatusChange(IdMixin, Base):
    """One status change (or re-assignment) of a case: who, when, from, to, why."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        """By its case."""
        return (
            exists()
            .where(Case.id == CaseStatusChange.case_id, Case.__territory__(scope))
            .correlate_except(Case)
        )

    __tablename__ = "customer_case_status_change"

    case_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("customer_case.id"), index=True)
    event: Mapped[str] = mapped_column(Text)
    from_status: Mapped[str | None] = mapped_column(Text)
    to_status: Mapped[str] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class CaseAssignmentRule(IdMixin, TimestampMixin, Base):
    """Who gets new cases of a type in an agency: a named user or a group (role).

    A rule with no agency applies everywhere; the agency-specific rule wins.
    """

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        """The agency's own rules and the general ones (no agency); another
        agency's rules are outside."""
        return or_(
            scope.holds(CaseAssignmentRule.agency_id),
            CaseAssignmentRule.agency_id.is_(None),
        )

    __tablename__ = "customer_case_assignment_rule"
    __table_args__ = (
        Index(
            "uq_customer_case_assignment_rule_type_agency",
            "case_type",
            text("coalesce(agency_id, 0)"),
            unique=True,
        ),
    )

    case_type: Mapped[str] = mapped_column(Text)
    agency_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("core_agency.id"))
    assignee_user_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("core_user.id"))
    assignee_group: Mapped[str | None] = mapped_column(Text)


class Interaction(IdMixin, TimestampMixin, Base):
    """One contact with a customer on any channel, inbound or outbound."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        """Where its party is seen."""
        return _party_seen(Interaction.party_id, scope)

    __tablename__ = "customer_interaction"
    __table_args__ = (Index("ix_customer_interaction_party_at", "party_id", "occurred_at"),)

    party_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("customer_party.id"))
    case_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("customer_case.id"), index=True
    )
    channel: Mapped[str] = mapped_column(Text)  # InteractionChannel
    direction: Mapped[str] = mapped_column(Text)  # InteractionDirection
    occurred_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    subject: Mapped[str] = mapped_column(Text, default="", server_default="")
    notes: Mapped[str] = mapped_column(Text, default="", server_default="")
    # References to stored files (sha256, name, media type), never the bytes themselves.
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, default=list, server_default="[]"
    )
    staff_user_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("core_user.id"))


# The rules' subqueries name the tables they look through (``correlate_except``), so they
# stay correct inside queries that already join those tables.


def _party_seen(party_id: Any, scope: Scope) -> ColumnElement[bool]:
    return through(Party, party_id, scope)


def _premises_seen(location_id: Any, scope: Scope) -> ColumnElement[bool]:
    return through(ServiceLocation, location_id, scope)


def _usage_point_seen(usage_point_id: Any, scope: Scope) -> ColumnElement[bool]:
    return through(UsagePoint, usage_point_id, scope)


def _contract_seen(contract_id: Any, scope: Scope) -> ColumnElement[bool]:
    return through(Contract, contract_id, scope)


# Created by migration 0003; numbers shown to people and default codes come from them.
ACCOUNT_NUMBER_SEQ = Sequence("customer_account_number_seq")
CONTRACT_NUMBER_SEQ = Sequence("customer_contract_number_seq")
CASE_NUMBER_SEQ = Sequence("customer_case_number_seq")
SERVICE_LOCATION_CODE_SEQ = Sequence("customer_service_location_code_seq")
USAGE_POINT_CODE_SEQ = Sequence("customer_usage_point_code_seq")
