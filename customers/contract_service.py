"""Accounts, and contracts with their processes: move-in, move-out, transfer, change of
subscribed power, termination. Each process is a step of ``ContractLifecycle`` recorded in
customer_contract_transition. Functions flush, never commit: the final-reading order is
an outbox event, so it leaves only if the whole step commits."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.context import Actor
from core.db import state_reason
from core.errors import FieldError
from core.flush import by_constraint, flush_guarded
from core.outbox import emit
from customers import repository
from customers.enums import AccountStatus, ContractRole, ContractStatus, DeliveryChannel
from customers.errors import (
    AccountNotFoundError,
    ContractDatesInvalidError,
    ContractOverlapError,
    ReferenceUnknownError,
    UsagePointNotFoundError,
)
from customers.events import FinalReadingRequested, SubscribedPowerChanged
from customers.machines import CONTRACT
from customers.models import (
    Account,
    Contract,
    ContractRoleAssignment,
    Party,
    PartyEmail,
    PartyPhone,
    UsagePoint,
)
from customers.normalize import normalize_phone
from customers.numbering import next_account_number, next_contract_number
from customers.party_service import require_party
from customers.schemas import (
    AccountCreate,
    AccountUpdate,
    ChangePowerRequest,
    ContractRead,
    ContractUpdate,
    MoveInRequest,
    MoveOutRequest,
    RoleRead,
    TerminateRequest,
    TransferRequest,
)


def _overlap() -> ContractOverlapError:
    return ContractOverlapError(
        "the usage point already has an active or pending contract for that period; "
        "move the current occupant out first"
    )


# The database, not a prior read, has the last word on overlap (two desks moving people
# into one usage point at once cannot both win).
OVERLAP = by_constraint(
    {
        "ex_customer_contract_usage_point_period": _overlap,
        "uq_customer_contract_active_usage_point": _overlap,
    }
)


# --- accounts ---------------------------------------------------------------------------


def _delivery(
    session: Session, party: Party, channel: DeliveryChannel, email: str | None, phone: str | None
) -> tuple[str | None, str | None]:
    """Where bills go: the given address, else the payer's first one; required by the
    channel (an e-mail for email, a phone for sms)."""
    email = email.lower() if email else None
    if phone:
        phone = normalize_phone(phone, field="delivery_phone")
    if channel == DeliveryChannel.EMAIL and not email:
        email = session.scalar(
            select(PartyEmail.email).where(PartyEmail.party_id == party.id).order_by(PartyEmail.id)
        )
        if not email:
            raise ReferenceUnknownError(
                "e-mail delivery needs an address and the payer has none",
                errors=[FieldError("delivery_email", "required for e-mail delivery", "required")],
            )
    if channel == DeliveryChannel.SMS and not phone:
        phone = session.scalar(
            select(PartyPhone.e164).where(PartyPhone.party_id == party.id).order_by(PartyPhone.id)
        )
        if not phone:
            raise ReferenceUnknownError(
                "SMS delivery needs a phone number and the payer has none",
                errors=[FieldError("delivery_phone", "required for SMS delivery", "required")],
            )
    return email, phone


def create_account(session: Session, *, actor: Actor, data: AccountCreate) -> Account:
    payer = require_party(session, actor, data.payer_party_id, "payer_party_id")
    email, phone = _delivery(
        session, payer, data.delivery_channel, data.delivery_email, data.delivery_phone
    )
    account = Account(
        number=next_account_number(session),
        payer_party_id=payer.id,
        delivery_channel=data.delivery_channel.value,
        delivery_email=email,
        delivery_phone=phone,
        language=data.language,
        status=AccountStatus.OPEN.value,
    )
    session.add(account)
    session.flush()
    session.refresh(account)
    return account


def update_account(
    session: Session, *, actor: Actor, account_id: int, data: AccountUpdate
) -> Account:
    account = repository.get_account(session, actor, account_id)
    state_reason(session, data.reason)
    payer = session.get(Party, account.payer_party_id)
    channel = data.delivery_channel or DeliveryChannel(account.delivery_channel)
    email = (
        data.delivery_email if "delivery_email" in data.model_fields_set else account.delivery_email
    )
    phone = (
        data.delivery_phone if "delivery_phone" in data.model_fields_set else account.delivery_phone
    )
    email, phone = _delivery(session, payer, channel, email, phone)  # type: ignore[arg-type]
    account.delivery_channel, account.delivery_email, account.delivery_phone = (
        channel.value,
        email,
        phone,
    )
    if data.language is not None:
        account.language = data.language
    session.flush()
    session.refresh(account)
    return account


def _account_for(session: Session, actor: Actor, account_id: int | None, payer: Party) -> Account:
    if account_id is None:
        return create_account(
            session,
            actor=actor,
            data=AccountCreate(payer_party_id=payer.id, language=payer.language),
        )
    try:
        account = repository.get_account(session, actor, account_id)
    except AccountNotFoundError as exc:
        raise ReferenceUnknownError(
            f"no account {account_id}",
            errors=[FieldError("account_id", "unknown account", "reference_unknown")],
        ) from exc
    if account.status != AccountStatus.OPEN:
        raise ReferenceUnknownError(
            f"account {account.number} is closed",
            errors=[FieldError("account_id", "account is closed", "account_closed")],
        )
    return account


# --- contracts --------------------------------------------------------------------------


def contract_reads(session: Session, contracts: list[Contract]) -> list[ContractRead]:
    roles = repository.roles_of(session, [c.id for c in contracts])
    return [
        ContractRead.model_validate(contract).model_copy(
            update={"roles": [RoleRead.model_validate(r) for r in roles[contract.id]]}
        )
        for contract in contracts
    ]


def _flush_contract(session: Session, apply: Callable[[], object] | None = None) -> None:
    flush_guarded(session, OVERLAP, apply)


def _step(
    session: Session,
    actor: Actor,
    contract: Contract,
    event: str,
    reason: str | None,
    details: dict[str, Any] | None = None,
) -> None:
    """One step of the contract's lifecycle, in its history, with the time it changed."""
    CONTRACT.step(session, actor, contract, event, reason=reason, details=details)
    contract.status_changed_at = datetime.now(UTC)


