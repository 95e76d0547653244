"""The parties file: customers with their papers, phones and e-mails, each rule with a
file that breaks it, and idempotent re-imports."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.customers.conftest import make_party
from tests.customers.migration_files import audit_since, base, count, last_audit_id, load, refused

HEADER = (
    "party_key,kind,first_name,last_name,organisation_name,document_type,document_number,"
    "document_country,phones,emails"
)
ADJOA = "C1,person,Adjoa,Houngbo,,national_id,1234567890,BJ,+229 01 97 12 34 56;21 30 45 67,Adjoa@Example.org"
BAKERY = "C2,organisation,,,Le Bon Pain,tax_id,3201912345678,BJ,+22901 96 00 00 01,"


def parties(*lines: str) -> str:
    return "\n".join([HEADER, *lines])


def test_parties_are_written_with_papers_phones_and_emails(db: Session, tmp_path: Path) -> None:
    report = load(db, base(tmp_path, parties=parties(ADJOA, BAKERY)))
    assert report.entities["parties"].inserted == 2
    rows = db.execute(
        text(
            "SELECT p.kind, p.display_name, d.number_normalized, "
            "(SELECT string_agg(e164, ';' ORDER BY is_primary DESC, id) FROM customer_party_phone "
            " WHERE party_id = p.id), "
            "(SELECT string_agg(email, ';') FROM customer_party_email WHERE party_id = p.id) "
            "FROM customer_party p JOIN core_migration_key k ON k.kilowatch_id = p.id "
            "AND k.entity = 'parties' "
            "LEFT JOIN customer_identity_document d ON d.party_id = p.id ORDER BY k.external_key"
        )
    ).all()
    assert [tuple(r) for r in rows] == [
        (
            "person",
            "Adjoa Houngbo",
            "1234567890",
            "+2290197123456;+2290121304567",
            "adjoa@example.org",
        ),
        ("organisation", "Le Bon Pain", "3201912345678", "+2290196000001", None),
    ]


def test_reimport_changes_nothing_and_a_changed_phone_updates_one_row(
    db: Session, tmp_path: Path
) -> None:
    load(db, base(tmp_path, parties=parties(ADJOA, BAKERY)))
    before = last_audit_id(db)
    again = load(db, base(tmp_path, parties=parties(ADJOA, BAKERY)))
    assert (again.entities["parties"].inserted, again.entities["parties"].updated) == (0, 0)
    assert again.entities["parties"].unchanged == 2
    assert audit_since(db, before) == []

    changed = ADJOA.replace("21 30 45 67", "+229 01 66 55 44 33")
    report = load(db, base(tmp_path, parties=parties(changed, BAKERY)))
    assert report.entities["parties"].updated == 1
    entries = audit_since(db, before)
    assert [(t, a) for t, a, _b, _a in entries] == [("customer_party_phone", "update")]
    assert entries[0][2] == {"e164": "+2290121304567"}
    assert entries[0][3] == {"e164": "+2290166554433"}


def test_bad_formats_are_named_and_nothing_is_written(db: Session, tmp_path: Path) -> None:
    bad = [
        "C1,person,Adjoa,Houngbo,,national_id,1234567890,BJ,12,",
        "C2,person,Koffi,Mensah,,,,,,not-an-address",
        "C3,robot,R2,D2,,,,,,",
        "C4,person,,,,,,,,",
        "C5,organisation,,,,,,,,",
        "C6,person,Ama,Sossa,,passport,12,,,",
        "C7,person,Ama,Sossou,,birth_certificate,123456,,,",
        "C8,person,Ama,Sossi,,national_id,,,,",
        "C9,person,Ama,Sossa,,passport,AB123456,benin,,",
        "C10,organisation,,,Big Co,tax_id,NL000099998B58,NL,,",
    ]
    parties_before = count(db, "customer_party")
    assert refused(db, base(tmp_path, parties=parties(*bad))) == {
        ("parties.csv", 2, "phones", "invalid_phone"),
        ("parties.csv", 3, "emails", "invalid_email"),
        ("parties.csv", 4, "kind", "invalid_choice"),
        ("parties.csv", 5, "last_name", "required"),
        ("parties.csv", 6, "organisation_name", "required"),
        ("parties.csv", 7, "document_number", "invalid_document"),
        ("parties.csv", 8, "document_type", "invalid_choice"),
        ("parties.csv", 9, "document_number", "document_incomplete"),
        ("parties.csv", 10, "document_country", "invalid_country"),
        ("parties.csv", 11, "document_number", "invalid_document"),
    }
    assert count(db, "customer_party") == parties_before


def test_a_party_stored_under_another_key_is_refused(db: Session, tmp_path: Path, actor) -> None:
    make_party(
        db,
        actor,
        first_name="Adjoa",
        last_name="Houngbo",
        identity_documents=[{"document_type": "national_id", "number": "12-3456-7890"}],
    )
    make_party(
        db,
        actor,
        first_name="Koffi",
        last_name="Mensah",
        phones=[{"number": "+229 01 97 00 00 02"}],
    )
    stored = count(db, "customer_party")
    found = refused(
        db,
        base(
            tmp_path,
            parties=parties(
                ADJOA,
                "C3,person,Koffi,Mensah,,,,,0197000002,",
                "C4,person,Ama,Sossa,,passport,XY123,BJ,,",
                "C5,person,Ama,Sossa,,passport,xy-123,BJ,,",
            ),
        ),
    )
    assert found == {
        ("parties.csv", 2, "document_number", "party_exists_under_other_key"),
        ("parties.csv", 3, "phones", "party_exists_under_other_key"),
        ("parties.csv", 5, "document_number", "party_exists_under_other_key"),
    }
    assert count(db, "customer_party") == stored
