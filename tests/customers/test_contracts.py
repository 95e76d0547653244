"""Contract processes as state machines: move-in, move-out (final reading ordered after
commit only), transfer, change of power, termination; one active contract per usage point."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import events
from core.db import session_scope
from core.outbox import EventDelivery, OutboxEvent
from customers import repository, service
from customers.errors import (
    ContractDatesInvalidError,
    ContractOverlapError,
    ContractTransitionInvalidError,
)
from customers.events import FinalReadingRequested
from customers.models import (
    Account,
    Contract,
    ContractRoleAssignment,
    ContractTransition,
    Party,
    PartyPhone,
    ServiceLocation,
    UsagePoint,
)
from customers.numbering import account_number_from, account_number_is_valid
from customers.schemas import (
    ChangePowerRequest,
    MoveOutRequest,
    TerminateRequest,
    TransferRequest,
)
from tests.customers.conftest import HEAD_OFFICE, make_party, make_premises, move_in

FINAL_READINGS: list[dict[str, Any]] = []


@events.handles(FinalReadingRequested, name="test-final-reading-probe")
def _final_reading_probe(_session: Session, event: FinalReadingRequested, _id: uuid.UUID) -> None:
    FINAL_READINGS.append(event.payload())


def test_account_numbers_carry_a_luhn_check_digit() -> None:
    assert account_number_from(1) == "0000000018"
    assert account_number_from(123456) == "0001234566"
    assert account_number_is_valid("0001234566")
    assert not account_number_is_valid("0001234565")  # one digit mistyped


def test_move_in_then_move_out_with_history_and_invalid_step(db: Session) -> None:
    party = make_party(db, first_name="Afi", last_name="Dossou")
    _, usage_point = make_premises(db)
    contract = move_in(db, party, usage_point, date(2025, 1, 6), reason="new tenant")
    assert contract.status == "active"
    assert account_number_is_valid(db.get(Account, contract.account_id).number)
    roles = db.execute(
        select(ContractRoleAssignment.party_id, ContractRoleAssignment.role).where(
            ContractRoleAssignment.contract_id == contract.id
        )
    ).all()
    assert sorted(roles) == [(party.id, "holder"), (party.id, "payer")]

    service.move_out(
        db,
        actor=HEAD_OFFICE,
        contract_id=contract.id,
        data=MoveOutRequest(end_date=date(2025, 6, 30), reason="leaving town"),
    )
    assert (contract.status, contract.end_date) == ("ended", date(2025, 6, 30))
    history = [
        (t.event, t.from_status, t.to_status, t.reason, t.actor)
        for t in repository.contract_transitions(db, HEAD_OFFICE, contract.id)
    ]
    assert history == [
        ("move_in", "pending", "active", "new tenant", "test-desk"),
        ("move_out", "active", "ended", "leaving town", "test-desk"),
    ]
    with pytest.raises(ContractTransitionInvalidError) as caught:
        service.move_out(
            db,
            actor=HEAD_OFFICE,
            contract_id=contract.id,
            data=MoveOutRequest(end_date=date(2025, 7, 1)),
        )
    assert (caught.value.status, caught.value.code) == (409, "contract_transition_invalid")
    assert db.scalar(select(func.count()).where(ContractTransition.contract_id == contract.id)) == 2


def test_move_out_before_start_is_rejected_without_changing_anything(db: Session) -> None:
    party = make_party(db, last_name="Agossou")
    _, usage_point = make_premises(db)
    contract = move_in(db, party, usage_point, date(2025, 3, 1))
    with pytest.raises(ContractDatesInvalidError):
        service.move_out(
            db,
            actor=HEAD_OFFICE,
            contract_id=contract.id,
            data=MoveOutRequest(end_date=date(2025, 2, 1)),
        )
    assert contract.status == "active"


def test_one_active_contract_per_usage_point(db: Session) -> None:
    first = make_party(db, last_name="Akakpo")
    second = make_party(db, last_name="Zannou")
    _, usage_point = make_premises(db)
    contract = move_in(db, first, usage_point, date(2025, 1, 1))
    with pytest.raises(ContractOverlapError) as caught:
        move_in(db, second, usage_point, date(2025, 3, 1))
    assert (caught.value.status, caught.value.code) == (409, "contract_overlap")
    # Enforced by the database itself, whatever the code path (exclusion on daterange).
    with pytest.raises(IntegrityError), db.begin_nested():
        db.execute(
            insert(Contract).values(
                number="CT-RAW",
                holder_party_id=second.id,
                usage_point_id=usage_point.id,
                account_id=contract.account_id,
                tariff_code="BT-DOM",
                subscribed_power_kva=3,
                start_date=date(2024, 12, 1),
                end_date=date(2025, 2, 1),
                status="pending",
            )
        )
    # After the move-out, the next occupant may start the very day supply stopped.
    service.move_out(
        db,
        actor=HEAD_OFFICE,
        contract_id=contract.id,
        data=MoveOutRequest(end_date=date(2025, 3, 1)),
    )
    follower = move_in(db, second, usage_point, date(2025, 3, 1))
    assert follower.status == "active"


def test_transfer_hands_over_without_gap_and_keeps_the_owner(db: Session) -> None:
    owner = make_party(db, last_name="Hounkpatin")
    tenant = make_party(db, last_name="Sossa")
    newcomer = make_party(db, last_name="Gbaguidi")
    _, usage_point = make_premises(db)
    contract = move_in(
        db, tenant, usage_point, date(2024, 5, 1), roles=[{"party_id": owner.id, "role": "owner"}]
    )
    old, new = service.transfer(
        db,
        actor=HEAD_OFFICE,
        contract_id=contract.id,
        data=TransferRequest(new_holder_party_id=newcomer.id, transfer_date=date(2025, 2, 1)),
    )
    assert (old.status, old.end_date) == ("transferred", date(2025, 2, 1))
    assert (new.status, new.start_date, new.previous_contract_id) == (
        "active",
        date(2025, 2, 1),
        old.id,
    )
    roles = db.execute(
        select(ContractRoleAssignment.party_id, ContractRoleAssignment.role).where(
            ContractRoleAssignment.contract_id == new.id
        )
    ).all()
    assert sorted(roles) == sorted(
        [(newcomer.id, "holder"), (newcomer.id, "payer"), (owner.id, "owner")]
    )
    location_id = usage_point.service_location_id
    occupants = [
        (o["display_name"], o["role"], o["start_date"], o["end_date"])
        for o in repository.occupants(db, HEAD_OFFICE, location_id)
    ]
    assert occupants == [
        ("Gbaguidi", "holder", date(2025, 2, 1), None),
        ("Gbaguidi", "payer", date(2025, 2, 1), None),
        ("Hounkpatin", "owner", date(2025, 2, 1), None),
        ("Sossa", "holder", date(2024, 5, 1), date(2025, 2, 1)),
        ("Sossa", "payer", date(2024, 5, 1), date(2025, 2, 1)),
        ("Hounkpatin", "owner", date(2024, 5, 1), date(2025, 2, 1)),
    ]


def test_change_of_power_and_termination(db: Session) -> None:
    party = make_party(db, last_name="Ahouansou")
    _, usage_point = make_premises(db, kva="3.3")
    contract = move_in(db, party, usage_point, date(2025, 1, 1))
    service.change_power(
        db,
        actor=HEAD_OFFICE,
        contract_id=contract.id,
        data=ChangePowerRequest(
            subscribed_power_kva=Decimal("6.6"), effective_date=date(2025, 4, 1)
        ),
    )
    assert contract.subscribed_power_kva == Decimal("6.6")
    assert db.get(UsagePoint, usage_point.id).subscribed_power_kva == Decimal("6.6")
    service.terminate(
        db,
        actor=HEAD_OFFICE,
        contract_id=contract.id,
        data=TerminateRequest(end_date=date(2025, 9, 1), reason="unpaid bills"),
    )
    steps = [
        (t.event, t.from_status, t.to_status, t.details)
        for t in repository.contract_transitions(db, HEAD_OFFICE, contract.id)
    ]
    assert steps[1:] == [
        (
            "change_power",
            "active",
            "active",
            {"from_kva": "3.30", "to_kva": "6.6", "effective_date": "2025-04-01"},
        ),
        ("terminate", "active", "terminated", {"end_date": "2025-09-01"}),
    ]
    with pytest.raises(ContractTransitionInvalidError):
        service.change_power(
            db,
            actor=HEAD_OFFICE,
            contract_id=contract.id,
            data=ChangePowerRequest(
                subscribed_power_kva=Decimal("9"), effective_date=date(2025, 10, 1)
            ),
        )


def _cleanup(party_id: int, usage_point_id: int, location_id: int) -> None:
    with session_scope() as session:
        contract_ids = select(Contract.id).where(Contract.usage_point_id == usage_point_id)
        session.execute(
            delete(ContractTransition).where(ContractTransition.contract_id.in_(contract_ids))
        )
        session.execute(
            delete(ContractRoleAssignment).where(
                ContractRoleAssignment.contract_id.in_(contract_ids)
            )
        )
        # The field domain's handler ordered a final read (a work order at the usage point).
        session.execute(
            text("DELETE FROM field_work_order WHERE usage_point_id = :up"), {"up": usage_point_id}
        )
        account_ids = select(Contract.account_id).where(Contract.usage_point_id == usage_point_id)
        accounts = session.scalars(account_ids).all()
        session.execute(delete(Contract).where(Contract.usage_point_id == usage_point_id))
        session.execute(delete(Account).where(Account.id.in_(accounts)))
        session.execute(delete(UsagePoint).where(UsagePoint.id == usage_point_id))
        session.execute(delete(ServiceLocation).where(ServiceLocation.id == location_id))
        session.execute(delete(PartyPhone).where(PartyPhone.party_id == party_id))
        session.execute(delete(Party).where(Party.id == party_id))
        events_ids = select(OutboxEvent.id).where(
            OutboxEvent.payload["usage_point_id"].as_integer() == usage_point_id
        )
        session.execute(delete(EventDelivery).where(EventDelivery.event_id.in_(events_ids)))
        session.execute(delete(OutboxEvent).where(OutboxEvent.id.in_(events_ids)))


def test_final_reading_is_ordered_only_once_the_move_out_commits(database_url: str) -> None:
    FINAL_READINGS.clear()
    with session_scope() as session:
        party = make_party(session, last_name="Zinsou-Final")
        location, usage_point = make_premises(session, lon=1.05, lat=9.05)
        contract = move_in(session, party, usage_point, date(2025, 1, 1))
        ids = (party.id, usage_point.id, location.id, contract.id, usage_point.code)
    try:
        # A move-out that fails after the step (rolled back) orders nothing.
        with pytest.raises(RuntimeError), session_scope() as session:
            service.move_out(
                session,
                actor=HEAD_OFFICE,
                contract_id=ids[3],
                data=MoveOutRequest(end_date=date(2025, 5, 31)),
            )
            session.flush()
            raise RuntimeError("something else failed in the same request")
        assert FINAL_READINGS == []
        with session_scope() as session:
            service.move_out(
                session,
                actor=HEAD_OFFICE,
                contract_id=ids[3],
                data=MoveOutRequest(end_date=date(2025, 5, 31)),
            )
            session.flush()
            assert FINAL_READINGS == []  # nothing leaves before the commit
        assert len(FINAL_READINGS) == 1
        ordered = FINAL_READINGS[0]
        assert ordered["contract_number"].startswith("CT-")
        assert {k: v for k, v in ordered.items() if k != "contract_number"} == {
            "contract_id": ids[3],
            "usage_point_id": ids[1],
            "usage_point_code": ids[4],
            "reading_date": "2025-05-31",
            "process": "move_out",
        }
        with session_scope() as session:
            assert session.get(Contract, ids[3]).status == "ended"
    finally:
        _cleanup(ids[0], ids[1], ids[2])
