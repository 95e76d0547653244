"""Invoice documents for the tests: one hand-made invoice (its amounts computed in the
comments) and a way to read a PDF's text back."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

from billing.documents.document import (
    Customer,
    HistoryPoint,
    InvoiceDocument,
    Line,
    Reading,
    Utility,
)

UTILITY = Utility(
    name="Société Béninoise d'Énergie Électrique",
    address=("01 BP 123", "Cotonou"),
    tax_id="3201300012345",
    phone="+229 21 31 21 45",
)
CUSTOMER = Customer(
    name="Adjoa Houngbo",
    address=("Lot 12, carré 345", "Akpakpa, Cotonou"),
    account_number="0000000018",
    usage_point_code="UP-000042",
    supply_address=("Lot 12, carré 345",),
    meter_serial="SBE2400001",
)
# 12 months of history, the 12th estimated, then the invoiced month (Feb 2025).
HISTORY = (
    *(
        HistoryPoint(
            f"{2024 if m < 12 else 2025}-{(m + 1) if m < 12 else 1:02d}",
            Decimal(60 + 5 * m),
            m == 11,
        )
        for m in range(1, 13)
    ),
    HistoryPoint("2025-02", Decimal(150)),
)


def xof_invoice(**changes: object) -> InvoiceDocument:
    """February 2025, 150 kWh on a residential tariff, in XOF (no decimals):
    fixed charge 1 500; energy 0-20 kWh at 79 = 1 580, 21-150 kWh (130) at 115 = 14 950;
    net 1 500 + 1 580 + 14 950 = 18 030; VAT 18 % on 18 030 = 3 245.4 -> 3 245 (half-up);
    total 18 030 + 3 245 = 21 275; with 4 000 owed before, 25 275 due."""
    fields: dict[str, object] = dict(
        number="F2025-000123",
        issue_date=date(2025, 3, 3),
        due_date=date(2025, 3, 20),
        period_start=date(2025, 2, 1),
        period_end=date(2025, 3, 1),
        currency="XOF",
        utility=UTILITY,
        customer=CUSTOMER,
        tariff="BT1 Domestique",
        lines=(
            Line("fixed", "Prime fixe", 1500, Decimal(1), "mois", Decimal(1500)),
            Line("energy", "Énergie 0-20 kWh", 1580, Decimal(20), "kWh", Decimal(79)),
            Line("energy", "Énergie 21-150 kWh", 14950, Decimal(130), "kWh", Decimal(115)),
            Line("tax", "TVA 18 %", 3245, Decimal(18030), "", Decimal("0.18")),
        ),
        readings=(Reading("total", Decimal(10250), Decimal(10400), Decimal(150)),),
        history=HISTORY,
        previous_balance=4000,
    )
    fields.update(changes)
    return InvoiceDocument(**fields)  # type: ignore[arg-type]


def pdf_text(content: bytes) -> tuple[int, str]:
    """The number of pages and the text of a PDF (pypdf)."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(content))
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)
