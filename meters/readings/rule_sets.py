"""Versioned validation rule sets: the active one judges every new read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core.context import Actor
from core.errors import FieldError
from core.locks import LockSpace, xact_lock
from meters.errors import RuleSetInvalidError
from meters.models import ValidationRuleSet
from meters.readings.rules import RuleParameters


@dataclass(frozen=True)
class ActiveRules:
    version: int
    parameters: RuleParameters


def active_rule_set(session: Session) -> ActiveRules:
    row = session.scalars(select(ValidationRuleSet).where(ValidationRuleSet.is_active)).one()
    return ActiveRules(row.version, RuleParameters.model_validate(row.parameters))


def publish_rule_set(
    session: Session, *, parameters: dict[str, Any], name: str = "", actor: Actor | None = None
) -> ValidationRuleSet:
    """Store ``parameters`` as the next version and make it the active one. Reads already
    judged keep the version that judged them."""
    try:
        checked = RuleParameters.model_validate(parameters)
    except ValidationError as exc:
        raise RuleSetInvalidError(
            "the rule parameters are invalid",
            errors=[
                FieldError("/".join(str(p) for p in e["loc"]) or "parameters", e["msg"])
                for e in exc.errors()
            ],
        ) from exc
    xact_lock(session, LockSpace.READING_RULE_SETS)
    latest = session.scalar(select(func.max(ValidationRuleSet.version))) or 0
    session.execute(
        update(ValidationRuleSet).values(is_active=False).where(ValidationRuleSet.is_active)
    )
    session.flush()
    rule_set = ValidationRuleSet(
        version=latest + 1,
        name=name,
        parameters=checked.model_dump(mode="json"),
        is_active=True,
        created_by=actor.user_id if actor else None,
    )
    session.add(rule_set)
    session.flush()
    return rule_set


def rule_sets(session: Session) -> list[ValidationRuleSet]:
    return list(session.scalars(select(ValidationRuleSet).order_by(ValidationRuleSet.version)))
