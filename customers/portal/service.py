"""Register, verify, sign in and reset the password of a customer's portal identity, and
the one rule of the portal: a customer sees only the accounts their party pays."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.auth.passwords import hash_password, verify_password
from core.context import Actor
from core.errors import FieldError
from core.i18n import N_, gettext_for, language_of
from core.notify import service as notify
from core.notify.message import Channel, Message
from customers.case_service import open_case
from customers.enums import ContractStatus, PartyKind
from customers.errors import CaseNotFoundError
from customers.models import Account, Case, CaseStatusChange, Contract, Party
from customers.party_service import create_party
from customers.portal import preferences as notices
from customers.portal.errors import (
    PortalAccountNotFoundError,
    PortalCodeInvalidError,
    PortalCredentialsInvalidError,
    PortalLoginTakenError,
    PortalNotVerifiedError,
)
from customers.portal.models import PortalCode, PortalIdentity
from customers.portal.tokens import decode_portal_token, issue_portal_token
from customers.schemas import CaseCreate, PartyCreate
from customers.sla import is_breached

CODE_LIFETIME = timedelta(minutes=30)
MIN_PASSWORD = 10
CODE_TEXTS = {
    "verify": N_(
        "Votre code Kilowatch pour vérifier votre compte : %(code)s (valable %(minutes)s minutes)."
    ),
    "reset": N_(
        "Votre code Kilowatch pour changer de mot de passe : %(code)s (valable %(minutes)s minutes)."
    ),
}


@dataclass(frozen=True)
class Customer:
    """The signed-in customer: their identity and the party whose accounts they see."""

    identity_id: int
    party_id: int

    @property
    def actor(self) -> Actor:
        """Who the audit trail names for the customer's own changes (no staff scopes)."""
        return Actor(user_id=None, username=f"portal:{self.identity_id}", scopes=frozenset())


def _channel(login: str) -> Channel:
    return Channel.EMAIL if "@" in login else Channel.SMS


def _normal(login: str) -> str:
    return login.strip().lower() if "@" in login else login.strip().replace(" ", "")


def _identity(session: Session, login: str) -> PortalIdentity | None:
    return session.scalar(
        select(PortalIdentity).where(func.lower(PortalIdentity.login) == _normal(login))
    )


