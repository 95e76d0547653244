"""Collections forms: the dunning policy editor (a policy's scope, interest and ordered
steps) and agreeing a payment plan over an account's open items. Both need
``collections:write``; a refused form comes back with its values and the reasons (422),
nothing written (the service runs in a savepoint)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from api.deps import DbSession
from api.params import Id
from api.web.rendering import page_actor, render
from billing.collections import plans, policies, service
from billing.collections.enums import DelayUnit, StepAction, StepChannel
from billing.collections.errors import CollectionAccountNotFoundError
from billing.collections.schemas import PlanCreate, PolicyCreate, PolicyUpdate
from billing.payments import repository as payments_repository
from core.errors import DomainError
from core.money import format_money
from core.settings import get_settings
from customers.models import Account

router = APIRouter(include_in_schema=False)
WRITE = "collections:write"
BLANK_STEPS = 3  # empty step rows offered below the policy's own
StepField = Annotated[list[str], Form(max_length=20)]


@dataclass
class Refusal:
    """Why a form was refused: one line per field, in the form's words."""

    errors: list[str] = field(default_factory=list)


def _where(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if len(parts) >= 2 and parts[0] == "steps" and parts[1].isdigit():
        return f"step {int(parts[1]) + 1} {' '.join(parts[2:])}".strip()
    return " ".join(parts) or "form"


def _refused(exc: ValidationError | DomainError) -> Refusal:
    if isinstance(exc, ValidationError):
        return Refusal(
            [f"{_where(e['loc'])}: {e['msg'].removeprefix('Value error, ')}" for e in exc.errors()]
        )
    details = [f"{e.field}: {e.message}" for e in getattr(exc, "errors", [])]
    return Refusal([exc.detail, *details])


def _percent(text: str, errors: list[str]) -> Decimal:
    """A yearly rate typed in percent (``12`` or ``12.5``) as a fraction."""
    try:
        return Decimal(text.strip() or "0") / 100
    except InvalidOperation:
        errors.append("interest rate: a number of percent a year")
        return Decimal(0)


def _steps(
    code: list[str],
    delay: list[str],
    unit: list[str],
    minimum: list[str],
    channel: list[str],
    fee: list[str],
    action: list[str],
) -> list[dict[str, str]]:
    """The filled step rows, in order (a row with neither code nor delay is left out)."""
    rows = []
    for values in zip(code, delay, unit, minimum, channel, fee, action, strict=False):
        c, d, u, m, ch, f, a = (v.strip() for v in values)
        if not (c or d):
            continue
        row = {"code": c, "delay": d, "delay_unit": u, "channel": ch, "action": a}
        row.update({k: v for k, v in (("min_amount", m), ("fee", f)) if v})
        rows.append(row)
    return rows


def _policy_form(
    request: Request,
    actor: Any,
    *,
    values: dict[str, Any],
    policy_id: int | None,
    refusal: Refusal | None = None,
) -> Response:
    steps = list(values.get("steps", []))
    steps += [{} for _ in range(BLANK_STEPS)]
    response = render(
        request,
        "collection_policy_form.html",
        actor,
        title="Edit dunning policy" if policy_id else "New dunning policy",
        values=values,
        steps=steps,
        policy_id=policy_id,
        errors=refusal.errors if refusal else [],
        units=list(DelayUnit),
        channels=list(StepChannel),
        actions=list(StepAction),
    )
    if refusal:
        response.status_code = 422
    return response


@router.get("/collections/policies/new", response_class=HTMLResponse)
def new_policy_page(request: Request, session: DbSession) -> Response:
    actor = page_actor(request, session, WRITE)
    return _policy_form(
        request, actor, values={"interest_percent": "0", "active": True}, policy_id=None
    )


@router.get("/collections/policies/{policy_id}/edit", response_class=HTMLResponse)
def edit_policy_page(request: Request, session: DbSession, policy_id: Id) -> Response:
    actor = page_actor(request, session, WRITE)
    read = service.policy_read(session, service.get_policy(session, policy_id))
    values = read.model_dump()
    values["interest_percent"] = str((read.interest_rate * 100).normalize())
    return _policy_form(request, actor, values=values, policy_id=policy_id)


def _policy_values(
    form: dict[str, Any], steps: list[dict[str, str]], errors: list[str]
) -> dict[str, Any]:
    values = {k: v.strip() for k, v in form.items() if isinstance(v, str)}
    data: dict[str, Any] = {
        "name": values.get("name", ""),
        "category": values.get("category") or None,
        "agency_id": values.get("agency_id") or None,
        "interest_rate": _percent(values.get("interest_percent", ""), errors),
        "interest_day_count": values.get("interest_day_count") or "ACT/365",
        "steps": steps,
    }
    return data


@router.post("/collections/policies/new", response_class=HTMLResponse)
def create_policy_from_page(
    request: Request,
    session: DbSession,
    code: Annotated[str, Form(max_length=60)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    category: Annotated[str, Form(max_length=60)] = "",
    agency_id: Annotated[str, Form(max_length=20)] = "",
    interest_percent: Annotated[str, Form(max_length=20)] = "0",
    interest_day_count: Annotated[str, Form(max_length=10)] = "ACT/365",
    step_code: StepField = [],  # noqa: B006 - FastAPI copies defaults
    step_delay: StepField = [],  # noqa: B006
    step_unit: StepField = [],  # noqa: B006
    step_min: StepField = [],  # noqa: B006
    step_channel: StepField = [],  # noqa: B006
    step_fee: StepField = [],  # noqa: B006
    step_action: StepField = [],  # noqa: B006
) -> Response:
    actor = page_actor(request, session, WRITE)
    errors: list[str] = []
    steps = _steps(step_code, step_delay, step_unit, step_min, step_channel, step_fee, step_action)
    form = {"name": name, "category": category, "agency_id": agency_id,
            "interest_percent": interest_percent, "interest_day_count": interest_day_count}  # fmt: skip
    data = {"code": code.strip(), **_policy_values(form, steps, errors)}
    shown = {**form, "code": code, "steps": steps, "active": True}
    try:
        if errors:
            raise DomainError(errors[0])
        with session.begin_nested():
            service.create_policy(session, actor, data=PolicyCreate.model_validate(data))
    except (ValidationError, DomainError) as exc:
        return _policy_form(request, actor, values=shown, policy_id=None, refusal=_refused(exc))
    return RedirectResponse("/collections/policies", status_code=303)


@router.post("/collections/policies/{policy_id}/edit", response_class=HTMLResponse)
def update_policy_from_page(
    request: Request,
    session: DbSession,
    policy_id: Id,
    name: Annotated[str, Form(max_length=200)] = "",
    category: Annotated[str, Form(max_length=60)] = "",
    agency_id: Annotated[str, Form(max_length=20)] = "",
    interest_percent: Annotated[str, Form(max_length=20)] = "0",
    interest_day_count: Annotated[str, Form(max_length=10)] = "ACT/365",
    active: Annotated[str, Form(max_length=5)] = "",
    step_code: StepField = [],  # noqa: B006
    step_delay: StepField = [],  # noqa: B006
    step_unit: StepField = [],  # noqa: B006
    step_min: StepField = [],  # noqa: B006
    step_channel: StepField = [],  # noqa: B006
    step_fee: StepField = [],  # noqa: B006
    step_action: StepField = [],  # noqa: B006
) -> Response:
    actor = page_actor(request, session, WRITE)
    policy = service.get_policy(session, policy_id)
    errors: list[str] = []
    steps = _steps(step_code, step_delay, step_unit, step_min, step_channel, step_fee, step_action)
    form = {"name": name, "category": category, "agency_id": agency_id,
            "interest_percent": interest_percent, "interest_day_count": interest_day_count}  # fmt: skip
    data = {**_policy_values(form, steps, errors), "active": bool(active)}
    shown = {**form, "code": policy.code, "steps": steps, "active": bool(active)}
    try:
        if errors:
            raise DomainError(errors[0])
        with session.begin_nested():
            policies.update_policy(session, actor, policy, data=PolicyUpdate.model_validate(data))
    except (ValidationError, DomainError) as exc:
        session.expire_all()
        return _policy_form(
            request, actor, values=shown, policy_id=policy_id, refusal=_refused(exc)
        )
    return RedirectResponse("/collections/policies", status_code=303)


def _plan_form(
    request: Request,
    session: DbSession,
    actor: Any,
    account_id: int,
    values: dict[str, Any],
    refusal: Refusal | None = None,
) -> Response:
    account = session.get(Account, account_id)
    if account is None or not payments_repository.account_seen(session, actor, account_id):
        raise CollectionAccountNotFoundError(f"no customer account {account_id}")
    items = payments_repository.open_items(session, account_id)
    refs = {i.id: i.document_ref for i in payments_repository.items_of(session, account_id)}
    response = render(
        request,
        "collection_plan_form.html",
        actor,
        title=f"Payment plan for {account.number}",
        account=account,
        items=[{"ref": refs.get(i.id, str(i.id)), "item": i} for i in items],
        values=values,
        errors=refusal.errors if refusal else [],
        money=format_money,
        currency=get_settings().currency,
    )
    if refusal:
        response.status_code = 422
    return response


@router.get("/collections/accounts/{account_id}/plans/new", response_class=HTMLResponse)
def new_plan_page(request: Request, session: DbSession, account_id: Id) -> Response:
    actor = page_actor(request, session, WRITE)
    today = service.today()
    values = {"agreed_on": today.isoformat(), "instalments": "3", "down_payment": "0",
              "interest_percent": "0", "grace_days": "0", "item_ids": None}  # fmt: skip
    return _plan_form(request, session, actor, account_id, values)


@router.post("/collections/accounts/{account_id}/plans/new", response_class=HTMLResponse)
def create_plan_from_page(
    request: Request,
    session: DbSession,
    account_id: Id,
    item_ids: Annotated[list[str], Form(max_length=100)] = [],  # noqa: B006
    down_payment: Annotated[str, Form(max_length=20)] = "0",
    instalments: Annotated[str, Form(max_length=5)] = "",
    first_due_date: Annotated[str, Form(max_length=10)] = "",
    agreed_on: Annotated[str, Form(max_length=10)] = "",
    interest_percent: Annotated[str, Form(max_length=20)] = "0",
    grace_days: Annotated[str, Form(max_length=5)] = "0",
) -> Response:
    actor = page_actor(request, session, WRITE)
    errors: list[str] = []
    values = {"item_ids": item_ids, "down_payment": down_payment, "instalments": instalments,
              "first_due_date": first_due_date, "agreed_on": agreed_on,
              "interest_percent": interest_percent, "grace_days": grace_days}  # fmt: skip
    data = {
        "customer_account_id": account_id,
        "item_ids": item_ids,
        "down_payment": down_payment.strip() or "0",
        "instalments": instalments.strip(),
        "first_due_date": first_due_date.strip(),
        "agreed_on": agreed_on.strip(),
        "interest_rate": _percent(interest_percent, errors),
        "grace_days": grace_days.strip() or "0",
    }
    try:
        if errors:
            raise DomainError(errors[0])
        body = PlanCreate.model_validate(data)
        with session.begin_nested():
            plan = plans.create_plan(
                session,
                actor,
                customer_account_id=account_id,
                item_ids=body.item_ids,
                down_payment=body.down_payment,
                instalments=body.instalments,
                first_due_date=body.first_due_date,
                agreed_on=body.agreed_on,
                interest_rate=body.interest_rate,
                grace_days=body.grace_days,
            )
    except (ValidationError, DomainError) as exc:
        session.expire_all()
        return _plan_form(request, session, actor, account_id, values, _refused(exc))
    return RedirectResponse(f"/collections/plans/{plan.id}", status_code=303)
