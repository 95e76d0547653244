"""Normalisation of what people type: phone numbers (E.164) and document numbers.

Names and addresses are normalised in PostgreSQL (``customer_normalize_text``) so that
queries and stored columns use one rule.
"""

from __future__ import annotations

import re

import phonenumbers

from core.settings import get_settings
from customers.errors import PhoneInvalidError


def default_region() -> str:
    """The deployment's country (from the locale, ``fr_BJ`` -> ``BJ``) for local numbers."""
    locale = get_settings().locale
    _, _, country = locale.replace("-", "_").partition("_")
    return (country or "BJ").upper()


# Numbering plans that grew a prefix: people keep writing the old form for years. Benin
# put "01" in front of every 8-digit number on 30 November 2024 (ARCEP Benin).
LEGACY_NATIONAL_PREFIXES: dict[int, tuple[int, str]] = {229: (8, "01")}


def _upgrade_legacy(number: phonenumbers.PhoneNumber) -> phonenumbers.PhoneNumber:
    rule = LEGACY_NATIONAL_PREFIXES.get(number.country_code)
    national = str(number.national_number)
    if rule is None or phonenumbers.is_valid_number(number) or len(national) != rule[0]:
        return number
    upgraded = phonenumbers.parse(f"+{number.country_code}{rule[1]}{national}")
    return upgraded if phonenumbers.is_valid_number(upgraded) else number


def parse_phone(raw: str, region: str | None = None) -> phonenumbers.PhoneNumber | None:
    """The number ``raw`` denotes (legacy forms upgraded), or None when it is not one."""
    try:
        number = phonenumbers.parse(raw, region or default_region())
    except phonenumbers.NumberParseException:
        return None
    number = _upgrade_legacy(number)
    if not phonenumbers.is_possible_number(number):
        return None
    return number


def normalize_phone(raw: str, region: str | None = None, *, field: str = "phone") -> str:
    """E.164 form of ``raw``: "+229 97 12 34 56" and "97123456" (in Benin) give the same."""
    number = parse_phone(raw, region)
    if number is None or not phonenumbers.is_valid_number(number):
        from core.errors import FieldError

        raise PhoneInvalidError(
            f"{raw!r} is not a valid phone number",
            errors=[FieldError(field, "not a valid phone number", "phone_invalid")],
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_or_none(raw: str) -> str | None:
    """E.164 form of ``raw`` when it reads as a phone number (for search), else None."""
    number = parse_phone(raw)
    if number is None or not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_NOT_ALNUM = re.compile(r"[^0-9A-Za-z]+")


def normalize_document_number(number: str) -> str:
    """Upper case letters and digits only: "ab-12 345" and "AB12345" are one document."""
    return _NOT_ALNUM.sub("", number).upper()
