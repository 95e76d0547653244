"""Cases: SLA due dates in working days (weekends and Benin public holidays skipped, by
hand), breach flag in the utility's time zone, lifecycle history, assignment rules."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy.orm import Session

from core.auth import service as auth_service
from core.context import Actor
from customers import repository, service
from customers.errors import CaseTransitionInvalidError, ValueOutOfRangeError
from customers.schemas import AssignmentRuleCreate, CaseCreate, CaseStepRequest, InteractionCreate
from customers.sla import add_working_days, is_working_day
from tests.customers.conftest import make_party, make_premises

# Thursday 31 July 2025, 10:00 in Cotonou (UTC+1).
OPENED = datetime(2025, 7, 31, 9, 0, tzinfo=UTC)


def test_working_days_skip_weekends_and_benin_public_holidays() -> None:
    assert not is_working_day(date(2025, 8, 1), "BJ")  # Friday: National Day
    assert not is_working_day(date(2025, 8, 2), "BJ")  # Saturday
    assert not is_working_day(date(2025, 8, 15), "BJ")  # Friday: Assumption
    assert is_working_day(date(2025, 8, 4), "BJ")
    # From Thu 31 Jul: Fri 1 Aug holiday, Sat-Sun weekend -> Mon 4 (1) ... Fri 8 Aug (5).
    assert add_working_days(date(2025, 7, 31), 5, "BJ") == date(2025, 8, 8)
    # 10 days: 4-8 Aug (5), 11-14 Aug (9), Fri 15 Aug holiday, weekend -> Mon 18 Aug (10).
    assert add_working_days(date(2025, 7, 31), 10, "BJ") == date(2025, 8, 18)


def test_case_due_date_is_fixed_at_open_and_breach_follows_local_time(
    db: Session, actor: Actor
) -> None:
    party = make_party(db, last_name="Tchibozo")
    case = service.open_case(
        db,
        actor=actor,
        now=OPENED,
        data=CaseCreate(
            case_type="data_correction",
            subject="wrong name on bill",
            party_id=party.id,
            opened_at=OPENED,
        ),
    )
    assert (case.sla_working_days, case.due_date, case.sla_breached) == (5, date(2025, 8, 8), False)
    complaint = service.open_case(
        db,
        actor=actor,
        now=OPENED,
        data=CaseCreate(case_type="complaint", subject="no power", opened_at=OPENED),
    )
    assert complaint.due_date == date(2025, 8, 18)
    # 22:00 UTC on 8 Aug is 23:00 in Cotonou: still the due day.
    assert service.flag_breached_cases(db, now=datetime(2025, 8, 8, 22, 0, tzinfo=UTC)) == 0
    # 23:30 UTC is already 9 Aug in Cotonou: breached (the complaint is not).
    assert service.flag_breached_cases(db, now=datetime(2025, 8, 8, 23, 30, tzinfo=UTC)) == 1
    db.refresh(case)
    db.refresh(complaint)
    assert (case.sla_breached, complaint.sla_breached) == (True, False)


def test_resolving_on_time_is_not_a_breach_and_history_is_kept(db: Session, actor: Actor) -> None:
    case = service.open_case(
        db,
        actor=actor,
        now=OPENED,
        data=CaseCreate(case_type="meter_check", subject="meter runs fast", opened_at=OPENED),
    )
    service.step_case(
        db, actor=actor, case_id=case.id, now=OPENED, data=CaseStepRequest(event="start")
    )
    service.step_case(
        db,
        actor=actor,
        case_id=case.id,
        now=datetime(2025, 8, 5, 12, tzinfo=UTC),
        data=CaseStepRequest(event="resolve", resolution="meter within class"),
    )
    assert (case.status, case.sla_breached, case.resolution) == (
        "resolved",
        False,
        "meter within class",
    )
    with pytest.raises(CaseTransitionInvalidError) as caught:
        service.step_case(db, actor=actor, case_id=case.id, data=CaseStepRequest(event="start"))
    assert (caught.value.status, caught.value.code) == (409, "case_transition_invalid")
    service.step_case(db, actor=actor, case_id=case.id, data=CaseStepRequest(event="close"))
    history = [
        (h.event, h.from_status, h.to_status) for h in repository.case_history(db, actor, case.id)
    ]
    assert history == [
        ("open", None, "open"),
        ("start", "open", "in_progress"),
        ("resolve", "in_progress", "resolved"),
        ("close", "resolved", "closed"),
    ]


def test_assignment_rules_by_type_and_agency(db: Session, actor: Actor) -> None:
    north = auth_service.get_or_create_agency(db, code="NORTH-T")
    south = auth_service.get_or_create_agency(db, code="SOUTH-T")
    clerk = auth_service.create_user(
        db, username="clerk-t", password="correct-horse-battery", roles=["customer_desk"]
    )
    service.create_rule(
        db,
        actor=actor,
        data=AssignmentRuleCreate(case_type="dispute", assignee_group="billing_officer"),
    )
    service.create_rule(
        db,
        actor=actor,
        data=AssignmentRuleCreate(
            case_type="dispute", agency_id=north.id, assignee_user_id=clerk.id
        ),
    )
    in_north = service.open_case(
        db,
        actor=actor,
        data=CaseCreate(case_type="dispute", subject="contests bill", agency_id=north.id),
    )
    in_south = service.open_case(
        db,
        actor=actor,
        data=CaseCreate(case_type="dispute", subject="contests bill", agency_id=south.id),
    )
    other = service.open_case(
        db,
        actor=actor,
        data=CaseCreate(case_type="complaint", subject="rude agent", agency_id=north.id),
    )
    assert (in_north.assignee_user_id, in_north.assignee_group) == (clerk.id, None)
    assert (in_south.assignee_user_id, in_south.assignee_group) == (None, "billing_officer")
    assert (other.assignee_user_id, other.assignee_group) == (None, None)


def test_interactions_are_logged_and_future_times_refused(db: Session, actor: Actor) -> None:
    party = make_party(db, last_name="Kpadonou")
    case = service.open_case(
        db, actor=actor, data=CaseCreate(case_type="complaint", subject="outage", party_id=party.id)
    )
    logged = service.log_interaction(
        db,
        actor=actor,
        data=InteractionCreate(
            party_id=party.id,
            case_id=case.id,
            channel="phone",
            direction="in",
            notes="called about the outage",
            attachments=[{"sha256": "a" * 64, "filename": "photo.jpg", "media_type": "image/jpeg"}],
        ),
    )
    assert (logged.channel, logged.direction, logged.attachments[0]["filename"]) == (
        "phone",
        "in",
        "photo.jpg",
    )
    with pytest.raises(ValueOutOfRangeError):
        service.log_interaction(
            db,
            actor=actor,
            data=InteractionCreate(
                party_id=party.id,
                channel="desk",
                direction="in",
                occurred_at=datetime(2099, 1, 1, tzinfo=UTC),
            ),
        )


def test_case_at_premises_goes_to_the_agency_whose_territory_holds_it(
    db: Session, actor: Actor
) -> None:
    from tests.customers.test_territory import make_agency_with_territory

    agency = make_agency_with_territory(db, "EAST-T")
    location, _ = make_premises(db, lon=2.45, lat=6.36)
    case = service.open_case(
        db,
        actor=actor,
        data=CaseCreate(
            case_type="connection_request",
            subject="new connection",
            service_location_id=location.id,
        ),
    )
    assert case.agency_id == agency.id