def _usage_point_for(session: Session, actor: Actor, usage_point_id: int) -> UsagePoint:
    try:
        return repository.get_usage_point(session, actor, usage_point_id, lock=True)
    except UsagePointNotFoundError as exc:
        raise ReferenceUnknownError(
            f"no usage point {usage_point_id}",
            errors=[FieldError("usage_point_id", "unknown usage point", "reference_unknown")],
        ) from exc


def _add_roles(session: Session, contract: Contract, roles: list[tuple[int, str]]) -> None:
    for party_id, role in dict.fromkeys(roles):
        session.add(ContractRoleAssignment(contract_id=contract.id, party_id=party_id, role=role))


def move_in(session: Session, *, actor: Actor, data: MoveInRequest) -> Contract:
    """A party starts being supplied at a usage point (pending, then active at once unless
    ``activate`` is false)."""
    usage_point = _usage_point_for(session, actor, data.usage_point_id)
    holder = require_party(session, actor, data.holder_party_id, "holder_party_id")
    payer = (
        require_party(session, actor, data.payer_party_id, "payer_party_id")
        if data.payer_party_id
        else holder
    )
    for index, role in enumerate(data.roles):
        require_party(session, actor, role.party_id, f"roles/{index}/party_id")
    account = _account_for(session, actor, data.account_id, payer)
    state_reason(session, data.reason)
    contract = Contract(
        number=next_contract_number(session),
        holder_party_id=holder.id,
        usage_point_id=usage_point.id,
        account_id=account.id,
        tariff_code=data.tariff_code,
        subscribed_power_kva=data.subscribed_power_kva or usage_point.subscribed_power_kva,
        start_date=data.start_date,
        status=ContractStatus.PENDING.value,
    )
    _flush_contract(session, lambda: session.add(contract))
    _add_roles(
        session,
        contract,
        [(holder.id, ContractRole.HOLDER.value), (payer.id, ContractRole.PAYER.value)]
        + [(r.party_id, r.role.value) for r in data.roles],
    )
    if data.activate:
        details = {"start_date": str(data.start_date)}
        _flush_contract(
            session, lambda: _step(session, actor, contract, "move_in", data.reason, details)
        )
    session.flush()
    return contract


def _check_end(contract: Contract, end_date: date, field: str) -> None:
    if end_date < contract.start_date:
        raise ContractDatesInvalidError(
            f"{field} {end_date} is before the contract start {contract.start_date}",
            errors=[FieldError(field, "before the contract start", "contract_dates_invalid")],
        )


def _order_final_reading(
    session: Session, contract: Contract, reading_date: date, process: str
) -> None:
    usage_point = session.get(UsagePoint, contract.usage_point_id)
    emit(
        session,
        FinalReadingRequested(
            contract_id=contract.id,
            contract_number=contract.number,
            usage_point_id=contract.usage_point_id,
            usage_point_code=usage_point.code if usage_point else None,
            reading_date=reading_date,
            process=process,
        ),
    )


def move_out(session: Session, *, actor: Actor, contract_id: int, data: MoveOutRequest) -> Contract:
    """The occupant leaves: supply under this contract ends on ``end_date`` and a final
    reading of that day is ordered (event for the field domain, sent after commit)."""
    contract = repository.get_contract(session, actor, contract_id, lock=True)
    state_reason(session, data.reason)
    _check_end(contract, data.end_date, "end_date")
    _step(session, actor, contract, "move_out", data.reason, {"end_date": str(data.end_date)})
    contract.end_date = data.end_date
    _flush_contract(session)
    _order_final_reading(session, contract, data.end_date, "move_out")
    return contract


