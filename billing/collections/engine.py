"""Overdue state and step advance, set-based.

``recompute`` brings the collection files of some accounts (or all) up to date from their
open receivable items in one statement: how much is overdue (open items due before the
day), how many bills, since when, which policy applies (the most specific active policy
for the account's category and agency), the status (current, overdue, plan, litigation,
written off) and the next step's day. Nothing overdue resets the steps at once: a payment
that clears the arrears stops them.

``advance`` fires, in one statement, the next step of every overdue file whose day has
come, whose amount reaches the step's minimum and that no hold blocks; at most one step
per account and night (a file late by two steps catches up on two nights, so the customer
always gets the first notice before the second).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from billing.collections.calendar import is_working
from billing.collections.calendar_sql import load_calendar
from core.audit import bulk_audited
from core.periods import local_midnight

_ACCOUNTS = "(CAST(:all_accounts AS boolean) OR {col} = ANY(CAST(:accounts AS bigint[])))"

# The day a step falls: ``base`` plus the step's delay in days or working days.
_STEP_DATE = """
    CASE {st}.delay_unit
        WHEN 'days' THEN {base} + {st}.delay
        ELSE (SELECT w.d FROM collection_calendar w
              WHERE w.working AND w.n = (SELECT c.n FROM collection_calendar c
                                         WHERE c.d = {base}) + {st}.delay)
    END
"""

_RECOMPUTE = text(
    f"""
    WITH items AS (
        SELECT r.customer_account_id AS account_id, r.kind, r.due_date,
               r.amount - COALESCE((SELECT sum(a.amount) FROM billing_payment_allocation a
                                    WHERE a.item_id = r.id AND a.released_at IS NULL), 0)
                   AS open_amount
        FROM billing_receivable_item r
        WHERE r.closed_at IS NULL AND r.due_date < :on
          AND {_ACCOUNTS.format(col="r.customer_account_id")}
    ), overdue AS (
        SELECT account_id, sum(open_amount) AS amount,
               count(*) FILTER (WHERE kind = 'principal') AS bills, min(due_date) AS oldest
        FROM items WHERE open_amount > 0 GROUP BY account_id
    ), targets AS (
        SELECT account_id FROM overdue
        UNION
        SELECT f.customer_account_id FROM collection_file f
        WHERE f.status <> 'current' AND {_ACCOUNTS.format(col="f.customer_account_id")}
        UNION
        SELECT unnest(CAST(:accounts AS bigint[]))
    ), state AS (
        SELECT t.account_id, COALESCE(o.amount, 0) AS amount, COALESCE(o.bills, 0) AS bills,
               o.oldest, f.status AS old_status, COALESCE(f.step_position, 0) AS old_position,
               f.cut_eligible_since AS old_cut,
               EXISTS (SELECT 1 FROM collection_plan p WHERE p.customer_account_id = t.account_id
                       AND p.status = 'active') AS in_plan,
               (SELECT p.id FROM collection_policy p
                WHERE p.active
                  -- the account's company's policies: the company of its contract's tariff
                  AND p.company_id = COALESCE((
                        SELECT tf.company_id FROM customer_contract c
                        JOIN billing_tariff tf ON tf.code = c.tariff_code
                        WHERE c.account_id = t.account_id
                        ORDER BY c.status = 'active' DESC, c.id DESC LIMIT 1), p.company_id)
                  AND (p.category IS NULL OR p.category = (
                        SELECT u.category FROM customer_contract c
                        JOIN customer_usage_point u ON u.id = c.usage_point_id
                        WHERE c.account_id = t.account_id
                        ORDER BY c.status = 'active' DESC, c.id DESC LIMIT 1))
                  AND (p.agency_id IS NULL OR p.agency_id = (
                        SELECT y.agency_id FROM customer_account a
                        JOIN customer_party y ON y.id = a.payer_party_id
                        WHERE a.id = t.account_id))
                ORDER BY (p.category IS NOT NULL)::int + (p.agency_id IS NOT NULL)::int DESC,
                         p.id
                LIMIT 1) AS policy_id
        FROM targets t
        LEFT JOIN overdue o ON o.account_id = t.account_id
        LEFT JOIN collection_file f ON f.customer_account_id = t.account_id
    ), decided AS (
        SELECT s.*,
               CASE WHEN s.amount = 0 THEN 'current'
                    WHEN s.old_status IN ('written_off', 'litigation') THEN s.old_status
                    WHEN s.in_plan THEN 'plan'
                    ELSE 'overdue' END AS status,
               CASE WHEN s.amount = 0 THEN 0 ELSE s.old_position END AS position
        FROM state s
    )
    INSERT INTO collection_file AS f (customer_account_id, policy_id, status, overdue_amount,
        unpaid_bills, oldest_due_date, step_position, next_step_date, cut_eligible_since,
        reason, recomputed_at)
    SELECT d.account_id, d.policy_id, d.status, d.amount, d.bills, d.oldest, d.position,
           CASE WHEN d.status = 'overdue' THEN {_STEP_DATE.format(st="st", base="d.oldest")} END,
           CASE WHEN d.status IN ('overdue', 'litigation', 'written_off') THEN d.old_cut END,
           :reason, now()
    FROM decided d
    LEFT JOIN collection_step st ON st.policy_id = d.policy_id AND st.position = d.position + 1
    ON CONFLICT (customer_account_id) DO UPDATE SET
        policy_id = EXCLUDED.policy_id, status = EXCLUDED.status,
        overdue_amount = EXCLUDED.overdue_amount, unpaid_bills = EXCLUDED.unpaid_bills,
        oldest_due_date = EXCLUDED.oldest_due_date, step_position = EXCLUDED.step_position,
        next_step_date = EXCLUDED.next_step_date,
        cut_eligible_since = EXCLUDED.cut_eligible_since,
        reason = EXCLUDED.reason, recomputed_at = EXCLUDED.recomputed_at
    -- an unchanged file is not rewritten (the nightly pass touches only what moved)
    WHERE (f.policy_id, f.status, f.overdue_amount, f.unpaid_bills, f.oldest_due_date,
           f.step_position, f.next_step_date, f.cut_eligible_since)
          IS DISTINCT FROM
          (EXCLUDED.policy_id, EXCLUDED.status, EXCLUDED.overdue_amount, EXCLUDED.unpaid_bills,
           EXCLUDED.oldest_due_date, EXCLUDED.step_position, EXCLUDED.next_step_date,
           EXCLUDED.cut_eligible_since)
    """
)

# The holds that block step ``st`` of file ``f`` on :on (``:eve``: the day or the next is
# not a working day, when the regulatory "no cut before a weekend or holiday" holds apply).
# Two probes, the account's holds by their index and the few holds of every account, so
# that a night over a million files never scans the holds once per file.
_HOLD_APPLIES = """
    h.start_date <= :on AND (h.end_date IS NULL OR h.end_date >= :on)
    AND ('*' = ANY(h.blocks) OR st.action = ANY(h.blocks) OR st.code = ANY(h.blocks))
    AND (h.rule = 'dates' OR CAST(:eve AS boolean))
