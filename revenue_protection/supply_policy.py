"""Reduce instead of cut: which customers a cut loses its teeth for.

A utility does not cut everyone who owes: a vulnerable household, a small residential
supply, a clinic may be limited to a few kVA (lights and a fridge) instead. The policy is
versioned data (``rp_supply_action_policy``, the newest version applies): ordered rules,
each a conjunction of optional conditions on the usage point, the first rule that matches
decides ``reduce`` (to ``limit_kva``) or ``cut``; no rule matching means a cut.

Conditions: ``categories`` (the usage point's category is one of them),
``max_subscribed_kva`` (subscribed power at most this), ``vulnerable`` (the account has a
vulnerable or medical hold of collections in force that day, or has not), ``meter_types``
(the fitted meter's type is one of them: ``smart`` meters can be limited remotely).

How a reduction is carried out is not the policy's business: a remote ``limit`` command
where the meter is smart, else a reduce-power work order (``campaigns``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from revenue_protection.models import SupplyActionPolicy


class PolicyRule(BaseModel):
    """One rule: every condition given must hold (an absent one always does)."""

    model_config = ConfigDict(extra="forbid")

    categories: list[str] | None = Field(None, min_length=1)
    max_subscribed_kva: Decimal | None = Field(None, gt=0)
    vulnerable: bool | None = None
    meter_types: list[Literal["postpaid", "prepaid", "smart"]] | None = Field(None, min_length=1)
    action: Literal["reduce", "cut"]
    limit_kva: Decimal = Field(Decimal(1), gt=0, le=1000)
    reason: str = Field("", max_length=200)


class SupplyPolicy(BaseModel):
    """One version of the policy."""

    model_config = ConfigDict(extra="forbid")

    rules: list[PolicyRule] = Field(default_factory=list, max_length=100)


class SupplyPolicyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    policy: SupplyPolicy
    note: str = Field("", max_length=2000)


EVERYONE_CUT = SupplyPolicy()  # before any version is published


@dataclass(frozen=True)
class Facts:
    usage_point_id: int
    category: str
    subscribed_kva: Decimal
    vulnerable: bool
    meter_type: str | None


@dataclass(frozen=True)
class Decision:
    action: str  # cut | reduce
    limit_kva: Decimal | None
    rule: int | None  # the rule's position (0-based); None: no rule matched
    reason: str = ""


def policy_in_force(session: Session) -> tuple[SupplyPolicy, int | None]:
    found = session.scalars(
        select(SupplyActionPolicy).order_by(SupplyActionPolicy.version.desc()).limit(1)
    ).first()
    if found is None:
        return EVERYONE_CUT, None
    return SupplyPolicy.model_validate(found.definition), found.version


def versions(session: Session) -> list[SupplyActionPolicy]:
    return list(
        session.scalars(select(SupplyActionPolicy).order_by(SupplyActionPolicy.version.desc()))
    )


def publish(session: Session, *, policy: SupplyPolicy, note: str = "") -> SupplyActionPolicy:
    """A new version of the policy; it applies to the campaigns built from now on."""
    version = (session.scalar(select(func.max(SupplyActionPolicy.version))) or 0) + 1
    row = SupplyActionPolicy(version=version, definition=policy.model_dump(mode="json"), note=note)
    session.add(row)
    session.flush()
    return row


def _matches(rule: PolicyRule, facts: Facts) -> bool:
    if rule.categories is not None and facts.category not in rule.categories:
        return False
    if rule.max_subscribed_kva is not None and facts.subscribed_kva > rule.max_subscribed_kva:
        return False
    if rule.vulnerable is not None and facts.vulnerable != rule.vulnerable:
        return False
    return rule.meter_types is None or facts.meter_type in rule.meter_types


def kva(value: Decimal | int | str) -> Decimal:
    """A power limit as stored and sent (hundredths of a kVA: ``1.00``)."""
    return Decimal(value).quantize(Decimal("0.01"))


def decide(policy: SupplyPolicy, facts: Facts) -> Decision:
    for n, rule in enumerate(policy.rules):
        if _matches(rule, facts):
            limit = kva(rule.limit_kva) if rule.action == "reduce" else None
            return Decision(rule.action, limit, n, rule.reason)
    return Decision("cut", None, None)


# The vulnerable and medical holds are collections' (billing layer, below): read here.
_FACTS = """
SELECT up.id, up.category, up.subscribed_power_kva,
       EXISTS (SELECT 1 FROM customer_contract c JOIN collection_hold h
               ON h.customer_account_id = c.account_id
               WHERE c.usage_point_id = up.id AND c.status = 'active'
                 AND h.kind IN ('vulnerable', 'medical') AND h.start_date <= :on
                 AND (h.end_date IS NULL OR h.end_date >= :on)) AS vulnerable,
       (SELECT m.meter_type FROM meter_installation i JOIN meter_asset m ON m.id = i.meter_id
        WHERE i.usage_point_id = up.id AND i.removed_at IS NULL
        ORDER BY i.installed_at DESC LIMIT 1) AS meter_type
FROM customer_usage_point up WHERE up.id = ANY(:ids)
"""


def facts_of(session: Session, usage_point_ids: list[int], on: date) -> dict[int, Facts]:
    rows = session.execute(text(_FACTS), {"ids": usage_point_ids, "on": on})
    return {r[0]: Facts(r[0], r[1], Decimal(r[2]), bool(r[3]), r[4]) for r in rows}


def decide_many(session: Session, usage_point_ids: list[int], on: date) -> dict[int, Decision]:
    """The policy in force's decision for each usage point (a cut for an unknown one)."""
    policy, _version = policy_in_force(session)
    facts = facts_of(session, usage_point_ids, on)
    return {
        up: decide(policy, facts[up]) if up in facts else Decision("cut", None, None)
        for up in usage_point_ids
    }


_ACCOUNT_POINTS = """
SELECT c.account_id, c.usage_point_id FROM customer_contract c
WHERE c.account_id = ANY(:ids) AND c.status = 'active' ORDER BY c.account_id, c.usage_point_id
"""


def for_accounts(
    session: Session, account_ids: list[int], on: date
) -> dict[int, tuple[str, Decimal | None]]:
    """Collections' cut list is by account: what a visit would do at each one's supplies.
    ``reduce`` (to the smallest limit) when the policy reduces every active usage point of
    the account, ``cut`` when it cuts every one, ``mixed`` otherwise; an account without an
    active supply is a ``cut`` (nothing to reduce)."""
    pairs = session.execute(text(_ACCOUNT_POINTS), {"ids": account_ids}).all()
    decided = decide_many(session, sorted({up for _a, up in pairs}), on)
    per_account: dict[int, list[Decision]] = {}
    for account_id, up in pairs:
        per_account.setdefault(account_id, []).append(decided[up])
    result: dict[int, tuple[str, Decimal | None]] = {}
    for account_id in account_ids:
        found = per_account.get(account_id, [])
        actions = {d.action for d in found}
        limits = [d.limit_kva for d in found if d.limit_kva is not None]
        action = actions.pop() if len(actions) == 1 else ("mixed" if actions else "cut")
        result[account_id] = (action, min(limits) if limits else None)
    return result
