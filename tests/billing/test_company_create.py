"""Opening a further company: ``kilowatch company create`` writes the company and its two
numbering series in one transaction, or nothing with a message naming the problem."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from billing.invoices.errors import SeriesExistsError
from billing.invoices.models import InvoiceSeries
from billing.invoices.numbering import draw, number_of, open_company_series
from core.auth.companies import CompanyExistsError, CompanyInputInvalidError, create_company
from core.auth.models import Company
from core.db import session_scope
from core.errors import InputInvalidError
from kilowatch.cli import app
from tests.conftest import process_database


def test_a_company_opens_with_its_own_series_numbered_from_one(db: Session) -> None:
    company = create_company(db, code="KW2", name=" Kilowatch Two ", currency="EUR", locale="pt_PT")
    open_company_series(db, company.id, invoice="KWF", credit_note="KWAV")
    assert (company.name, company.currency, company.locale) == ("Kilowatch Two", "EUR", "pt_PT")
    kinds = dict(
        db.execute(
            select(InvoiceSeries.kind, InvoiceSeries.series).where(
                InvoiceSeries.company_id == company.id
            )
        ).all()
    )
    assert kinds == {"invoice": "KWF", "credit_note": "KWAV"}
    # The first number drawn in the new series is 1: "KWF-000000001".
    assert number_of("KWF", draw(db, "KWF", 1)) == "KWF-000000001"


def test_bad_companies_and_series_are_refused_with_each_field_named(db: Session) -> None:
    with pytest.raises(CompanyInputInvalidError) as refused:
        create_company(db, code="k w", name="", currency="EURO", locale="xx_YY_ZZ")
    assert {e.field for e in refused.value.errors} == {"code", "name", "currency", "locale"}
    create_company(db, code="KW3", name="Three", currency="XOF", locale="fr_BJ")
    with pytest.raises(CompanyExistsError):
        create_company(db, code="KW3", name="Again", currency="XOF", locale="fr_BJ")
    with pytest.raises(InputInvalidError) as bad_series:
        open_company_series(db, 1, invoice="K-F", credit_note="K-F")
    assert {e.field for e in bad_series.value.errors} == {"invoice_series", "credit_note_series"}
    with pytest.raises(SeriesExistsError):  # "F" is the first company's invoice series
        open_company_series(db, 1, invoice="F", credit_note="ZZAV")


def test_the_command_writes_all_or_nothing(committed_database_url: str) -> None:
    with process_database(committed_database_url):
        runner = CliRunner()
        base = ["company", "create", "--code", "CLI2", "--name", "Cli Two"]
        refused = runner.invoke(
            app, [*base, "--currency", "EUR", "--invoice-series", "F",
                  "--credit-note-series", "CLIAV"],
        )  # fmt: skip
        # The series "F" is taken: the company was written first, and is rolled back with it.
        assert refused.exit_code == 2
        assert "series F exist already" in refused.output
        try:
            with session_scope() as session:
                assert session.scalar(select(func.count()).where(Company.code == "CLI2")) == 0
            made = runner.invoke(
                app, [*base, "--currency", "EUR", "--locale", "pt_PT", "--invoice-series",
                      "CLIF", "--credit-note-series", "CLIAV"],
            )  # fmt: skip
            assert made.exit_code == 0, made.output
            with session_scope() as session:
                company = session.scalars(select(Company).where(Company.code == "CLI2")).one()
                assert company.currency == "EUR"
                series = set(
                    session.scalars(
                        select(InvoiceSeries.series).where(InvoiceSeries.company_id == company.id)
                    )
                )
                assert series == {"CLIF", "CLIAV"}
        finally:
            with session_scope() as session:
                session.execute(delete(InvoiceSeries).where(InvoiceSeries.series.like("CLI%")))
                session.execute(delete(Company).where(Company.code == "CLI2"))
