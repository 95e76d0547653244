"""Numbers shown to people: accounts carry a Luhn check digit so that a mistyped account
number is caught at the desk or the bank instead of paying someone else's bill."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from stdnum import luhn

from customers.models import (
    ACCOUNT_NUMBER_SEQ,
    CASE_NUMBER_SEQ,
    CONTRACT_NUMBER_SEQ,
    SERVICE_LOCATION_CODE_SEQ,
    USAGE_POINT_CODE_SEQ,
)

ACCOUNT_DIGITS = 9  # without the check digit


def account_number_from(sequence_value: int) -> str:
    """``1`` -> ``"0000000018"``: nine digits of sequence and one Luhn check digit."""
    body = f"{sequence_value:0{ACCOUNT_DIGITS}d}"
    return body + luhn.calc_check_digit(body)


def account_number_is_valid(number: str) -> bool:
    return number.isdigit() and len(number) == ACCOUNT_DIGITS + 1 and luhn.is_valid(number)


def next_account_number(session: Session) -> str:
    return account_number_from(session.scalar(select(ACCOUNT_NUMBER_SEQ.next_value())))


def next_contract_number(session: Session) -> str:
    return f"CT-{session.scalar(select(CONTRACT_NUMBER_SEQ.next_value())):08d}"


def next_case_number(session: Session) -> str:
    return f"CS-{session.scalar(select(CASE_NUMBER_SEQ.next_value())):08d}"


def next_service_location_code(session: Session) -> str:
    return f"PRM-{session.scalar(select(SERVICE_LOCATION_CODE_SEQ.next_value())):08d}"


def next_usage_point_code(session: Session) -> str:
    return f"UP-{session.scalar(select(USAGE_POINT_CODE_SEQ.next_value())):08d}"
