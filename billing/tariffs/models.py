"""Tariffs as dated, versioned data.

A ``Tariff`` is a published rate schedule ("BT1 domestique", "B1 residencial"); each
``TariffVersion`` is what it says from ``effective_from`` until the next version's date.
A version is never edited (a trigger of migration 0008 refuses it): a price change is a new
version, so every bill ever issued can be rated again with exactly what was in force.
Tariffs are the same for every agency (``GLOBAL``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.auth.models import DEFAULT_COMPANY_ID
from core.models import Base, IdMixin, TimestampMixin
from core.territory import COMPANY, company_of


class Tariff(IdMixin, TimestampMixin, Base):
    """A published tariff (rate schedule) of the utility, in one currency, named by a
    stable code that contracts refer to."""

    __tablename__ = "billing_tariff"
    __table_args__ = (CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_iso"),)

    __territory__ = COMPANY  # each company's own tariff book

    code: Mapped[str] = mapped_column(Text, unique=True)
    company_id: Mapped[int] = mapped_column(
        BigInteger,
        ForeignKey("core_company.id", ondelete="RESTRICT"),
        default=DEFAULT_COMPANY_ID,
        server_default=str(DEFAULT_COMPANY_ID),
        index=True,
    )
    name: Mapped[str] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="", server_default="")


class TariffVersion(IdMixin, Base):
    """One version of a tariff: its components (``billing.tariffs.definition``, as JSON)
    in force from ``effective_from`` until the next version of the same tariff starts."""

    __tablename__ = "billing_tariff_version"
    __table_args__ = (
        UniqueConstraint("tariff_id", "version"),
        UniqueConstraint("tariff_id", "effective_from"),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    __territory__ = company_of(Tariff, "tariff_id")

    tariff_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("billing_tariff.id", ondelete="RESTRICT"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    effective_from: Mapped[date] = mapped_column(Date)
    definition: Mapped[dict[str, Any]] = mapped_column(JSONB)
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    created_by: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("core_user.id", ondelete="SET NULL")
    )
