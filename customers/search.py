"""Finding a customer from whatever the caller has: a name with typos (trigram), a phone
number written any way, an account number, an identity document, an address, a usage
point code. Higher layers add sources (meters adds the meter serial) with
``register_search_source`` instead of this module importing them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Select, func, literal, or_, select, union_all
from sqlalchemy.orm import Session

from core.context import Actor
from core.territory import visible
from customers.models import (
    Account,
    Contract,
    ContractRoleAssignment,
    IdentityDocument,
    Party,
    PartyPhone,
    ServiceLocation,
    UsagePoint,
)
from customers.normalize import normalize_document_number, phone_or_none

# A source turns the raw query into a select of (party_id, score 0..1, matched_on) or None
# when the query cannot be one of its keys.
SearchSource = Callable[[str], Select[Any] | None]
_EXTRA_SOURCES: dict[str, SearchSource] = {}


def register_search_source(name: str, source: SearchSource) -> None:
    """Add a way to find customers (e.g. by meter serial) from a higher layer."""
    _EXTRA_SOURCES[name] = source


def _hit(party_id: Any, score: Any, matched_on: str) -> list[Any]:
    return [
        party_id.label("party_id"),
        score.label("score"),
        literal(matched_on).label("matched_on"),
    ]


def parties_at_locations(location_ids: Select[Any]) -> Select[Any]:
    """(party_id, location_id) of everyone with a contract role at those premises."""
    return (
        select(ContractRoleAssignment.party_id, UsagePoint.service_location_id)
        .join(Contract, Contract.id == ContractRoleAssignment.contract_id)
        .join(UsagePoint, UsagePoint.id == Contract.usage_point_id)
        .where(UsagePoint.service_location_id.in_(location_ids))
    )


def _by_name(query: str) -> Select[Any] | None:
    norm = func.customer_normalize_text(query)
    score = func.greatest(
        func.similarity(Party.normalized_name, norm),
        func.word_similarity(norm, Party.normalized_name),
    )
    return select(*_hit(Party.id, score, "name")).where(
        or_(Party.normalized_name.op("%")(norm), norm.op("<%")(Party.normalized_name))
    )


def _by_phone(query: str) -> Select[Any] | None:
    e164 = phone_or_none(query)
    if e164 is None:
        return None
    return select(*_hit(PartyPhone.party_id, literal(1.0), "phone")).where(PartyPhone.e164 == e164)


def _by_account(query: str) -> Select[Any] | None:
    digits = "".join(ch for ch in query if ch.isdigit())
    if not digits or len(digits) != len(query.replace(" ", "").replace("-", "")):
        return None
    payer = select(*_hit(Account.payer_party_id, literal(1.0), "account")).where(
        Account.number == digits
    )
    holders = (
        select(*_hit(Contract.holder_party_id, literal(0.95), "account"))
        .join(Account, Account.id == Contract.account_id)
        .where(Account.number == digits)
    )
    return union_all(payer, holders).subquery().select()


def _by_document(query: str) -> Select[Any] | None:
    number = normalize_document_number(query)
    if len(number) < 4:
        return None
    return select(*_hit(IdentityDocument.party_id, literal(1.0), "identity_document")).where(
        IdentityDocument.number_normalized == number
    )


def _by_usage_point_code(query: str) -> Select[Any] | None:
    code = query.strip()
    if not code or " " in code:
        return None
    points = select(UsagePoint.service_location_id).where(UsagePoint.code == code)
    located = parties_at_locations(points).subquery()
    return select(*_hit(located.c.party_id, literal(1.0), "usage_point"))


def _by_address(query: str) -> Select[Any] | None:
    if len(query.strip()) < 3:
        return None
    norm = func.customer_normalize_text(query)
    matches = (
        select(
            ServiceLocation.id,
            func.word_similarity(norm, ServiceLocation.address_normalized).label("s"),
        )
        .where(norm.op("<%")(ServiceLocation.address_normalized))
        .subquery()
    )
    located = parties_at_locations(select(matches.c.id)).subquery()
    return select(*_hit(located.c.party_id, matches.c.s * 0.9, "address")).join(
        matches, matches.c.id == located.c.service_location_id
    )


SOURCES: dict[str, SearchSource] = {
    "name": _by_name,
    "phone": _by_phone,
    "account": _by_account,
    "identity_document": _by_document,
    "usage_point": _by_usage_point_code,
    "address": _by_address,
}


def search_parties(
    session: Session, actor: Actor, query: str, *, offset: int = 0, limit: int = 20
) -> tuple[list[dict[str, Any]], int]:
    """Parties matching ``query`` by any source, best score first; (hits, total)."""
    selects = [
        sel
        for source in (*SOURCES.values(), *_EXTRA_SOURCES.values())
        if (sel := source(query)) is not None
    ]
    if not selects:
        return [], 0
    candidates = union_all(*selects).subquery()
    ranked = (
        select(
            Party.id.label("party_id"),
            Party.display_name,
            Party.kind,
            func.max(candidates.c.score).label("score"),
            func.array_agg(func.distinct(candidates.c.matched_on)).label("matched_on"),
            func.count().over().label("total"),
        )
        .join(candidates, candidates.c.party_id == Party.id)
        .where(Party.status == "active", visible(actor, Party))
        .group_by(Party.id)
        .order_by(func.max(candidates.c.score).desc(), Party.normalized_name, Party.id)
        .offset(offset)
        .limit(limit)
    )
    rows = session.execute(ranked).all()
    total = int(rows[0].total) if rows else 0
    if not rows and offset:
        total = int(
            session.scalar(
                select(func.count(func.distinct(candidates.c.party_id)))
                .join(Party, Party.id == candidates.c.party_id)
                .where(Party.status == "active", visible(actor, Party))
            )
            or 0
        )
    hits = [
        {
            "party_id": row.party_id,
            "display_name": row.display_name,
            "kind": row.kind,
            "score": round(float(row.score), 3),
            "matched_on": sorted(row.matched_on),
        }
        for row in rows
    ]
    return hits, total
