"""What the collections pages read: the aged debt by age bucket x agency x category, the
collector's worklist and an account's collection timeline. Every query is limited to the
caller's territory (the account's rule, ``core.territory.rule_sql``)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from core.context import Actor
from core.settings import get_settings
from core.territory import rule_sql
from customers.models import Account

# (key, label, first day late, last day late or None): days late = the day less the due date.
BUCKETS = (
    ("d0_30", "0-30", 1, 30),
    ("d31_60", "31-60", 31, 60),
    ("d61_90", "61-90", 61, 90),
    ("d91_180", "91-180", 91, 180),
    ("d181", ">180", 181, None),
)

# An account's category: its active (else latest) contract's usage point's.
_CATEGORY = """
    (SELECT u.category FROM customer_contract c
     JOIN customer_usage_point u ON u.id = c.usage_point_id
     WHERE c.account_id = a.id ORDER BY c.status = 'active' DESC, c.id DESC LIMIT 1)
"""

_OPEN = """
    r.amount - COALESCE((SELECT sum(x.amount) FROM billing_payment_allocation x
                         WHERE x.item_id = r.id AND x.released_at IS NULL), 0)
"""


def _territory(actor: Actor) -> str:
    rule = rule_sql(actor, Account, "a")
    return f"AND {rule}" if rule else ""


def aged_debt(
    session: Session, actor: Actor, *, on: date, agency_id: int | None, category: str | None
) -> dict[str, Any]:
    """Open amounts of the items past due on ``on`` (amount less active allocations, in
    the utility's currency), per agency (the payer's) and category, in the buckets of
    ``BUCKETS``; with the bucket totals and the grand total."""
    sums = ",\n".join(
        f"COALESCE(sum(i.open_amount) FILTER (WHERE i.late >= {low}"
        + (f" AND i.late <= {high}" if high else "")
        + f"), 0) AS {key}"
        for key, _label, low, high in BUCKETS
    )
    sql = f"""
        WITH items AS (
            SELECT r.customer_account_id, :on - r.due_date AS late, {_OPEN} AS open_amount
            FROM billing_receivable_item r
            WHERE r.closed_at IS NULL AND r.due_date < :on AND r.currency = :currency
        )
        SELECT y.agency_id, g.code AS agency_code, {_CATEGORY} AS category,
               count(DISTINCT a.id) AS accounts, {sums}
        FROM items i
        JOIN customer_account a ON a.id = i.customer_account_id
        JOIN customer_party y ON y.id = a.payer_party_id
        LEFT JOIN core_agency g ON g.id = y.agency_id
        WHERE i.open_amount > 0
          AND (CAST(:agency AS bigint) IS NULL OR y.agency_id = :agency)
          {_territory(actor)}
        GROUP BY 1, 2, 3
    """
    rows = [
        dict(r)
        for r in session.execute(
            text(sql), {"on": on, "currency": get_settings().currency, "agency": agency_id}
        ).mappings()
    ]
    if category:
        rows = [r for r in rows if r["category"] == category]
    rows.sort(key=lambda r: (r["agency_code"] or "", r["category"] or ""))
    for row in rows:
        for key, *_ in BUCKETS:
            row[key] = int(row[key])
        row["total"] = sum(row[key] for key, *_ in BUCKETS)
    totals = {key: sum(r[key] for r in rows) for key, *_ in BUCKETS}
    totals["total"] = sum(totals.values())
    totals["accounts"] = sum(int(r["accounts"]) for r in rows)
    return {"on": on, "rows": rows, "totals": totals}


# What the collector does next, from the file's state and its last step.
_NEXT_ACTION = """
    CASE
        WHEN f.status = 'litigation' AND lit.handler_kind = 'pending' THEN 'hand_over'
        WHEN f.status = 'litigation' THEN 'follow_litigation'
        WHEN last.notice_status IN ('failed', 'no_address') THEN 'find_contact'
        WHEN last.notice_status = 'to_print' THEN 'print_letter'
        WHEN last.channel = 'field_visit' THEN 'visit'
        WHEN last.action = 'cut_eligible' THEN 'cut'
        ELSE 'call'
    END
