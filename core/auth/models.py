"""Staff accounts and the agencies that bound what each of them may see."""

from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import ARRAY, BigInteger, Boolean, DateTime, ForeignKey, Index, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.models import Base, IdMixin, TimestampMixin


class Agency(IdMixin, TimestampMixin, Base):
    """A utility agency (branch office): the territory its staff work and see."""

    __territory__ = None  # core.territory.GLOBAL (that module imports this one)
    __tablename__ = "core_agency"

    code: Mapped[str] = mapped_column(Text, unique=True)
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
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The interface language chosen from the pages (fr, en, pt); None: the browser's.
    language: Mapped[str | None] = mapped_column(Text)

    agency: Mapped[Agency | None] = relationship(lazy="joined")


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
