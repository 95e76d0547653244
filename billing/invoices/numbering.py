"""Invoice numbers and payment references.

Numbers are drawn from a counter row per series (``billing_invoice_series``): one UPDATE
adds the count wanted and returns the new last number, which also locks the row until the
issuing transaction ends. Two issuers of the same series therefore queue; a rolled-back
issue gives its numbers back, so the series never has a gap (migration 0013's trigger
refuses one anyway).

The payment reference is an ISO 11649 creditor reference ("RF" + 2 check digits + up to
21 characters), built from the account number and the invoice's sequence so that a bank
or mobile-money payment carrying it is allocated to the right invoice without typing
errors (the check digits catch them).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from sqlalchemy import select, text
from sqlalchemy.orm import Session
from stdnum import iso11649

from billing.invoices.errors import InvoiceNotFoundError, SeriesExistsError
from billing.invoices.models import InvoiceSeries
from core.errors import FieldError, InputInvalidError

SEQ_DIGITS = 9


def number_of(series: str, seq: int) -> str:
    """``("F", 12)`` -> ``"F-000000012"``: what is printed and posted as source."""
    return f"{series}-{seq:0{SEQ_DIGITS}d}"


def draw(session: Session, series: str, count: int) -> int:
    """Take ``count`` consecutive numbers of ``series``; the first one. The counter row
    stays locked until the caller's transaction ends."""
    last = session.execute(
        text(
            "UPDATE billing_invoice_series SET last_number = last_number + :n "
            "WHERE series = :s RETURNING last_number"
        ),
        {"n": count, "s": series},
    ).scalar_one_or_none()
    if last is None:
        raise InvoiceNotFoundError(f"no numbering series {series}")
    return int(last) - count + 1


def company_series(session: Session, series: str, tariff_code: str) -> str:
    """The series a document rated under ``tariff_code`` is numbered in when ``series`` is
    asked for: ``series`` itself when it is the tariff's company's, else that company's
    series of the same kind ("F" of company 1 becomes company 2's invoice series). Each
    company numbers its own documents, gapless per series."""
    found = session.execute(
        text(
            "SELECT own.series FROM billing_invoice_series given "
            "JOIN billing_tariff t ON t.code = :code "
            "JOIN billing_invoice_series own "
            "  ON own.company_id = t.company_id AND own.kind = given.kind "
            "WHERE given.series = :series AND given.company_id <> t.company_id"
        ),
        {"code": tariff_code, "series": series},
    ).scalar_one_or_none()
    return str(found) if found is not None else series


# Every series of a call in one statement, their counter rows locked in series order (two
# issuers of several series never wait on each other crosswise).
_DRAW_MANY = text(
    """
    WITH wanted AS (
      SELECT s.id, w.n FROM billing_invoice_series s
      JOIN unnest(CAST(:series AS text[]), CAST(:counts AS bigint[])) AS w(series, n)
        ON w.series = s.series
      ORDER BY s.series FOR UPDATE OF s
    )
    UPDATE billing_invoice_series s SET last_number = s.last_number + wanted.n
    FROM wanted WHERE s.id = wanted.id
    RETURNING s.series, s.last_number - wanted.n + 1
    """
)


def draw_many(session: Session, counts: Mapping[str, int]) -> dict[str, int]:
    """``draw`` for several series at once (one statement): series -> its first number."""
    if len(counts) == 1:
        [(series, count)] = counts.items()
        return {series: draw(session, series, count)}
    names = sorted(counts)
    found = {
        str(series): int(first)
        for series, first in session.execute(
            _DRAW_MANY, {"series": names, "counts": [counts[n] for n in names]}
        )
    }
    missing = [n for n in names if n not in found]
    if missing:
        raise InvoiceNotFoundError(f"no numbering series {', '.join(missing)}")
    return found


# Each digit as itself, each letter as its value 10..35 (what ``int(c, 36)`` gives).
_BASE36 = str.maketrans({c: str(int(c, 36)) for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"})


def payment_reference(account_number: str, series: str, seq: int) -> str:
    """The ISO 11649 reference of an invoice: ``RF`` + check digits + account number +
    series + sequence (alphanumeric, at most 21 characters after the check digits)."""
    body = f"{account_number}{series}{seq}".upper()[-21:]
    # ISO 7064 MOD 97-10 over body + "RF" + "00", letters as 10..35 (what
    # stdnum.iso7064.mod_97_10.calc_check_digits does, without its per-call overhead:
    # a billing run computes one per invoice). tests/billing checks them with stdnum.
    digits = (body + "RF00").translate(_BASE36)
    return f"RF{98 - int(digits) % 97:02d}{body}"


def is_valid_reference(reference: str) -> bool:
    return bool(iso11649.is_valid(reference))


# A series goes into the ISO 11649 payment reference: letters and digits only.
SERIES_PATTERN = re.compile(r"^[A-Z0-9]{1,8}$")


def open_company_series(
    session: Session, company_id: int, *, invoice: str, credit_note: str
) -> list[InvoiceSeries]:
    """A company's own numbering series, one per kind of document, starting at 1."""
    wanted = {"invoice": invoice, "credit_note": credit_note}
    errors = [
        FieldError(f"{kind}_series", "1 to 8 capital letters or digits", "series")
        for kind, series in wanted.items()
        if not SERIES_PATTERN.match(series)
    ]
    if invoice == credit_note:
        errors.append(FieldError("credit_note_series", "must differ from the invoices'", "series"))
    if errors:
        raise InputInvalidError("the numbering series are not valid", errors=errors)
    taken = session.scalars(
        select(InvoiceSeries.series).where(InvoiceSeries.series.in_(wanted.values()))
    ).all()
    if taken:
        raise SeriesExistsError(f"series {', '.join(sorted(taken))} exist already")
    rows = [
        InvoiceSeries(series=series, kind=kind, company_id=company_id)
        for kind, series in wanted.items()
    ]
    session.add_all(rows)
    session.flush()
    return rows
