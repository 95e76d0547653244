"""Tariff book keeping: create tariffs, publish versions, import and export documents, and
the bill calculator. Services flush, never commit."""

from __future__ import annotations

from typing import Literal

from sqlalchemy.orm import Session

from billing.tariffs import repository
from billing.tariffs.documents import render_document
from billing.tariffs.errors import (
    TariffCodeTakenError,
    TariffVersionConflictError,
    TariffVersionNotFoundError,
)
from billing.tariffs.models import Tariff, TariffVersion
from billing.tariffs.rating import Bill, BillableUsage, rate
from billing.tariffs.schemas import (
    ImportReport,
    SimulateRequest,
    TariffCreate,
    TariffVersionCreate,
)
from core.context import Actor
from core.flush import by_constraint, flush_guarded
from core.periods import Period


def _stored(version: TariffVersionCreate) -> dict[str, object]:
    """A definition as stored: every field, by its document name, JSON-typed, so two
    documents saying the same thing store the same JSON."""
    return version.definition.model_dump(mode="json", by_alias=True)


def create_tariff(session: Session, *, actor: Actor, data: TariffCreate) -> Tariff:
    """A new tariff with the versions the document holds."""
    if repository.tariff_by_code(session, data.code) is not None:
        raise TariffCodeTakenError(f"a tariff {data.code} already exists")
    tariff = Tariff(
        code=data.code, name=data.name, currency=data.currency, description=data.description
    )
    if actor.company_id is not None:
        tariff.company_id = actor.company_id  # the tariff book of the author's company

    def add() -> None:  # a concurrent twin is refused by the unique code
        session.add(tariff)
        session.flush()

    flush_guarded(
        session,
        by_constraint(
            {"uq_billing_tariff_code": lambda: TariffCodeTakenError(f"{data.code} taken")}
        ),
        apply=add,
    )
    for version in sorted(data.versions, key=lambda v: v.effective_from):
        add_version(session, actor=actor, code=tariff.code, data=version)
    return tariff


def add_version(
    session: Session, *, actor: Actor, code: str, data: TariffVersionCreate
) -> TariffVersion:
    """Publish a version from ``data.effective_from`` (numbered after the last one). The
    tariff row is locked so that two publications never take the same number."""
    tariff = repository.require_tariff(session, code, actor=actor, for_update=True)
    version = TariffVersion(
        tariff_id=tariff.id,
        version=repository.last_version_number(session, tariff.id) + 1,
        effective_from=data.effective_from,
        definition=_stored(data),
        note=data.note,
        created_by=actor.user_id,
    )

    def add() -> None:
        session.add(version)

    flush_guarded(
        session,
        by_constraint(
            {
                "uq_billing_tariff_version_tariff_id_effective_from": lambda: (
                    TariffVersionConflictError(
                        f"a version of {code} already starts on {data.effective_from}: "
                        "publish from another day"
                    )
                )
            }
        ),
        apply=add,
    )
    return version


def get_version(
    session: Session, *, code: str, number: int, actor: Actor | None = None
) -> TariffVersion:
    tariff = repository.require_tariff(session, code, actor=actor)
    for version in repository.versions_of(session, tariff.id):
        if version.version == number:
            return version
    raise TariffVersionNotFoundError(f"tariff {code} has no version {number}")


def import_document(session: Session, *, actor: Actor, document: TariffCreate) -> ImportReport:
    """Create the tariff if new, then publish each version not yet there. A version on a
    date already taken must say the same thing (then it is left alone), else the import is
    refused: versions are never edited."""
    tariff = repository.tariff_by_code(session, document.code, actor=actor, for_update=True)
    created = tariff is None
    if tariff is None:
        tariff = create_tariff(
            session, actor=actor, data=document.model_copy(update={"versions": []})
        )
    existing = {v.effective_from: v for v in repository.versions_of(session, tariff.id)}
    added, unchanged = [], []
    for version in sorted(document.versions, key=lambda v: v.effective_from):
        present = existing.get(version.effective_from)
        if present is None:
            added.append(add_version(session, actor=actor, code=tariff.code, data=version).version)
        elif present.definition == _stored(version):
            unchanged.append(present.version)
        else:
            raise TariffVersionConflictError(
                f"version {present.version} of {tariff.code} ({version.effective_from}) says "
                "something else: publish the change as a new version from a later date"
            )
    return ImportReport(
        code=tariff.code, created=created, versions_added=added, versions_unchanged=unchanged
    )


def export_document(
    session: Session, *, code: str, fmt: Literal["yaml", "json"], actor: Actor | None = None
) -> str:
    tariff = repository.require_tariff(session, code, actor=actor)
    versions = [
        TariffVersionCreate(
            effective_from=v.effective_from,
            note=v.note,
            definition=repository.as_dated(v).definition,
        )
        for v in repository.versions_of(session, tariff.id)
    ]
    document = TariffCreate(
        code=tariff.code,
        name=tariff.name,
        currency=tariff.currency,
        description=tariff.description,
        versions=versions,
    )
    return render_document(document, fmt)


def simulate(
    session: Session, *, code: str, request: SimulateRequest, actor: Actor | None = None
) -> Bill:
    """The bill calculator: ``request`` rated with the versions in force, nothing stored."""
    period = Period(request.start, request.end)
    usage = BillableUsage(
        period=period,
        kwh=request.kwh,
        category=request.category,
        connection_type=request.connection_type,
        subscribed_kva=request.subscribed_kva,
    )
    return rate(repository.versions_for(session, code, period, actor=actor), usage)
