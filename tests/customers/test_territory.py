"""Staff of an agency with a territory see only premises inside it and the customers
holding a role there (or registered by their agency); head office sees everything."""

from __future__ import annotations

from datetime import date

import pytest
from geoalchemy2 import WKTElement
from sqlalchemy.orm import Session

from core.auth.models import Agency
from core.context import Actor
from customers import repository
from customers.errors import PartyNotFoundError, ServiceLocationNotFoundError
from customers.search import search_parties
from tests.customers.conftest import HEAD_OFFICE, make_party, make_premises, move_in

# A box over eastern Cotonou (EPSG:4326): lon 2.40-2.50, lat 6.30-6.45.
EAST_BOX = "MULTIPOLYGON(((2.40 6.30, 2.50 6.30, 2.50 6.45, 2.40 6.45, 2.40 6.30)))"


def make_agency_with_territory(db: Session, code: str) -> Agency:
    agency = Agency(code=code, name=code, territory=WKTElement(EAST_BOX, srid=4326))
    db.add(agency)
    db.flush()
    return agency


def test_agency_staff_see_only_their_territory(db: Session) -> None:
    agency = make_agency_with_territory(db, "EAST-V")
    clerk = Actor(
        user_id=None,
        username="east-clerk",
        agency_id=agency.id,
        territory_agency_id=agency.id,
        scopes=frozenset({"customers:read", "customers:write"}),
    )
    inside_party = make_party(db, first_name="Yao", last_name="Territorio")
    outside_party = make_party(db, first_name="Yawa", last_name="Territorio")
    inside, up_in = make_premises(db, lon=2.45, lat=6.36)
    outside, up_out = make_premises(db, lon=2.10, lat=6.50)
    move_in(db, inside_party, up_in, date(2025, 1, 1))
    move_in(db, outside_party, up_out, date(2025, 1, 1))
    # Registered by the east agency, no premises yet: its staff see it too.
    own = make_party(db, clerk, first_name="Yves", last_name="Territorio")

    assert repository.get_location(db, clerk, inside.id).id == inside.id
    with pytest.raises(ServiceLocationNotFoundError):
        repository.get_location(db, clerk, outside.id)
    assert repository.get_party(db, clerk, inside_party.id).id == inside_party.id
    with pytest.raises(PartyNotFoundError):
        repository.get_party(db, clerk, outside_party.id)

    hits, total = search_parties(db, clerk, "territorio")
    assert sorted(h["party_id"] for h in hits) == sorted([inside_party.id, own.id])
    assert total == 2
    hits, total = search_parties(db, HEAD_OFFICE, "territorio")
    assert total == 3

    listed = db.scalars(repository.locations_query(clerk)).all()
    assert inside.id in [loc.id for loc in listed]
    assert outside.id not in [loc.id for loc in listed]