def _send_code(session: Session, identity: PortalIdentity, purpose: str) -> str:
    """A fresh six-digit code, stored hashed, sent through the identity's channel."""
    code = f"{secrets.randbelow(1_000_000):06d}"
    session.add(
        PortalCode(
            identity_id=identity.id,
            purpose=purpose,
            code_hash=hash_password(code),
            expires_at=datetime.now(UTC) + CODE_LIFETIME,
        )
    )
    # In the customer's own language (their party's), like every message they receive.
    party = session.get(Party, identity.party_id)
    language = language_of(party.language if party is not None else None)
    _ = gettext_for(language)
    body = CODE_TEXTS["verify" if purpose == "verify" else "reset"]
    notify.send(
        session,
        Customer(identity.id, identity.party_id).actor,
        Message(
            channel=Channel(identity.channel),
            to=(identity.login,),
            subject=_("Kilowatch : votre code"),
            body=_(body, code=code, minutes=int(CODE_LIFETIME.total_seconds() // 60)),
            language=language,
        ),
        reference=f"portal:{identity.id}:{purpose}",
    )
    session.flush()
    return code


def register(
    session: Session,
    *,
    first_name: str,
    last_name: str,
    login: str,
    password: str,
    party_id: int | None = None,
) -> PortalIdentity:
    """A new customer (a new party unless ``party_id`` links an existing one, as the desk
    does), unverified until the code sent to the login comes back."""
    if len(password) < MIN_PASSWORD:
        raise PortalCodeInvalidError(
            "the password is too short",
            errors=[FieldError("password", f"at least {MIN_PASSWORD} characters")],
        )
    login = _normal(login)
    if _identity(session, login) is not None:
        raise PortalLoginTakenError("this e-mail or phone already has a portal account")
    channel = _channel(login)
    if party_id is None:
        party, _ = create_party(
            session,
            actor=Actor(user_id=None, username="portal:register", scopes=frozenset()),
            data=PartyCreate(
                kind=PartyKind.PERSON,
                first_name=first_name,
                last_name=last_name,
                emails=[login] if channel is Channel.EMAIL else [],
                phones=[{"number": login, "is_primary": True}] if channel is Channel.SMS else [],
            ),
        )
        party_id = party.id
    elif session.get(Party, party_id) is None:
        raise PortalAccountNotFoundError("no such customer")
    identity = PortalIdentity(
        party_id=party_id,
        login=login,
        channel=channel.value,
        password_hash=hash_password(password),
        preferences=notices.defaults(channel.value).model_dump(mode="json"),
    )
    session.add(identity)
    session.flush()
    _send_code(session, identity, "verify")
    return identity


def _use_code(session: Session, identity: PortalIdentity, purpose: str, code: str) -> None:
    now = datetime.now(UTC)
    candidates = session.scalars(
        select(PortalCode).where(
            PortalCode.identity_id == identity.id,
            PortalCode.purpose == purpose,
            PortalCode.used_at.is_(None),
            PortalCode.expires_at > now,
        )
    ).all()
    for candidate in candidates:
        if verify_password(candidate.code_hash, code):
            candidate.used_at = now
            session.flush()
            return
    raise PortalCodeInvalidError("the code is wrong or has expired")


def verify(session: Session, *, login: str, code: str) -> PortalIdentity:
    identity = _identity(session, login)
    if identity is None:
        raise PortalCodeInvalidError("the code is wrong or has expired")
    _use_code(session, identity, "verify", code)
    identity.verified_at = datetime.now(UTC)
    session.flush()
    return identity


def sign_in(session: Session, *, login: str, password: str) -> tuple[PortalIdentity, str, int]:
    identity = _identity(session, login)
    # Always verify against a hash, so timing does not tell which logins exist.
    ok = verify_password(identity.password_hash if identity else None, password)
    if identity is None or not ok or not identity.is_active:
        raise PortalCredentialsInvalidError("login or password is wrong")
    if identity.verified_at is None:
        raise PortalNotVerifiedError("enter the code we sent you first")
    identity.last_login_at = datetime.now(UTC)
    session.flush()
    token, expires_in = issue_portal_token(identity_id=identity.id, party_id=identity.party_id)
    return identity, token, expires_in


def request_reset(session: Session, *, login: str) -> None:
    """Send a reset code when the login exists; say nothing either way (no enumeration)."""
    identity = _identity(session, login)
    if identity is not None and identity.is_active:
        _send_code(session, identity, "reset")


def reset_password(session: Session, *, login: str, code: str, password: str) -> None:
    identity = _identity(session, login)
    if identity is None:
        raise PortalCodeInvalidError("the code is wrong or has expired")
    if len(password) < MIN_PASSWORD:
        raise PortalCodeInvalidError(
            "the password is too short",
            errors=[FieldError("password", f"at least {MIN_PASSWORD} characters")],
        )
    _use_code(session, identity, "reset", code)
    identity.password_hash = hash_password(password)
    identity.verified_at = identity.verified_at or datetime.now(UTC)  # the code proved it
    session.flush()


def customer_from_token(session: Session, token: str) -> Customer:
    claims = decode_portal_token(token)
    identity = session.get(PortalIdentity, int(claims["sub"]))
    if identity is None or not identity.is_active or identity.verified_at is None:
        raise PortalCredentialsInvalidError("this portal account is closed")
    return Customer(identity.id, identity.party_id)


def my_accounts(session: Session, customer: Customer) -> list[Account]:
    return list(
        session.scalars(
            select(Account).where(Account.payer_party_id == customer.party_id).order_by(Account.id)
        )
    )


def my_account(session: Session, customer: Customer, account_id: int) -> Account:
    """One of the customer's accounts; any other answers 404 (its existence is not told)."""
    account = session.get(Account, account_id)
    if account is None or account.payer_party_id != customer.party_id:
        raise PortalAccountNotFoundError("no such account among yours")
    return account


def my_contracts(session: Session, customer: Customer) -> list[Contract]:
    """The active supply contracts billed to the customer's accounts, oldest first."""
    return list(
        session.scalars(
            select(Contract)
            .join(Account, Account.id == Contract.account_id)
            .where(
                Account.payer_party_id == customer.party_id,
                Contract.status == ContractStatus.ACTIVE.value,
            )
            .order_by(Contract.start_date, Contract.id)
        )
    )


def my_usage_points(session: Session, customer: Customer) -> dict[int, datetime]:
    """The usage points the customer is supplied at, each with the instant from which it
    is theirs (their contract's start, midnight UTC): what they may read and see reads of."""
    points: dict[int, datetime] = {}
    for contract in my_contracts(session, customer):
        since = datetime.combine(contract.start_date, datetime.min.time(), UTC)
        points[contract.usage_point_id] = min(since, points.get(contract.usage_point_id, since))
    return points


def preferences(session: Session, customer: Customer) -> notices.NotificationPreferences:
    identity = session.get(PortalIdentity, customer.identity_id)
    assert identity is not None  # the token was checked against it
    return notices.read(identity)


def set_preferences(
    session: Session, customer: Customer, change: notices.PreferencesChange
) -> notices.NotificationPreferences:
    """The customer's notification choices, applied where notices are sent."""
    identity = session.get(PortalIdentity, customer.identity_id)
    assert identity is not None  # the token was checked against it
    return notices.save(session, customer.actor, identity, change)


def my_cases(session: Session, customer: Customer) -> list[Case]:
    """The customer's complaints and requests, newest first (status and SLA due date)."""
    return list(
        session.scalars(
            select(Case).where(Case.party_id == customer.party_id).order_by(Case.id.desc())
        )
    )


def open_my_case(
    session: Session, customer: Customer, *, case_type: str, subject: str, description: str
) -> Case:
    """A complaint or request filed online: a case of the customer's party (its SLA clock
    and assignment rules as at the desk)."""
    return open_case(
        session,
        actor=customer.actor,
        data=CaseCreate(
            case_type=case_type,
            subject=subject,
            description=description,
            party_id=customer.party_id,
        ),
    )


def my_case(
    session: Session, customer: Customer, case_id: int
) -> tuple[Case, list[CaseStatusChange]]:
    """One of the customer's cases and its status history (oldest first); another
    party's case answers 404, as an unknown one does."""
    case = session.get(Case, case_id)
    if case is None or case.party_id != customer.party_id:
        raise CaseNotFoundError(f"no case {case_id} among yours")
    history = session.scalars(
        select(CaseStatusChange)
        .where(CaseStatusChange.case_id == case.id)
        .order_by(CaseStatusChange.id)  # in the order they happened (one clock: ids)
    )
    return case, list(history)


def case_is_late(case: Case, now: datetime | None = None) -> bool:
    """Past its SLA due date, or resolved after it (the utility's calendar)."""
    return case.sla_breached or is_breached(
        case.due_date, resolved_at=case.resolved_at, now=now or datetime.now(UTC)
    )
