"""Search finds a customer by name with typos, by phone written any way, by account
number, by address and by usage point code."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from core.context import Actor
from customers.models import Account
from customers.search import search_parties
from tests.customers.conftest import make_party, make_premises, move_in


def test_search_by_name_with_typos_phone_account_address(db: Session, actor: Actor) -> None:
    koffi = make_party(
        db, first_name="Koffi", last_name="Mensah-Adjaho", phones=[{"number": "+229 97 12 34 99"}]
    )
    other = make_party(db, first_name="Rachida", last_name="Bello")
    _, usage_point = make_premises(db, address="Carré 1234 Quartier Zogbodomey")
    contract = move_in(db, koffi, usage_point, date(2025, 1, 1))
    account_number = db.get(Account, contract.account_id).number

    def ids(query: str) -> list[tuple[int, list[str]]]:
        hits, _ = search_parties(db, actor, query)
        return [(h["party_id"], h["matched_on"]) for h in hits]

    assert ids("Kofi Mensa Adjaho") == [(koffi.id, ["name"])]  # two typos
    assert ids("mensah") == [(koffi.id, ["name"])]  # part of the name
    assert ids("97123499") == [(koffi.id, ["phone"])]  # legacy 8-digit form
    assert ids("+229 01 97 12 34 99") == [(koffi.id, ["phone"])]
    assert ids(account_number) == [(koffi.id, ["account"])]
    assert ids("zogbodome") == [(koffi.id, ["address"])]  # accent and a letter missing
    assert ids(usage_point.code) == [(koffi.id, ["usage_point"])]
    assert ids("Rachida Belo") == [(other.id, ["name"])]
    assert ids("nobody like this") == []
