"""User administration and sign-in. Functions flush, never commit."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, object_session

from core.auth.companies import WorkingCompany, working_company
from core.auth.errors import (
    AgencyNotFoundError,
    CredentialsInvalidError,
    LanguageUnknownError,
    RoleUnknownError,
    SignInInputInvalidError,
    UserExistsError,
    UserInactiveError,
)
from core.auth.models import Agency, User
from core.auth.passwords import hash_password, needs_rehash, verify_password
from core.auth.scopes import Role, scopes_for
from core.auth.throttle import hold_username, record_attempt, refuse_if_throttled
from core.auth.tokens import decode_token, issue_token
from core.context import Actor
from core.errors import FieldError
from core.i18n import LANGUAGES
from core.territory import OutsideTerritoryError, Scope, agency_allowed


def actor_for(user: User, company: str | None = None) -> Actor:
    """The principal of ``user``, working for their own company or ``company`` (a code,
    one of theirs: ``core.auth.companies``)."""
    territory_agency_id = (
        user.agency_id if user.agency is not None and user.agency.territory is not None else None
    )
    session = object_session(user)
    working = (
        working_company(session, user, company)
        if session is not None
        else WorkingCompany(user.company_id, several=False)
    )
    return Actor(
        user_id=user.id,
        username=user.username,
        scopes=scopes_for(user.roles),
        agency_id=user.agency_id,
        territory_agency_id=territory_agency_id,
        company_id=working.company_id,
        # Several companies: a principal no agency outline bounds sees their company's.
        territory_company_id=(
            working.company_id if working.several and territory_agency_id is None else None
        ),
        language=user.language,
    )


def get_or_create_agency(session: Session, *, code: str, name: str | None = None) -> Agency:
    agency = session.scalar(select(Agency).where(Agency.code == code))
    if agency is None:
        agency = Agency(code=code, name=name or code)
        session.add(agency)
        session.flush()
    return agency


def list_users(session: Session, *, actor: Actor, offset: int, limit: int) -> list[User]:
    """Staff accounts by username: all of them for head office, else the actor's agency's
    (their company's, for a company's head office when several companies share Kilowatch)."""
    query = select(User).order_by(User.username)
    if actor.territory_agency_id is not None:
        query = query.where(User.agency_id == actor.agency_id)
    elif actor.territory_company_id is not None:  # an agency's staff, or head office's
        company = Scope(None, actor.territory_company_id)
        query = query.where(
            or_(
                company.holds(User.agency_id),
                and_(User.agency_id.is_(None), User.company_id == actor.territory_company_id),
            )
        )
    return list(session.scalars(query.offset(offset).limit(limit)))


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    roles: list[str],
    agency_code: str | None = None,
    full_name: str = "",
    actor: Actor | None = None,
) -> User:
    """A new staff account. An administrator bound to a territory (``actor``) creates
    accounts of their own agency only: never head-office ones, never another agency's."""
    unknown = [r for r in roles if r not in Role.__members__.values()]
    if unknown or not roles:
        raise RoleUnknownError(
            f"unknown role(s) {', '.join(unknown) or '(none given)'}; "
            f"known: {', '.join(r.value for r in Role)}",
            errors=[FieldError("role", "unknown role", "role_unknown")],
        )
    if session.scalar(select(User.id).where(func.lower(User.username) == username.lower())):
        raise UserExistsError(f"user {username!r} already exists")
    agency_id = None
    agency_company: int | None = None
    if agency_code:
        agency = session.scalar(select(Agency).where(Agency.code == agency_code))
        if agency is None:
            raise AgencyNotFoundError(f"agency {agency_code!r} does not exist")
        agency_id, agency_company = agency.id, agency.company_id
    if (
        actor is not None and actor.territory_agency_id is not None and agency_id != actor.agency_id
    ) or (
        actor is not None
        and agency_id is not None
        and not agency_allowed(session, actor, agency_id)
    ):
        raise OutsideTerritoryError(
            "you may create accounts of your own agency (or company) only",
            errors=[FieldError("agency_code", "not your agency", "outside_territory")],
        )
    user = User(
        username=username,
        full_name=full_name,
        password_hash=hash_password(password),
        roles=list(dict.fromkeys(roles)),
        agency_id=agency_id,
    )
    if agency_company is not None:
        user.company_id = agency_company  # an agency's staff work for its company
    elif actor is not None and actor.company_id is not None:
        user.company_id = actor.company_id
    session.add(user)
    session.flush()
    return user


# Characters no username holds and PostgreSQL text cannot store (NUL): refused as input.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
USERNAME_MAX = 150
PASSWORD_MAX = 1024


def _check_sign_in_input(username: str, password: str) -> None:
    """Bad sign-in input is a 422 naming the field, before any lock, count or hash."""
    errors = []
    if not 1 <= len(username) <= USERNAME_MAX:
        errors.append(FieldError("username", f"1 to {USERNAME_MAX} characters", "length"))
    elif _CONTROL_CHARACTERS.search(username):
        errors.append(FieldError("username", "no control characters", "control_character"))
    if len(password) > PASSWORD_MAX:
        errors.append(FieldError("password", f"at most {PASSWORD_MAX} characters", "length"))
    elif "\x00" in password:
        errors.append(FieldError("password", "no NUL character", "control_character"))
    if errors:
        raise SignInInputInvalidError("the sign-in form is invalid", errors=errors)


def authenticate(
    session: Session, *, username: str, password: str, client_address: str
) -> tuple[User, str, int]:
    """Check a password and issue a token. Records every checked attempt; refuses without
    checking when recent failures reach a limit (``core.auth.throttle`` states the rule).

    The caller must commit even when this raises ``CredentialsInvalidError``, so that the
    failed attempt is counted (and the username's lock released at once).
    """
    _check_sign_in_input(username, password)
    hold_username(session, username)
    refuse_if_throttled(session, username=username, client_address=client_address)
    user = session.scalar(select(User).where(func.lower(User.username) == username.lower()))
    ok = verify_password(user.password_hash if user else None, password)
    record_attempt(session, username=username, client_address=client_address, succeeded=ok)
    if not ok or user is None:
        raise CredentialsInvalidError("username or password is wrong")
    if not user.is_active:
        raise UserInactiveError("this account is disabled")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = datetime.now(UTC)
    token, expires_in = issue_token(
        user_id=user.id,
        username=user.username,
        scopes=scopes_for(user.roles),
        agency_id=user.agency_id,
    )
    session.flush()
    return user, token, expires_in


def actor_from_token(session: Session, token: str, company: str | None = None) -> Actor:
    """The current principal behind a token: the user must still exist and be active, and
    their scopes are those of their roles now (a demoted user loses scopes at once);
    ``company`` chooses one of the user's companies (``core.auth.companies``)."""
    claims = decode_token(token)
    user = session.get(User, int(claims["sub"]))
    if user is None or not user.is_active:
        raise UserInactiveError("this account no longer exists or is disabled")
    return actor_for(user, company)


def set_language(session: Session, actor: Actor, language: str | None) -> str | None:
    """The signed-in user's own interface language (``fr``, ``en``, ``pt``; None: their
    browser's). Anyone may choose their own; nobody another's."""
    if language is not None and language not in LANGUAGES:
        raise LanguageUnknownError(
            f"unknown language {language!r}; known: {', '.join(LANGUAGES)}",
            errors=[FieldError("language", "unknown language", "language_unknown")],
        )
    user = session.get(User, actor.user_id) if actor.user_id is not None else None
    if user is None:
        raise UserInactiveError("only a signed-in member of staff has a language to choose")
    user.language = language
    session.flush()
    return language