def transfer(
    session: Session, *, actor: Actor, contract_id: int, data: TransferRequest
) -> tuple[Contract, Contract]:
    """Hand the usage point over to a new holder on ``transfer_date`` without a gap: the
    old contract ends (transferred), a new one starts the same day; owners stay owners."""
    contract = repository.get_contract(session, actor, contract_id, lock=True)
    new_holder = require_party(session, actor, data.new_holder_party_id, "new_holder_party_id")
    state_reason(session, data.reason)
    _check_end(contract, data.transfer_date, "transfer_date")
    _step(
        session,
        actor,
        contract,
        "transfer",
        data.reason,
        {"transfer_date": str(data.transfer_date), "new_holder_party_id": new_holder.id},
    )
    contract.end_date = data.transfer_date
    _flush_contract(session)  # frees the usage point before the new contract takes it
    account = _account_for(session, actor, data.account_id, new_holder)
    successor = Contract(
        number=next_contract_number(session),
        holder_party_id=new_holder.id,
        usage_point_id=contract.usage_point_id,
        account_id=account.id,
        tariff_code=data.tariff_code or contract.tariff_code,
        subscribed_power_kva=contract.subscribed_power_kva,
        start_date=data.transfer_date,
        status=ContractStatus.PENDING.value,
        previous_contract_id=contract.id,
    )
    _flush_contract(session, lambda: session.add(successor))
    owners = session.scalars(
        select(ContractRoleAssignment.party_id).where(
            ContractRoleAssignment.contract_id == contract.id,
            ContractRoleAssignment.role == ContractRole.OWNER.value,
        )
    ).all()
    _add_roles(
        session,
        successor,
        [
            (new_holder.id, ContractRole.HOLDER.value),
            (account.payer_party_id, ContractRole.PAYER.value),
        ]
        + [(owner, ContractRole.OWNER.value) for owner in owners],
    )
    details = {"start_date": str(data.transfer_date), "previous_contract_id": contract.id}
    _flush_contract(
        session, lambda: _step(session, actor, successor, "move_in", data.reason, details)
    )
    _order_final_reading(session, contract, data.transfer_date, "transfer")
    return contract, successor


def change_power(
    session: Session, *, actor: Actor, contract_id: int, data: ChangePowerRequest
) -> Contract:
    """A new subscribed power for the contract and its usage point."""
    contract = repository.get_contract(session, actor, contract_id, lock=True)
    state_reason(session, data.reason)
    before = Decimal(contract.subscribed_power_kva)
    _check_end(contract, data.effective_date, "effective_date")
    _step(
        session,
        actor,
        contract,
        "change_power",
        data.reason,
        {
            "from_kva": str(before),
            "to_kva": str(data.subscribed_power_kva),
            "effective_date": str(data.effective_date),
        },
    )
    contract.subscribed_power_kva = data.subscribed_power_kva
    usage_point = session.get(UsagePoint, contract.usage_point_id, with_for_update=True)
    usage_point.subscribed_power_kva = data.subscribed_power_kva  # type: ignore[union-attr]
    session.flush()
    emit(
        session,
        SubscribedPowerChanged(
            contract_id=contract.id,
            usage_point_id=contract.usage_point_id,
            from_kva=before,
            to_kva=data.subscribed_power_kva,
            effective_date=data.effective_date,
        ),
    )
    return contract


def terminate(
    session: Session, *, actor: Actor, contract_id: int, data: TerminateRequest
) -> Contract:
    """End a contract without a move-out (e.g. by the utility); a pending one is cancelled."""
    contract = repository.get_contract(session, actor, contract_id, lock=True)
    state_reason(session, data.reason)
    was_active = contract.status == ContractStatus.ACTIVE
    if was_active:
        _check_end(contract, data.end_date, "end_date")
    _step(session, actor, contract, "terminate", data.reason, {"end_date": str(data.end_date)})
    if was_active:
        contract.end_date = data.end_date
    _flush_contract(session)
    if was_active:
        _order_final_reading(session, contract, data.end_date, "termination")
    return contract


def simple_step(
    session: Session, *, actor: Actor, contract_id: int, event: str, reason: str | None
) -> Contract:
    """``move_in`` (activate a pending contract) or ``cancel`` (a pending one)."""
    contract = repository.get_contract(session, actor, contract_id, lock=True)
    state_reason(session, reason)
    _flush_contract(session, lambda: _step(session, actor, contract, event, reason))
    return contract


def update_contract(
    session: Session, *, actor: Actor, contract_id: int, data: ContractUpdate
) -> Contract:
    contract = repository.get_contract(session, actor, contract_id, lock=True)
    state_reason(session, data.reason)
    if data.tariff_code is not None and data.tariff_code != contract.tariff_code:
        if contract.status not in (ContractStatus.PENDING, ContractStatus.ACTIVE):
            CONTRACT.fire(contract, "change_power")  # raises the stable 409
        contract.tariff_code = data.tariff_code
    session.flush()
    return contract
