"""Tariff queries. ``versions_for`` is THE look-up rating uses: it turns stored versions
into the plain ``TariffVersions`` the pure ``rate`` function takes."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from billing.tariffs.definition import TariffDefinition
from billing.tariffs.errors import TariffNotFoundError, TariffNotInForceError
from billing.tariffs.models import Tariff, TariffVersion
from billing.tariffs.proration import DatedVersion, TariffVersions
from core.context import Actor
from core.pages import paginate
from core.periods import Period
from core.territory import visible


def tariff_by_code(
    session: Session, code: str, *, actor: Actor | None = None, for_update: bool = False
) -> Tariff | None:
    """The tariff ``code`` (of ``actor``'s company when given: another's is not found)."""
    query = select(Tariff).where(Tariff.code == code)
    if actor is not None:
        query = query.where(visible(actor, Tariff))
    if for_update:
        query = query.with_for_update()
    return session.scalars(query).one_or_none()


def require_tariff(
    session: Session, code: str, *, actor: Actor | None = None, for_update: bool = False
) -> Tariff:
    tariff = tariff_by_code(session, code, actor=actor, for_update=for_update)
    if tariff is None:
        raise TariffNotFoundError(f"no tariff {code}")
    return tariff


def tariffs_page(
    session: Session, actor: Actor, *, q: str | None, offset: int, limit: int
) -> tuple[list[Tariff], int]:
    """``actor``'s company's tariffs by code, optionally those whose code or name contains
    ``q``."""
    query = select(Tariff).where(visible(actor, Tariff)).order_by(Tariff.code)
    if q:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(Tariff.code.ilike(pattern), Tariff.name.ilike(pattern)))
    return paginate(session, query, offset=offset, limit=limit)


def versions_of(session: Session, tariff_id: int) -> list[TariffVersion]:
    """A tariff's versions, oldest first."""
    return list(
        session.scalars(
            select(TariffVersion)
            .where(TariffVersion.tariff_id == tariff_id)
            .order_by(TariffVersion.effective_from)
        )
    )


def last_version_number(session: Session, tariff_id: int) -> int:
    found = session.scalar(
        select(func.max(TariffVersion.version)).where(TariffVersion.tariff_id == tariff_id)
    )
    return int(found or 0)


def as_dated(version: TariffVersion) -> DatedVersion:
    return DatedVersion(
        effective_from=version.effective_from,
        definition=TariffDefinition.model_validate(version.definition),
        version=version.version,
    )


def versions_for(
    session: Session, code: str, period: Period | None = None, *, actor: Actor | None = None
) -> TariffVersions:
    """The tariff's versions that price ``period`` (the one in force on its first day and
    every one starting inside it; all of them without a period), ready for ``rate``."""
    tariff = require_tariff(session, code, actor=actor)
    query = select(TariffVersion).where(TariffVersion.tariff_id == tariff.id)
    if period is not None:
        opening = (
            select(func.max(TariffVersion.effective_from))
            .where(
                TariffVersion.tariff_id == tariff.id,
                TariffVersion.effective_from <= period.start,
            )
            .scalar_subquery()
        )
        query = query.where(
            TariffVersion.effective_from < period.end,
            or_(TariffVersion.effective_from >= opening, opening.is_(None)),
        )
    versions = session.scalars(query.order_by(TariffVersion.effective_from)).all()
    if not versions:
        raise TariffNotInForceError(f"tariff {code} has no version in force for that period")
    return TariffVersions(tariff.code, tariff.currency, tuple(as_dated(v) for v in versions))
