"""``kilowatch company``: open a further company (distributor or region with its own books)
on this Kilowatch: the company and its numbering series, in one transaction."""

from __future__ import annotations

import typer

from core.cli import console, fail
from core.context import SYSTEM, acting_as
from core.errors import DomainError

company_app = typer.Typer(help="Companies served by this Kilowatch.")


@company_app.command("create")
def company_create(
    code: str = typer.Option(
        ..., "--code", help="Short code, e.g. ZB (the API's X-Kilowatch-Company)"
    ),
    name: str = typer.Option(..., "--name"),
    currency: str = typer.Option(..., "--currency", help="ISO 4217, e.g. XOF, EUR"),
    locale: str = typer.Option("fr_FR", "--locale", help="CLDR locale, e.g. fr_BJ, pt_BR"),
    invoice_series: str = typer.Option(..., "--invoice-series", help="e.g. ZBF"),
    credit_note_series: str = typer.Option(..., "--credit-note-series", help="e.g. ZBAV"),
) -> None:
    """Create a company with its invoice and credit-note series (nothing is written when any
    part is refused). Its tariffs, policies and agencies are then created in it."""
    from billing.invoices.numbering import open_company_series
    from core.auth.companies import create_company
    from core.db import session_scope

    try:
        with acting_as(SYSTEM, request_id="cli:company-create"), session_scope() as session:
            company = create_company(
                session, code=code, name=name, currency=currency, locale=locale
            )
            open_company_series(
                session, company.id, invoice=invoice_series, credit_note=credit_note_series
            )
            company_id = company.id
    except DomainError as exc:
        details = "; ".join(f"{e.field}: {e.message}" for e in exc.errors)
        fail(f"{exc.detail}" + (f" ({details})" if details else ""))
    console.print(
        f"company {code} (id {company_id}, {currency}) created with series "
        f"{invoice_series} and {credit_note_series}"
    )
