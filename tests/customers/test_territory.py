"""Staff of an agency with a territory see only premises inside it and the customers
holding a role there (or registered by their agency); head office sees everything."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from geoalchemy2 import WKTElement
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.auth.models import Agency
from core.context import Actor
from core.territory import OutsideTerritoryError, visible
from customers import repository, service
from customers.errors import (
    CaseAssignmentRuleNotFoundError,
    PartyNotFoundError,
    ReferenceUnknownError,
    ServiceLocationNotFoundError,
)
from customers.models import (
    Account,
    Case,
    CaseAssignmentRule,
    CaseStatusChange,
    Contract,
    ContractRoleAssignment,
    ContractTransition,
    Interaction,
    PartyPhone,
    ServiceLocation,
    UsagePoint,
)
from customers.schemas import (
    AssignmentRuleCreate,
    CaseCreate,
    InteractionCreate,
    ServiceLocationCreate,
    ServiceLocationUpdate,
)
from customers.search import search_parties
from gis.models import NetworkNode, ServicePoint
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


# --- writes: nothing created or linked outside the territory ----------------------------

WEST_POINT = (2.10, 6.50)  # outside EAST_BOX
EAST_POINT = (2.45, 6.36)  # inside


def _clerk(agency: Agency) -> Actor:
    return Actor(
        user_id=None,
        username="east-clerk",
        agency_id=agency.id,
        territory_agency_id=agency.id,
        scopes=frozenset({"customers:read", "customers:write"}),
    )


def _service_point(db: Session, code: str, lon: float, lat: float) -> ServicePoint:
    point = WKTElement(f"POINT({lon} {lat})", srid=4326)
    node = NetworkNode(code=f"N-{code}", geom=point)
    db.add(node)
    db.flush()
    service_point = ServicePoint(code=code, kind="pole", node_id=node.id, geom=point)
    db.add(service_point)
    db.flush()
    return service_point


def _premises_at(lon: float, lat: float, service_point_id: int | None = None) -> Any:
    return ServiceLocationCreate(
        address_line="Carré 7",
        location={"type": "Point", "coordinates": [lon, lat]},
        service_point_id=service_point_id,
    )


def _premises_count(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(ServiceLocation)) or 0


def test_premises_outside_the_territory_are_refused(db: Session) -> None:
    clerk = _clerk(make_agency_with_territory(db, "EAST-W1"))
    before = _premises_count(db)
    with pytest.raises(OutsideTerritoryError):
        service.create_location(db, actor=clerk, data=_premises_at(*WEST_POINT))
    west_pole = _service_point(db, "SP-WEST-1", *WEST_POINT)
    # Inside, but hung on the other agency's pole: refused too.
    with pytest.raises(OutsideTerritoryError):
        service.create_location(db, actor=clerk, data=_premises_at(*EAST_POINT, west_pole.id))
    assert _premises_count(db) == before
    east_pole = _service_point(db, "SP-EAST-1", *EAST_POINT)
    inside = service.create_location(db, actor=clerk, data=_premises_at(*EAST_POINT, east_pole.id))
    assert inside.service_point_id == east_pole.id
    # Moving the premises out, or re-hanging it on the other agency's pole, is refused.
    for change in (
        {"location": {"type": "Point", "coordinates": list(WEST_POINT)}},
        {"service_point_id": west_pole.id},
    ):
        with pytest.raises(OutsideTerritoryError):
            service.update_location(
                db, actor=clerk, location_id=inside.id, data=ServiceLocationUpdate(**change)
            )
    db.refresh(inside)
    assert inside.service_point_id == east_pole.id
    # Head office places premises anywhere.
    assert service.create_location(db, actor=HEAD_OFFICE, data=_premises_at(*WEST_POINT)).id


def test_another_agencys_assignment_rules_are_out_of_sight(db: Session) -> None:
    east = make_agency_with_territory(db, "EAST-R1")
    other = Agency(code="OTHER-R1", name="Other")
    db.add(other)
    db.flush()
    clerk = _clerk(east)
    theirs = service.create_rule(
        db,
        actor=HEAD_OFFICE,
        data=AssignmentRuleCreate(
            case_type="complaint", agency_id=other.id, assignee_group="customer_desk"
        ),
    )
    general = service.create_rule(
        db,
        actor=HEAD_OFFICE,
        data=AssignmentRuleCreate(case_type="dispute", assignee_group="billing_officer"),
    )
    ours = service.create_rule(
        db,
        actor=clerk,
        data=AssignmentRuleCreate(
            case_type="complaint", agency_id=east.id, assignee_group="customer_desk"
        ),
    )
    seen = {r.id for r in db.scalars(repository.rules_query(clerk))}
    assert seen >= {ours.id, general.id}
    assert theirs.id not in seen
    with pytest.raises(CaseAssignmentRuleNotFoundError):
        service.delete_rule(db, actor=clerk, rule_id=theirs.id)
    for agency_id in (other.id, None):  # another agency's, or every agency's
        with pytest.raises(OutsideTerritoryError):
            service.create_rule(
                db,
                actor=clerk,
                data=AssignmentRuleCreate(
                    case_type="meter_check", agency_id=agency_id, assignee_group="customer_desk"
                ),
            )
    with pytest.raises(OutsideTerritoryError):
        service.delete_rule(db, actor=clerk, rule_id=general.id)
    service.delete_rule(db, actor=clerk, rule_id=ours.id)
    assert db.get(CaseAssignmentRule, theirs.id) is not None


def test_cases_and_links_stay_inside_the_territory(db: Session) -> None:
    east = make_agency_with_territory(db, "EAST-C1")
    other = Agency(code="OTHER-C1", name="Other")
    db.add(other)
    db.flush()
    clerk = _clerk(east)
    stranger = make_party(db, first_name="Kossi", last_name="Dehors")
    _, up_out = make_premises(db, lon=WEST_POINT[0], lat=WEST_POINT[1])
    with pytest.raises(OutsideTerritoryError):
        service.open_case(
            db,
            actor=clerk,
            data=CaseCreate(case_type="complaint", subject="Coupure", agency_id=other.id),
        )
    # A party or usage point out of sight is as unknown as one that does not exist.
    with pytest.raises(ReferenceUnknownError):
        service.open_case(
            db,
            actor=clerk,
            data=CaseCreate(case_type="complaint", subject="Coupure", party_id=stranger.id),
        )
    with pytest.raises(ReferenceUnknownError):
        move_in(
            db,
            make_party(db, clerk, first_name="Ama", last_name="Dedans"),
            up_out,
            date(2025, 1, 1),
            clerk,
        )
    case = service.open_case(
        db, actor=clerk, data=CaseCreate(case_type="complaint", subject="Coupure")
    )
    assert case.agency_id == east.id
    assert [c.id for c in db.scalars(repository.cases_query(clerk))] == [case.id]


def test_every_customer_table_follows_its_owner_into_the_territory(db: Session) -> None:
    """Each table's rule (customers.models ``__territory__``): what hangs off premises,
    contracts, cases or parties is seen exactly when its owner is."""
    clerk = _clerk(make_agency_with_territory(db, "EAST-T1"))
    owners: dict[str, Any] = {}
    for side, (lon, lat) in (("in", EAST_POINT), ("out", WEST_POINT)):
        party = make_party(
            db, first_name="Afi", last_name=f"Cote-{side}", phones=[{"number": "97000001"}]
        )
        _, usage_point = make_premises(db, lon=lon, lat=lat)
        contract = move_in(db, party, usage_point, date(2025, 1, 1))
        case = service.open_case(
            db,
            actor=HEAD_OFFICE,
            data=CaseCreate(
                case_type="complaint", subject="Compteur", usage_point_id=usage_point.id
            ),
        )
        service.log_interaction(
            db,
            actor=HEAD_OFFICE,
            data=InteractionCreate(party_id=party.id, channel="phone", direction="in"),
        )
        owners[side] = (party.id, usage_point.id, contract.id, case.id)
    db.flush()
    owner_of = {
        PartyPhone: PartyPhone.party_id,
        Account: Account.payer_party_id,
        Interaction: Interaction.party_id,
        UsagePoint: UsagePoint.id,
        Contract: Contract.id,
        ContractRoleAssignment: ContractRoleAssignment.contract_id,
        ContractTransition: ContractTransition.contract_id,
        Case: Case.id,
        CaseStatusChange: CaseStatusChange.case_id,
    }
    slot = {UsagePoint: 1, Contract: 2, ContractRoleAssignment: 2, ContractTransition: 2}
    slot |= {Case: 3, CaseStatusChange: 3}
    for model, column in owner_of.items():
        mine = {owners[side][slot.get(model, 0)] for side in ("in", "out")}
        seen = set(db.scalars(select(column).where(visible(clerk, model), column.in_(mine))))
        assert seen == {owners["in"][slot.get(model, 0)]}, model.__name__
