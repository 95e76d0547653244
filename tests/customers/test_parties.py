"""Parties: phone normalisation, duplicate detection on create and on demand, merge."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.audit import AuditLog
from core.context import Actor
from core.outbox import OutboxEvent
from customers import service
from customers.duplicates import scan_duplicates
from customers.errors import PartyDocumentExistsError, PartyMergedError, PhoneInvalidError
from customers.models import Case, Contract, ContractRoleAssignment, Party, PartyPhone
from customers.normalize import normalize_phone
from customers.schemas import CaseCreate, PartyCreate
from tests.customers.conftest import make_party, make_premises, move_in


def test_phone_numbers_written_any_way_normalise_to_one_e164() -> None:
    # Benin prefixed every 8-digit number with 01 in Nov. 2024; people still write the old form.
    assert normalize_phone("+229 97 12 34 56") == "+2290197123456"
    assert normalize_phone("97123456") == "+2290197123456"
    assert normalize_phone("01 97 12 34 56") == "+2290197123456"
    assert normalize_phone("+33 6 12 34 56 78") == "+33612345678"
    with pytest.raises(PhoneInvalidError):
        normalize_phone("12")


def test_typo_in_name_and_same_phone_written_differently_is_a_likely_duplicate(
    db: Session, actor: Actor
) -> None:
    first, first_dups = service.create_party(
        db,
        actor=actor,
        data=PartyCreate(
            kind="person",
            first_name="Koffi",
            last_name="Mensah",
            phones=[{"number": "+229 97 12 34 56"}],
        ),
    )
    assert first_dups == []
    second, dups = service.create_party(
        db,
        actor=actor,
        data=PartyCreate(
            kind="person", first_name="Kofi", last_name="Mensah", phones=[{"number": "97123456"}]
        ),
    )
    assert second.id != first.id  # creation still succeeds
    assert second.normalized_name == "kofi mensah"
    assert [d.other_id for d in dups] == [first.id]
    # similarity('koffi mensah', 'kofi mensah') = 0.786 (pg_trgm): 0.6 * 0.786 + 0.25 = 0.721
    assert dups[0].name_similarity == 0.786
    assert dups[0].score == 0.721
    assert dups[0].reasons == ("name", "phone")
    # On demand, from the other side, the same pair.
    again = service.find_duplicates(db, actor=actor, party=first)
    assert [(d.other_id, d.score) for d in again] == [(second.id, 0.721)]
    # And in a full scan, once.
    pairs = [
        p
        for _, batch in scan_duplicates(db)
        for p in batch
        if {p.party_id, p.other_id} == {first.id, second.id}
    ]
    assert len(pairs) == 1


def test_same_phone_alone_is_not_a_likely_duplicate(db: Session, actor: Actor) -> None:
    make_party(db, first_name="Aminata", last_name="Diallo", phones=[{"number": "96000001"}])
    _, dups = service.create_party(
        db,
        actor=actor,
        data=PartyCreate(
            kind="person", first_name="Jean", last_name="Houngbo", phones=[{"number": "96000001"}]
        ),
    )
    assert dups == []  # a shared family phone scores 0.25 + a low name similarity


def test_identical_identity_document_is_a_conflict(db: Session, actor: Actor) -> None:
    doc = {"document_type": "national_id", "number": "ab-1234567", "issuing_country": "BJ"}
    make_party(db, last_name="Adjovi", identity_documents=[doc])
    with pytest.raises(PartyDocumentExistsError):
        make_party(db, last_name="Adjovi", identity_documents=[{**doc, "number": "AB 1234567"}])


def test_merge_keeps_every_contract_case_and_audit_row_of_both(db: Session, actor: Actor) -> None:
    survivor = make_party(
        db, first_name="Koffi", last_name="Mensah", phones=[{"number": "97123456"}]
    )
    duplicate = make_party(
        db,
        first_name="Kofi",
        last_name="Mensah",
        phones=[{"number": "+229 97 12 34 56"}, {"number": "96111111"}],
    )
    _, up1 = make_premises(db, address="Lot 1 Fidjrosse")
    _, up2 = make_premises(db, address="Lot 2 Cadjehoun", lon=2.40)
    c1 = move_in(db, survivor, up1, date(2024, 1, 1))
    c2 = move_in(db, duplicate, up2, date(2024, 2, 1))
    for party in (survivor, duplicate):
        service.open_case(
            db,
            actor=actor,
            data=CaseCreate(case_type="complaint", subject="bill", party_id=party.id),
        )
    db.flush()

    def audit_rows() -> int:
        return db.scalar(
            select(func.count())
            .select_from(AuditLog)
            .where(
                AuditLog.table_name == "customer_party",
                AuditLog.entity_key.in_([str(survivor.id), str(duplicate.id)]),
            )
        )

    audit_before = audit_rows()
    merged, moved = service.merge_parties(
        db,
        actor=actor,
        survivor_id=survivor.id,
        duplicate_id=duplicate.id,
        reason="same person, typo at registration",
    )
    assert moved["contracts"] == 1 and moved["cases"] == 1 and moved["contract_roles"] == 2
    # The shared phone stays with the duplicate (the survivor has it); the other one moves.
    assert moved["phones"] == 1
    contracts = db.scalars(select(Contract.id).where(Contract.holder_party_id == merged.id)).all()
    assert sorted(contracts) == sorted([c1.id, c2.id])
    assert db.scalar(select(func.count()).where(Case.party_id == merged.id)) == 2
    roles = db.scalars(
        select(ContractRoleAssignment.party_id).where(
            ContractRoleAssignment.contract_id.in_([c1.id, c2.id])
        )
    ).all()
    assert set(roles) == {merged.id}
    phones = db.scalars(select(PartyPhone.e164).where(PartyPhone.party_id == merged.id)).all()
    assert sorted(phones) == ["+2290196111111", "+2290197123456"]
    kept = db.get(Party, duplicate.id)
    assert (kept.status, kept.merged_into_id) == ("merged", merged.id)  # never deleted
    # Audit: nothing removed, and the merge itself recorded with its reason.
    assert audit_rows() == audit_before + 1
    merge_row = db.scalar(
        select(AuditLog)
        .where(
            AuditLog.table_name == "customer_party",
            AuditLog.entity_key == str(duplicate.id),
            AuditLog.action == "update",
        )
        .order_by(AuditLog.id.desc())
        .limit(1)
    )
    assert merge_row.reason == "same person, typo at registration"
    assert merge_row.after["merged_into_id"] == merged.id
    moved_contract = db.scalar(
        select(AuditLog)
        .where(
            AuditLog.table_name == "customer_contract",
            AuditLog.entity_key == str(c2.id),
            AuditLog.action == "update",
        )
        .order_by(AuditLog.id.desc())
        .limit(1)
    )
    assert moved_contract.before == {"holder_party_id": duplicate.id}
    assert moved_contract.after == {"holder_party_id": merged.id}
    assert (
        db.scalar(
            select(func.count())
            .select_from(OutboxEvent)
            .where(OutboxEvent.name == "customers.party_merged")
        )
        >= 1
    )
    with pytest.raises(PartyMergedError):
        service.merge_parties(
            db, actor=actor, survivor_id=survivor.id, duplicate_id=duplicate.id, reason="again"
        )