"""
BLOCKING_HOLD = f"""
    (EXISTS (SELECT 1 FROM collection_hold h
             WHERE h.customer_account_id = f.customer_account_id AND {_HOLD_APPLIES})
     OR EXISTS (SELECT 1 FROM collection_hold h
                WHERE h.customer_account_id IS NULL AND {_HOLD_APPLIES}))
"""

# The night's steps, staged once: every overdue file whose next step's day has come, whose
# amount reaches the step's minimum, that no hold blocks and whose step was not already done
# in this cycle; the action's id drawn here, and the day of the step after (probes of
# the calendar's index, whatever the plan). What the night does next reads this table.
DUE_TABLE = "collection_due"
_STAGE = [
    text(f"DROP TABLE IF EXISTS {DUE_TABLE}"),
    text(
        f"""
        CREATE TEMP TABLE {DUE_TABLE} ON COMMIT DROP AS
        SELECT nextval(pg_get_serial_sequence('collection_action', 'id')) AS action_id,
               f.customer_account_id, f.oldest_due_date, f.overdue_amount,
               st.id AS step_id, st.position, st.action, st.channel, st.fee, st.code,
               {_STEP_DATE.format(st="nx", base="f.oldest_due_date")} AS next_date
        FROM collection_file f
        JOIN collection_step st ON st.policy_id = f.policy_id
                               AND st.position = f.step_position + 1
        LEFT JOIN collection_step nx ON nx.policy_id = f.policy_id
                                    AND nx.position = f.step_position + 2
        WHERE f.status = 'overdue' AND f.next_step_date <= :on
          AND f.overdue_amount >= st.min_amount
          AND NOT {BLOCKING_HOLD}
          -- one probe of the unique key per file (LIMIT keeps it a probe: never a hash of
          -- every action ever done)
          AND (SELECT 1 FROM collection_action x
               WHERE x.customer_account_id = f.customer_account_id
                 AND x.step_id = st.id AND x.cycle_start = f.oldest_due_date LIMIT 1) IS NULL
        """
    ),
]

_ACT = text(
    f"""
    INSERT INTO collection_action (id, customer_account_id, step_id, position, action, channel,
                                   cycle_start, done_on, amount_due, notice_status)
    SELECT action_id, customer_account_id, step_id, position, action, channel,
           oldest_due_date, :on, overdue_amount,
           CASE WHEN channel IN ('sms', 'email', 'letter') THEN 'pending' ELSE 'none' END
    FROM {DUE_TABLE}
    """
)

_MOVE = text(
    f"""
    UPDATE collection_file f
    SET step_position = f.step_position + 1,
        next_step_date = d.next_date,
        cut_eligible_since = CASE WHEN d.action = 'cut_eligible'
                                  THEN COALESCE(f.cut_eligible_since, :on)
                                  ELSE f.cut_eligible_since END,
        status = CASE WHEN d.action = 'litigation' THEN 'litigation' ELSE f.status END,
        reason = 'step ' || (f.step_position + 1) || ' done on ' || :on
    FROM {DUE_TABLE} d
    WHERE f.customer_account_id = d.customer_account_id
    """
)

_FIRED = text(
    f"""
    SELECT action_id, customer_account_id, action, fee, code, position, overdue_amount, channel
    FROM {DUE_TABLE} ORDER BY action_id
    """
)


@dataclass(frozen=True)
class Fired:
    """A step done tonight on an account (what ``advance`` hands to fees and notices)."""

    action_id: int
    customer_account_id: int
    action: str
    fee: int
    code: str
    position: int
    amount_due: int
    channel: str


def recompute(
    session: Session,
    *,
    on: date,
    reason: str,
    account_ids: Sequence[int] | None = None,
) -> int:
    """Recompute the files of ``account_ids`` (every account with something overdue or a
    file not current, when None) as of business day ``on``. Returns the files written."""
    load_calendar(session, on, account_ids)
    result = session.execute(
        _RECOMPUTE,
        {
            "on": on,
            "reason": reason,
            "all_accounts": account_ids is None,
            "accounts": list(account_ids or []),
        },
    )
    session.expire_all()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# Accounts whose receivable moved without an event: a bill fell overdue, a bill was
# credited (its item closed), the back office reallocated a payment.
_NEWLY_OVERDUE = text(
    """
    SELECT customer_account_id FROM billing_receivable_item
    WHERE closed_at IS NULL AND due_date >= :since AND due_date < :on
    UNION
    SELECT customer_account_id FROM billing_receivable_item WHERE closed_at >= :since_at
    UNION
    SELECT customer_account_id FROM billing_payment_allocation
    WHERE allocated_at >= :since_at OR released_at >= :since_at
    """
)

# Nights the incremental pass looks back over, so that a weekend without the job still
# brings every newly overdue bill into dunning.
LOOKBACK_DAYS = 4


def recompute_newly_overdue(session: Session, *, on: date) -> int:
    """The nightly pass: only the accounts with an item that fell overdue in the last
    nights, or whose items or allocations changed without an event (a credit note, a
    reallocation); payments, reversals and plans recompute their account as they happen.
    Returns the files written."""
    since = on - timedelta(days=LOOKBACK_DAYS)
    params = {"since": since, "on": on, "since_at": local_midnight(since)}
    accounts = [int(a) for (a,) in session.execute(_NEWLY_OVERDUE, params)]
    if not accounts:
        return 0
    return recompute(
        session, on=on, reason=f"fell overdue by {on.isoformat()}", account_ids=accounts
    )


def eve_of_non_working_day(on: date) -> bool:
    """Whether the regulatory "no cut before a weekend or a holiday" holds apply on
    ``on``: the day itself or the next is not a working day."""
    return not (is_working(on) and is_working(on + timedelta(days=1)))


def advance(session: Session, *, on: date) -> int:
    """Fire the next step of every file whose day has come (set-based: the night's steps
    staged in ``collection_due``, one INSERT of the actions, one UPDATE of the files).
    Returns the steps fired; the caller charges the fees, opens litigation and sends the
    notices from the staged table (``service.run_night``) within the same transaction.

    The actions are written as one audited bulk job (a summary audit row per statement):
    they are new rows, each the record of what the night did, and a row-by-row audit of a
    million of them would cost more than the night itself."""
    load_calendar(session, on)
    # The files were just recomputed (the cold night writes every one): planned on stale
    # statistics, the staging joins turn into nested loops over the whole table.
    session.execute(text("ANALYZE collection_file"))
    for statement in _STAGE:
        session.execute(statement, {"on": on, "eve": eve_of_non_working_day(on)})
    fired = int(session.execute(text(f"SELECT count(*) FROM {DUE_TABLE}")).scalar_one())
    if fired:
        session.execute(text(f"ANALYZE {DUE_TABLE}"))
        with bulk_audited(session, f"collections-night-{on.isoformat()}"):
            session.execute(_ACT, {"on": on})
        session.execute(_MOVE, {"on": on})
    session.expire_all()
    return fired


def fired_steps(session: Session) -> list[Fired]:
    """The steps ``advance`` fired in this transaction, in action order."""
    return [Fired(*row) for row in session.execute(_FIRED)]
