"""The ``parties`` file: a utility's customers (persons and organisations) with their
identity paper, phone numbers and e-mail addresses.

A party is new unless its key was mapped by an earlier run: the file never merges two
customers by itself. A new key whose identity paper, or whose name and phone number, a
stored customer already has is refused (``party_exists_under_other_key``) rather than
creating the same person twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy.orm import Session
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.util import get_cc_module

from core.migration.context import MigrationContext, Problem
from core.migration.spec import Column, Entity, WriteCounts, register
from customers.enums import IdentityDocumentType, PartyKind
from customers.migration import sql
from customers.normalize import default_region, normalize_document_number, parse_phone

ENTITY = "parties"
KEY = "party_key"


def party_keys() -> str:
    """SQL of ``(id, key)``: the key each party is exported (and referenced) with: its
    legacy key, or for a party created in Kilowatch itself ``PTY-<id>`` (stable)."""
    return sql.keys(ENTITY, "customer_party", "'PTY-' || t.id")


COLUMNS = (
    Column(KEY, required=True, doc="the legacy system's customer key", examples=("C0001", "C0002")),
    Column("kind", required=True, doc="person or organisation", examples=("person", "organisation")),
    Column("first_name", doc="a person's given names", examples=("Adjoa", "")),
    Column("last_name", doc="a person's family name", examples=("Houngbo", "")),
    Column("organisation_name", doc="an organisation's name", examples=("", "Boulangerie Le Bon Pain")),
    Column("display_name", doc="name shown (default: first and last name, or organisation)"),
    Column("birth_date", "date", doc="a person's date of birth (YYYY-MM-DD)"),
    Column("language", doc="language of letters and messages (default fr)", examples=("fr", "fr")),
    Column("document_type", doc="identity paper: " + ", ".join(IdentityDocumentType), examples=("national_id", "tax_id")),
    Column("document_number", doc="the paper's number as printed", examples=("1234567890", "3201912345678")),
    Column("document_country", doc="issuing country, ISO 3166 alpha-2 (default: the deployment's)", examples=("BJ", "BJ")),
    Column("phones", doc="phone numbers separated by ';', main one first", examples=("+229 01 97 12 34 56", "21 30 45 67")),
    Column("emails", doc="e-mail addresses separated by ';', main one first", examples=("adjoa@example.org", "")),
)  # fmt: skip


# -- checks done in Python with the libraries ---------------------------------------------


def check_phone(raw: str) -> tuple[str | None, str | None]:
    import phonenumbers

    number = parse_phone(raw)
    if number is None or not phonenumbers.is_valid_number(number):
        return None, "not a valid phone number"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None


def check_email(raw: str) -> tuple[str | None, str | None]:
    try:
        return validate_email(raw, check_deliverability=False).normalized.lower(), None
    except EmailNotValidError as exc:
        return None, str(exc)


# Document types a country's python-stdnum module checks (its check digits), by module name.
STDNUM_MODULES = {"tax_id": ("vat", "tin"), "company_registration": ("vat",)}


def check_document(document_type: str, country: str, number: str) -> str | None:
    """Why ``number`` is not a paper of that type and country, or None."""
    normal = normalize_document_number(number)
    if len(normal) < 3:
        return "too short to be a document number"
    for name in STDNUM_MODULES.get(document_type, ()):
        module = get_cc_module(country.lower(), name)
        if module is not None:
            try:
                module.validate(number)
            except StdnumError as exc:
                return str(exc) or f"not a valid {country} {name}"
            return None
    return None


def _documents(ctx: MigrationContext) -> None:
    valid = ctx.valid(ENTITY)
    sql.condition(
        ctx,
        ENTITY,
        "document_number",
        "document_incomplete",
        "a document needs its type and its number",
        "(s.document_type IS NULL) <> (s.document_number IS NULL)",
    )
    sql.condition(
        ctx,
        ENTITY,
        "document_country",
        "invalid_country",
        "an ISO 3166 alpha-2 country code (two capital letters)",
        "s.document_country IS NOT NULL AND s.document_country !~ '^[A-Z]{2}$'",
    )
    sql.add_column(ctx, ENTITY, "document_normalized", "text")
    sql.add_column(ctx, ENTITY, "country", "text")
    found = sql.rows(
        ctx,
        f"SELECT line, document_type, coalesce(document_country, :region), document_number "
        f"FROM {valid} s WHERE s.document_number IS NOT NULL",
        {"region": default_region()},
    )
    problems = []
    for line, kind, country, number in found:
        why = check_document(kind, country, number)
        if why:
            problems.append(Problem(ENTITY, line, "document_number", "invalid_document", why))
    ctx.add_problems(problems)
    sql.execute(
        ctx,
        f"UPDATE {ctx.staging(ENTITY)} SET country = coalesce(document_country, :region), "
        "document_normalized = upper(regexp_replace(document_number, '[^0-9A-Za-z]+', '', 'g')) "
        "WHERE document_number IS NOT NULL",
        {"region": default_region()},
    )


def _exists_under_other_key(ctx: MigrationContext) -> None:
    """The same paper, or the same name and a shared phone number, on another party
    (stored under another key, or on another line of the file)."""
    valid = ctx.valid(ENTITY)
    sql.add_column(ctx, ENTITY, "party_id", "bigint")
    sql.execute(
        ctx,
        f"UPDATE {ctx.staging(ENTITY)} s SET party_id = m.id FROM {sql.resolved(ctx, ENTITY)} m "
        f"JOIN customer_party p ON p.id = m.id WHERE m.key = s.{KEY}",
    )
    code = "party_exists_under_other_key"
    ctx.problems(
        ENTITY,
        f"SELECT DISTINCT ON (s.line) s.line, 'document_number', '{code}', "
        "'customer ' || d.party_id || coalesce(' (key ' || m.external_key || ')', '') "
        "|| ' already has this document' "
        f"FROM {valid} s JOIN customer_identity_document d "
        "ON d.document_type = s.document_type AND d.issuing_country = s.country "
        "AND d.number_normalized = s.document_normalized "
        f"LEFT JOIN {ctx.key_map(ENTITY)} m ON m.kilowatch_id = d.party_id "
        "WHERE d.party_id IS DISTINCT FROM s.party_id ORDER BY s.line",
    )
    ctx.problems(
        ENTITY,
        f"SELECT DISTINCT ON (s.line) s.line, 'phones', '{code}', "
        "'customer ' || p.id || coalesce(' (key ' || m.external_key || ')', '') "
        "|| ' has this name and phone number' "
        f"FROM {valid} s "
        "CROSS JOIN LATERAL unnest(string_to_array(s.phones_e164, ';')) AS e (e164) "
        "JOIN customer_party_phone ph ON ph.e164 = e.e164 "
        "JOIN customer_party p ON p.id = ph.party_id AND p.status = 'active' "
        "AND p.normalized_name = customer_normalize_text(s.display) "
        f"LEFT JOIN {ctx.key_map(ENTITY)} m ON m.kilowatch_id = p.id "
        "WHERE p.id IS DISTINCT FROM s.party_id ORDER BY s.line",
    )
    sql.duplicates(
        ctx,
        ENTITY,
        "document_type, country, document_normalized",
        "document_number",
        code,
        "s.document_normalized IS NOT NULL",
    )
    ctx.problems(
        ENTITY,
        f"SELECT DISTINCT ON (b.line) b.line, 'phones', '{code}', "
        "'the same name and phone number as line ' || a.line "
        f"FROM {valid} a JOIN {valid} b ON b.line > a.line "
        "AND customer_normalize_text(b.display) = customer_normalize_text(a.display) "
        "AND string_to_array(b.phones_e164, ';') && string_to_array(a.phones_e164, ';') "
        "ORDER BY b.line, a.line",
    )


def validate(ctx: MigrationContext) -> None:
    sql.choice(ctx, ENTITY, "kind", list(PartyKind))
    sql.choice(ctx, ENTITY, "document_type", list(IdentityDocumentType))
    sql.condition(
        ctx,
        ENTITY,
        "last_name",
        "required",
        "a person needs a first name, a last name or a display name",
        "s.kind = 'person' AND coalesce(s.first_name, s.last_name, s.display_name) IS NULL",
    )
    sql.condition(
        ctx,
        ENTITY,
        "organisation_name",
        "required",
        "an organisation needs its name",
        "s.kind = 'organisation' AND coalesce(s.organisation_name, s.display_name) IS NULL",
    )
    sql.add_column(ctx, ENTITY, "display", "text")
    sql.execute(
        ctx,
        f"UPDATE {ctx.staging(ENTITY)} SET display = coalesce(display_name, CASE kind "
        "WHEN 'organisation' THEN organisation_name "
        "ELSE nullif(concat_ws(' ', first_name, last_name), '') END)",
    )
    sql.checked_in_python(
        ctx, ENTITY, "phones", "phones_e164", check_phone, code="invalid_phone", separator=";"
    )
    sql.checked_in_python(
        ctx, ENTITY, "emails", "emails_normal", check_email, code="invalid_email", separator=";"
    )
    _documents(ctx)
    _exists_under_other_key(ctx)


def _agency(ctx: MigrationContext) -> dict[str, str] | None:
    """A party brought in by a territory-bound actor belongs to its agency (its staff see
    it before it has premises), as one registered at that agency's desk would."""
    agency = getattr(ctx.actor, "territory_agency_id", None)
    return {"agency_id": str(int(agency))} if agency is not None else None


