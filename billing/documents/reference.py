"""Payment references: ISO 11649 structured creditor references (``RF`` + two check digits
+ up to 21 letters and digits), made and checked with python-stdnum.

A payer's bank or mobile-money operator carries the reference back with the payment;
the payments side finds the invoice from it (:func:`reference_body`) after checking the
digits, so a mistyped reference is caught instead of paying someone else's bill.
"""

from __future__ import annotations

import re

from stdnum import iso11649
from stdnum.exceptions import ValidationError
from stdnum.iso7064 import mod_97_10

MAX_BODY = 21  # 25 characters at most, less "RF" and the two check digits


class PaymentReferenceInvalidError(ValueError):
    """Not a valid ISO 11649 reference (format, length or check digits)."""


def rf_reference(body: str) -> str:
    """The RF reference of ``body`` (letters and digits; other characters are dropped, case
    folded): ``rf_reference("539007547034") == "RF18539007547034"``."""
    cleaned = re.sub(r"[^0-9A-Za-z]", "", body).upper()
    if not cleaned or len(cleaned) > MAX_BODY:
        raise PaymentReferenceInvalidError(
            f"a reference holds 1 to {MAX_BODY} letters and digits, not {cleaned!r}"
        )
    # ISO 11649: check digits such that body + "RF" + digits is 1 modulo 97 (ISO 7064).
    reference = f"RF{mod_97_10.calc_check_digits(cleaned + 'RF')}{cleaned}"
    iso11649.validate(reference)  # the library agrees, or this is a bug
    return reference


def invoice_reference(invoice_number: str) -> str:
    """The payment reference printed on invoice ``invoice_number`` (unique per series, so
    the reference is too)."""
    return rf_reference(invoice_number)


def validate_reference(reference: str) -> str:
    """``reference`` compacted (``RF18 5390 0754 7034`` -> ``RF18539007547034``), or
    :class:`PaymentReferenceInvalidError`."""
    try:
        return str(iso11649.validate(reference))
    except ValidationError as exc:
        raise PaymentReferenceInvalidError(f"{reference!r}: {exc}") from exc


def reference_body(reference: str) -> str:
    """What a valid reference carries (the invoice number without separators)."""
    return validate_reference(reference)[4:]


def printed(reference: str) -> str:
    """The reference in groups of four, as printed: ``RF18 5390 0754 7034``."""
    return str(iso11649.format(reference))
