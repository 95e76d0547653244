"""Staff accounts, the companies they work for and the agencies that bound what each of
them may see."""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Text,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models import Base, IdMixin, TimestampMixin

# The company every existing row belongs to (migration 0027 creates it with this id).
DEFAULT_COMPANY_ID = 1


class Company(IdMixin, TimestampMixin, Base):
    """A distribution company (or a region keeping its own books) served by this Kilowatch:
    its own tariffs, numbering series, chart of accounts and dunning policies, kept in
    ``currency`` (ISO 4217) and shown in ``locale`` (a CLDR locale such as ``fr_BJ``)."""

    __territory__ = None  # core.territory.GLOBAL (that module imports this one)
    __tablename__ = "core_company"
    __table_args__ = (CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_iso"),)

    code: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(Text)
    locale: Mapped[str] = mapped_column(Text, default="fr_FR", server_default="fr_FR")


class Agency(IdMixin, TimestampMixin, Base):
    """A utility agency (branch office) of one company: the territory its staff work and
    see."""

    __territory__ = None  # core.territory.GLOBAL (that module imports this one)
    __tablename__ = "core_agency"

    code: Mapped[str] = mapped_column(Text, unique=True)
    company_id: Mapped[int] = mapped_column(
        BigInteger,
        ForeignKey("core_company.id", ondelete="RESTRICT"),
        default=DEFAULT_COMPANY_ID,
        server_default=str(DEFAULT_COMPANY_ID),
        index=True,
    )
    name: Mapped[str] = mapped_column(Text)
    # Territory outline in EPSG:4326; staff of the agency see what lies inside it.
    territory: Mapped[object | None] = mapped_column(
        Geometry("MULTIPOLYGON", srid=4326, spatial_index=True), nullable=True
    )


class User(IdMixin, TimestampMixin, Base):
    """A member of staff who signs in: technician, analyst, cashier, manager, admin ..."""

    __territory__ = None  # core.territory.GLOBAL (that module imports this one)
    __tablename__ = "core_user"
    __table_args__ = (Index("uq_core_user_username_lower", text("lower(username)"), unique=True),)

    username: Mapped[str] = mapped_column(Text)
    full_name: Mapped[str] = mapped_column(Text, default="", server_default="")
    password_hash: Mapped[str] = mapped_column(Text)
    roles: Mapped[list[str]] = mapped_column(ARRAY(Text))
    agency_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("core_agency.id"))
    # The company the user works for unless a request chooses another of theirs
    # (``UserCompany``); an agency's staff work for their agency's company only.
    company_id: Mapped[int] = mapped_column(
        BigInteger,
        ForeignKey("core_company.id", ondelete="RESTRICT"),
        default=DEFAULT_COMPANY_ID,
        server_default=str(DEFAULT_COMPANY_ID),
    )
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The interface language chosen from the pages (fr, en, pt); None: the browser's.
    language: Mapped[str | None] = mapped_column(Text)

    agency: Mapped[Agency | None] = relationship(lazy="joined")


class UserCompany(Base):
    """A further company a member of staff works for (head-office staff of a group), besides
    their own (``User.company_id``): a request may choose it."""

    __territory__ = None  # core.territory.GLOBAL (that module imports this one)
    __tablename__ = "core_user_company"

    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("core_user.id", ondelete="CASCADE"), primary_key=True
    )
    company_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("core_company.id", ondelete="RESTRICT"), primary_key=True
    )


class LoginAttempt(Base):
    """One sign-in attempt, kept to rate-limit password guessing per username and address."""

    __territory__ = None  # core.territory.GLOBAL (that module imports this one)
    __tablename__ = "core_login_attempt"
    __table_args__ = (
        Index("ix_core_login_attempt_username_at", "username", "at"),
        Index("ix_core_login_attempt_client_at", "client_address", "at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(Text)
    client_address: Mapped[str] = mapped_column(Text)
    succeeded: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