"""
NEXT_ACTIONS = {
    "hand_over": "hand to a bailiff or a lawyer",
    "follow_litigation": "follow the litigation",
    "find_contact": "notice not delivered: find a phone or an address",
    "print_letter": "print and post the letter",
    "visit": "visit the premises",
    "cut": "put in a cut campaign",
    "call": "call the customer",
}
WORKLIST_SORTS = {
    "amount": "f.overdue_amount DESC, f.oldest_due_date, f.customer_account_id",
    "age": "f.oldest_due_date, f.overdue_amount DESC, f.customer_account_id",
}


def worklist(
    session: Session,
    actor: Actor,
    *,
    on: date,
    agency_id: int | None,
    sort: str,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    """The accounts at a dunning step (overdue or in litigation, something still owed),
    with their last step and the collector's next action, largest (``amount``) or oldest
    (``age``) debt first; in the caller's territory, of one agency (the payer's) if given."""
    sql = f"""
        SELECT f.customer_account_id, a.number AS account_number, y.agency_id,
               g.code AS agency_code, {_CATEGORY} AS category, f.status, f.overdue_amount,
               f.unpaid_bills, f.oldest_due_date, (:on - f.oldest_due_date) AS days_overdue,
               f.step_position, last.code AS step_code, last.done_on AS step_done_on,
               last.notice_status, nx.code AS next_step_code, f.next_step_date,
               {_NEXT_ACTION} AS next_action, count(*) OVER () AS total
        FROM collection_file f
        JOIN customer_account a ON a.id = f.customer_account_id
        JOIN customer_party y ON y.id = a.payer_party_id
        LEFT JOIN core_agency g ON g.id = y.agency_id
        LEFT JOIN LATERAL (
            SELECT x.action, x.channel, x.notice_status, x.done_on, st.code
            FROM collection_action x JOIN collection_step st ON st.id = x.step_id
            WHERE x.customer_account_id = f.customer_account_id
            ORDER BY x.id DESC LIMIT 1) last ON true
        LEFT JOIN LATERAL (
            SELECT l.handler_kind FROM collection_litigation l
            WHERE l.customer_account_id = f.customer_account_id
            ORDER BY l.id DESC LIMIT 1) lit ON true
        LEFT JOIN collection_step nx ON nx.policy_id = f.policy_id
                                    AND nx.position = f.step_position + 1
        WHERE f.status IN ('overdue', 'litigation') AND f.step_position > 0
          AND f.overdue_amount > 0
          AND (CAST(:agency AS bigint) IS NULL OR y.agency_id = :agency)
          {_territory(actor)}
        ORDER BY {WORKLIST_SORTS[sort]}
        LIMIT :limit OFFSET :offset
    """
    rows = [
        dict(r)
        for r in session.execute(
            text(sql),
            {"on": on, "agency": agency_id, "limit": limit, "offset": offset},
        ).mappings()
    ]
    total = int(rows[0]["total"]) if rows else 0
    for row in rows:
        del row["total"]
        row["next_action_text"] = NEXT_ACTIONS[row["next_action"]]
    return rows, total


def timeline(session: Session, customer_account_id: int) -> list[dict[str, Any]]:
    """An account's collection history, oldest first: bills and charges falling due,
    payments and reversals, steps done, plans' transitions, holds, litigation, write-offs.
    (The caller has checked the account is in the territory.)"""
    sql = """
        SELECT * FROM (
            SELECT r.due_date AS on_date, 'due' AS kind,
                   r.kind || ' ' || r.document_ref || ' due' AS what, r.amount, r.created_at AS at
            FROM billing_receivable_item r WHERE r.customer_account_id = :account
            UNION ALL
            SELECT p.value_date, 'payment',
                   'payment ' || p.number || ' (' || p.channel || ', ' || p.status || ')',
                   p.amount, p.received_at
            FROM billing_payment p WHERE p.customer_account_id = :account
            UNION ALL
            SELECT x.done_on, 'step',
                   'step ' || x.position || ' ' || st.code || ' by ' || x.channel
                   || ' (notice ' || x.notice_status || ')', x.amount_due, x.created_at
            FROM collection_action x JOIN collection_step st ON st.id = x.step_id
            WHERE x.customer_account_id = :account
            UNION ALL
            -- an agreement counts from its agreed day (recorded when typed in)
            SELECT CASE WHEN t.event = 'agree' THEN p.agreed_on
                        ELSE (t.at AT TIME ZONE :tz)::date END, 'plan',
                   'plan ' || t.plan_id || ' ' || t.event || ' (' || t.to_status || ')'
                   || COALESCE(': ' || t.reason, ''), NULL, t.at
            FROM collection_plan_transition t JOIN collection_plan p ON p.id = t.plan_id
            WHERE p.customer_account_id = :account
            UNION ALL
            SELECT h.start_date, 'hold',
                   h.kind || ' hold on ' || array_to_string(h.blocks, ', ')
                   || COALESCE(' until ' || h.end_date, '') || ': ' || h.reason, NULL,
                   h.created_at
            FROM collection_hold h WHERE h.customer_account_id = :account
            UNION ALL
            SELECT l.opened_on, 'litigation',
                   'handed to ' || l.handler_kind || COALESCE(' ' || NULLIF(l.handler_name, ''),
                   ''), l.amount, l.created_at
            FROM collection_litigation l WHERE l.customer_account_id = :account
            UNION ALL
            SELECT COALESCE(w.decided_on, (w.created_at AT TIME ZONE :tz)::date), 'write_off',
                   'write-off ' || w.status || ': ' || w.reason, w.amount, w.created_at
            FROM collection_write_off w WHERE w.customer_account_id = :account
        ) e
        ORDER BY on_date, at, kind
        LIMIT 1000
    """
    return [
        dict(r)
        for r in session.execute(
            text(sql), {"account": customer_account_id, "tz": get_settings().timezone}
        ).mappings()
    ]