def _list(ctx: MigrationContext, column: str, ids: str) -> str:
    """A party's list column ("a;b") as rows ``(parent, pos, value)``."""
    return (
        f"(SELECT i.id AS parent, x.pos, x.value FROM {ids} i "
        f"JOIN {ctx.valid(ENTITY)} s ON s.{KEY} = i.key "
        f"CROSS JOIN LATERAL unnest(string_to_array(s.{column}, ';')) "
        "WITH ORDINALITY AS x (value, pos))"
    )


def write(ctx: MigrationContext) -> WriteCounts:
    ids = sql.assign_ids(ctx, ENTITY, KEY, "customer_party")
    source = f"{ctx.valid(ENTITY)} s JOIN {ids} i ON i.key = s.{KEY}"
    inserted, updated = sql.upsert(
        ctx,
        table="customer_party",
        source=source,
        values={
            "kind": "s.kind",
            "display_name": "s.display",
            "first_name": "s.first_name",
            "last_name": "s.last_name",
            "organisation_name": "s.organisation_name",
            "birth_date": "s.birth_date",
            "language": "coalesce(s.language, 'fr')",
        },
        insert_only=_agency(ctx),
    )
    parents = f"SELECT id FROM {ids}"
    phones = _list(ctx, "phones_e164", ids)
    emails = _list(ctx, "emails_normal", ids)
    touched = sql.sync_positions(
        ctx,
        table="customer_party_phone",
        parent="party_id",
        parents_sql=parents,
        desired_sql=f"(SELECT parent, pos, value AS e164, pos = 1 AS is_primary FROM {phones} p)",
        columns=["e164", "is_primary"],
        order_by="t.is_primary DESC, t.id",
        on_insert={"raw": "d.e164"},
    )
    touched |= sql.sync_positions(
        ctx,
        table="customer_party_email",
        parent="party_id",
        parents_sql=parents,
        desired_sql=f"(SELECT parent, pos, value AS email, pos = 1 AS is_primary FROM {emails} e)",
        columns=["email", "is_primary"],
        order_by="t.is_primary DESC, t.id",
    )
    touched |= sql.sync_positions(
        ctx,
        table="customer_identity_document",
        parent="party_id",
        parents_sql=parents,
        desired_sql=(
            "(SELECT i.id AS parent, 1::bigint AS pos, s.document_type, "
            "s.document_number AS number, s.document_normalized AS number_normalized, "
            f"s.country AS issuing_country FROM {ctx.valid(ENTITY)} s "
            f"JOIN {ids} i ON i.key = s.{KEY} WHERE s.document_number IS NOT NULL)"
        ),
        columns=["document_type", "number", "number_normalized", "issuing_country"],
        order_by="t.id",
    )
    return sql.counts(ctx, ids, inserted, updated | touched)


