"""Which company a member of staff works for in a request.

A user works for their own company (``User.company_id``) and for the further ones they are
bound to (``UserCompany``); an agency's staff for their agency's company only. A request
may choose one of them with the ``X-Kilowatch-Company`` header (the company's code);
naming another is refused (``company_not_bound``), never silently ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from babel import Locale, UnknownLocaleError
from babel.numbers import list_currencies
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.auth.models import Company, User, UserCompany
from core.errors import EntityConflictError, FieldError, InputInvalidError, PermissionDeniedError

COMPANY_HEADER = "X-Kilowatch-Company"


class CompanyNotBoundError(PermissionDeniedError):
    """The request chose a company the user does not work for."""

    code = "company_not_bound"
    title = "Not one of your companies"


@dataclass(frozen=True)
class WorkingCompany:
    """The company of a request, and whether its agencies' outlines bound what is seen
    (when this Kilowatch serves several companies)."""

    company_id: int
    several: bool


def company_ids_of(session: Session, user: User) -> list[int]:
    """The companies ``user`` works for, their own first."""
    if user.agency is not None:
        return [user.agency.company_id]
    further = session.scalars(
        select(UserCompany.company_id)
        .where(UserCompany.user_id == user.id, UserCompany.company_id != user.company_id)
        .order_by(UserCompany.company_id)
    )
    return [user.company_id, *further]


def working_company(session: Session, user: User, chosen: str | None = None) -> WorkingCompany:
    """The company ``user`` works for in this request: ``chosen`` (a company code) if it is
    one of theirs, else their own."""
    allowed = company_ids_of(session, user)
    company_id = allowed[0]
    if chosen:
        picked = session.scalar(select(Company.id).where(Company.code == chosen))
        if picked is None or picked not in allowed:
            raise CompanyNotBoundError(f"you do not work for company {chosen!r}")
        company_id = picked
    several = (session.scalar(select(func.count()).select_from(Company)) or 0) > 1
    return WorkingCompany(company_id, several)


def company_currency(session: Session, company_id: int | None) -> str:
    """The currency (ISO 4217) company ``company_id`` keeps its books in; the deployment's
    setting when no company is named (a system job)."""
    from core.settings import get_settings

    found = session.scalar(select(Company.currency).where(Company.id == company_id))
    return str(found) if found is not None else get_settings().currency


CODE_PATTERN = re.compile(r"^[A-Z0-9]{2,10}$")


class CompanyInputInvalidError(InputInvalidError):
    """A new company's code, currency or locale is not one Kilowatch can keep books in."""

    code = "company_invalid"


class CompanyExistsError(EntityConflictError):
    code = "company_exists"
    title = "This company code is taken"


def create_company(
    session: Session, *, code: str, name: str, currency: str, locale: str
) -> Company:
    """A new company served by this Kilowatch (its books still need numbering series and
    tariffs of their own, which their domains open: ``kilowatch company create``)."""
    errors = []
    if not CODE_PATTERN.match(code):
        errors.append(FieldError("code", "2 to 10 capital letters or digits", "company_code"))
    if currency not in list_currencies():
        errors.append(
            FieldError("currency", f"{currency!r} is not an ISO 4217 currency", "currency")
        )
    try:
        Locale.parse(locale)
    except (ValueError, UnknownLocaleError):
        errors.append(FieldError("locale", f"{locale!r} is not a CLDR locale", "locale"))
    if not name.strip():
        errors.append(FieldError("name", "a company needs a name", "required"))
    if errors:
        raise CompanyInputInvalidError("the new company is not valid", errors=errors)
    if session.scalar(select(Company.id).where(Company.code == code)) is not None:
        raise CompanyExistsError(f"a company {code!r} exists already")
    company = Company(code=code, name=name.strip(), currency=currency, locale=locale)
    session.add(company)
    session.flush()
    return company
