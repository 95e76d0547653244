"""Parties: registration (with duplicate detection), contact details, identity documents,
and the merge of a duplicate into its survivor. Functions flush, never commit."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session, aliased

from core.context import Actor
from core.db import state_reason
from core.errors import FieldError
from core.flush import by_constraint, flush_guarded
from core.outbox import emit
from core.territory import scope_of
from customers import repository
from customers.duplicates import DuplicatePair, duplicates_of
from customers.enums import PartyKind, PartyStatus
from customers.errors import (
    PartyDocumentExistsError,
    PartyMergedError,
    PartyMergeInvalidError,
    PartyNotFoundError,
    ReferenceUnknownError,
)
from customers.events import PartyMerged
from customers.models import (
    Account,
    Case,
    Contract,
    ContractRoleAssignment,
    IdentityDocument,
    Interaction,
    Party,
    PartyEmail,
    PartyPhone,
)
from customers.normalize import default_region, normalize_document_number, normalize_phone
from customers.schemas import (
    DuplicateCandidate,
    EmailRead,
    IdentityDocumentIn,
    IdentityDocumentRead,
    PartyCreate,
    PartyRead,
    PartyUpdate,
    PhoneIn,
    PhoneRead,
)


def _display_name(data: PartyCreate | PartyUpdate, party: Party | None = None) -> str | None:
    if data.display_name:
        return data.display_name
    first = data.first_name if data.first_name is not None else (party and party.first_name)
    last = data.last_name if data.last_name is not None else (party and party.last_name)
    org = (
        data.organisation_name
        if data.organisation_name is not None
        else (party and party.organisation_name)
    )
    kind = party.kind if party else data.kind  # type: ignore[union-attr]
    if kind == PartyKind.ORGANISATION:
        return org or None
    return " ".join(p for p in (first, last) if p) or None


def require_party(session: Session, actor: Actor, party_id: int, field: str) -> Party:
    """A party named in a request body: 422 when unknown or out of sight, 409 when merged."""
    try:
        party = repository.get_party(session, actor, party_id)
    except PartyNotFoundError as exc:
        raise ReferenceUnknownError(
            f"no customer {party_id}",
            errors=[FieldError(field, f"no customer {party_id}", "reference_unknown")],
        ) from exc
    if party.status == PartyStatus.MERGED:
        raise PartyMergedError(
            f"customer {party_id} was merged into {party.merged_into_id}",
            errors=[FieldError(field, "customer was merged", "party_merged")],
        )
    return party


def _add_phones(session: Session, party: Party, phones: Iterable[PhoneIn], offset: int = 0) -> None:
    seen: set[str] = set(
        session.scalars(select(PartyPhone.e164).where(PartyPhone.party_id == party.id))
    )
    for index, phone in enumerate(phones):
        e164 = normalize_phone(phone.number, field=f"phones/{index + offset}/number")
        if e164 in seen:
            continue
        seen.add(e164)
        session.add(
            PartyPhone(
                party_id=party.id,
                e164=e164,
                raw=phone.number,
                kind=phone.kind.value,
                is_primary=phone.is_primary,
            )
        )


def _add_emails(session: Session, party: Party, emails: Iterable[str]) -> None:
    seen: set[str] = set(
        session.scalars(select(PartyEmail.email).where(PartyEmail.party_id == party.id))
    )
    for index, email in enumerate(emails):
        address = str(email).strip().lower()
        if address in seen:
            continue
        seen.add(address)
        session.add(PartyEmail(party_id=party.id, email=address, is_primary=index == 0))


def _add_documents(session: Session, party: Party, documents: Iterable[IdentityDocumentIn]) -> None:
    for index, document in enumerate(documents):
        number = normalize_document_number(document.number)
        country = document.issuing_country or default_region()
        owner = session.scalar(
            select(IdentityDocument.party_id).where(
                IdentityDocument.document_type == document.document_type.value,
                IdentityDocument.issuing_country == country,
                IdentityDocument.number_normalized == number,
            )
        )
        if owner is not None and owner != party.id:
            raise PartyDocumentExistsError(
                f"{document.document_type.value} {document.number} ({country}) already "
                f"belongs to customer {owner}",
                errors=[
                    FieldError(
                        f"identity_documents/{index}/number",
                        f"already belongs to customer {owner}",
                        "party_identity_document_exists",
                    )
                ],
            )
        if owner == party.id:
            continue
        session.add(
            IdentityDocument(
                party_id=party.id,
                document_type=document.document_type.value,
                number=document.number,
                number_normalized=number,
                issuing_country=country,
                valid_until=document.valid_until,
            )
        )


# A lost race on the document's unique key is a clean 409.
DOCUMENT_TAKEN = by_constraint(
    {
        "uq_customer_identity_document_number": lambda: PartyDocumentExistsError(
            "this identity document already belongs to a customer"
        )
    }
)


def _flush(session: Session, apply: Callable[[], object]) -> None:
    flush_guarded(session, DOCUMENT_TAKEN, apply)


def create_party(
    session: Session, *, actor: Actor, data: PartyCreate
) -> tuple[Party, list[DuplicatePair]]:
    """Register a party; returns it with its likely duplicates (creation still succeeds,
    except when one of its identity documents already belongs to someone: 409)."""
    if data.parent_party_id is not None:
        require_party(session, actor, data.parent_party_id, "parent_party_id")
    display_name = _display_name(data)
    party = Party(
        kind=data.kind.value,
        display_name=display_name,
        first_name=data.first_name,
        last_name=data.last_name,
        organisation_name=data.organisation_name,
        birth_date=data.birth_date,
        language=data.language,
        parent_party_id=data.parent_party_id,
        agency_id=actor.agency_id,
        notes=data.notes,
        status=PartyStatus.ACTIVE.value,
    )
    session.add(party)
    session.flush()
    _add_phones(session, party, data.phones)
    _add_emails(session, party, data.emails)
    _flush(session, lambda: _add_documents(session, party, data.identity_documents))
    session.refresh(party)  # the generated normalized_name
    return party, find_duplicates(session, actor=actor, party=party)


def find_duplicates(session: Session, *, actor: Actor, party: Party) -> list[DuplicatePair]:
    visible = repository.visible_party_ids(actor) if scope_of(actor) is not None else None
    return duplicates_of(session, party.id, visible_ids=visible)


def update_party(session: Session, *, actor: Actor, party_id: int, data: PartyUpdate) -> Party:
    party = repository.get_party(session, actor, party_id, lock=True)
    if party.status == PartyStatus.MERGED:
        raise PartyMergedError(f"customer {party_id} was merged into {party.merged_into_id}")
    state_reason(session, data.reason)
    changes = data.model_dump(exclude_unset=True, exclude={"reason"})
    if "parent_party_id" in changes and changes["parent_party_id"] is not None:
        if changes["parent_party_id"] == party.id:
            raise ReferenceUnknownError(
                "a party cannot be its own parent",
                errors=[FieldError("parent_party_id", "cannot be the party itself")],
            )
        require_party(session, actor, changes["parent_party_id"], "parent_party_id")
    for field, value in changes.items():
        if field != "display_name":
            setattr(party, field, value)
    name = changes.get("display_name") or _display_name(data, party)
    if name:
        party.display_name = name
    session.flush()
    session.refresh(party)
    return party


def add_contacts(
    session: Session,
    *,
    actor: Actor,
    party_id: int,
    phones: list[PhoneIn],
    emails: list[str],
    documents: list[IdentityDocumentIn],
) -> Party:
    party = repository.get_party(session, actor, party_id, lock=True)
    if party.status == PartyStatus.MERGED:
        raise PartyMergedError(f"customer {party_id} was merged into {party.merged_into_id}")
    _add_phones(session, party, phones)
    _add_emails(session, party, emails)
    _flush(session, lambda: _add_documents(session, party, documents))
    return party


def merge_parties(
    session: Session, *, actor: Actor, survivor_id: int, duplicate_id: int, reason: str
) -> tuple[Party, dict[str, int]]:
    """Fold ``duplicate`` into ``survivor``: every contract role, contract, account, case,
    interaction, document, phone and e-mail moves; the duplicate stays, marked merged into
    the survivor, so both histories (and their audit rows) are kept."""
    if survivor_id == duplicate_id:
        raise PartyMergeInvalidError("a customer cannot be merged into itself")
    # Lock both in id order so two concurrent merges of the same pair cannot deadlock.
    first, second = sorted((survivor_id, duplicate_id))
    locked = {
        p.id: p
        for p in (
            repository.get_party(session, actor, first, lock=True),
            repository.get_party(session, actor, second, lock=True),
        )
    }
    survivor, duplicate = locked[survivor_id], locked[duplicate_id]
    for party in (survivor, duplicate):
        if party.status == PartyStatus.MERGED:
            raise PartyMergedError(
                f"customer {party.id} was already merged into {party.merged_into_id}"
            )
    if survivor.kind != duplicate.kind:
        raise PartyMergeInvalidError("a person and an organisation cannot be merged")
    state_reason(session, reason)
    was_site_of_duplicate = survivor.parent_party_id == duplicate.id
    inherited_parent = duplicate.parent_party_id
    moved = _move_everything(session, survivor_id, duplicate_id)
    if was_site_of_duplicate:
        survivor.parent_party_id = inherited_parent
    # One statement, so the audit trail shows the merge as one change.
    session.execute(
        update(Party)
        .where(Party.id == duplicate_id)
        .values(
            status=PartyStatus.MERGED.value, merged_into_id=survivor_id, merged_at=datetime.now(UTC)
        )
        .execution_options(synchronize_session=False)
    )
    session.flush()
    session.expire(duplicate)
    emit(
        session,
        PartyMerged(survivor_id=survivor_id, duplicate_id=duplicate_id, reason=reason),
    )
    session.refresh(survivor)
    return survivor, moved


def _move_everything(session: Session, survivor_id: int, duplicate_id: int) -> dict[str, int]:
    moved: dict[str, int] = {}

    def move(label: str, model: Any, column: str, *, unique_with: tuple[str, ...] = ()) -> None:
        col = getattr(model, column)
        query = update(model).where(col == duplicate_id)
        if unique_with:
            # A row the survivor already has (same phone, same role ...) would clash: the
            # identical copy stays with the duplicate instead, which loses nothing.
            twin = aliased(model)
            same = [getattr(twin, c) == getattr(model, c) for c in unique_with]
            query = query.where(~exists().where(getattr(twin, column) == survivor_id, *same))
        result = session.execute(
            query.values({column: survivor_id}).execution_options(synchronize_session=False)
        )
        moved[label] = moved.get(label, 0) + (result.rowcount or 0)

    move("contract_roles", ContractRoleAssignment, "party_id", unique_with=("contract_id", "role"))
    move("contracts", Contract, "holder_party_id")
    move("accounts", Account, "payer_party_id")
    move("cases", Case, "party_id")
    move("interactions", Interaction, "party_id")
    move("identity_documents", IdentityDocument, "party_id")
    move("phones", PartyPhone, "party_id", unique_with=("e164",))
    move("emails", PartyEmail, "party_id", unique_with=("email",))
    move("sites", Party, "parent_party_id")
    # Parties merged into the duplicate earlier now point at the final survivor.
    session.execute(
        update(Party)
        .where(Party.merged_into_id == duplicate_id)
        .values(merged_into_id=survivor_id)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Party)
        .where(Party.id == survivor_id, Party.parent_party_id == survivor_id)
        .values(parent_party_id=None)
        .execution_options(synchronize_session=False)
    )
    session.expire_all()
    return moved


def party_reads(session: Session, parties: list[Party]) -> list[PartyRead]:
    """Parties with their phones, e-mails and documents (three queries for the page)."""
    details = repository.party_details(session, [p.id for p in parties])
    return [
        PartyRead.model_validate(party).model_copy(
            update={
                "phones": [PhoneRead.model_validate(x) for x in details[party.id]["phones"]],
                "emails": [EmailRead.model_validate(x) for x in details[party.id]["emails"]],
                "identity_documents": [
                    IdentityDocumentRead.model_validate(x)
                    for x in details[party.id]["identity_documents"]
                ],
            }
        )
        for party in parties
    ]


def candidates(pairs: list[DuplicatePair]) -> list[DuplicateCandidate]:
    return [
        DuplicateCandidate(
            party_id=p.other_id,
            display_name=p.other_name,
            score=p.score,
            name_similarity=p.name_similarity,
            reasons=list(p.reasons),  # type: ignore[arg-type]
        )
        for p in pairs
    ]