EXPORT_SQL = f"""
SELECT pk.key AS party_key, p.kind, p.first_name,
       p.last_name, p.organisation_name, p.display_name, p.birth_date, p.language,
       d.document_type, d.number AS document_number, d.issuing_country AS document_country,
       (SELECT string_agg(e164, ';' ORDER BY is_primary DESC, id)
        FROM customer_party_phone WHERE party_id = p.id) AS phones,
       (SELECT string_agg(email, ';' ORDER BY is_primary DESC, id)
        FROM customer_party_email WHERE party_id = p.id) AS emails
FROM customer_party p
JOIN {party_keys()} pk ON pk.id = p.id
LEFT JOIN LATERAL (SELECT * FROM customer_identity_document x WHERE x.party_id = p.id
                   ORDER BY x.id LIMIT 1) d ON true
WHERE p.status = 'active'
"""


def export(session: Session) -> Iterable[Mapping[str, Any]]:
    """Every active party (a merged one lives on in its survivor), keyed by its legacy key
    or, when created in Kilowatch, ``PTY-<id>``."""
    return sql.export_rows(session, EXPORT_SQL, KEY)


PARTIES = register(
    Entity(
        name=ENTITY,
        title="Customers (persons and organisations)",
        key=KEY,
        columns=COLUMNS,
        validate=validate,
        write=write,
        export=export,
        doc=__doc__ or "",
        optional=False,
    )
)
