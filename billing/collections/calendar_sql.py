"""The working-day calendar as a temporary table, so that step dates are computed in SQL
for every account at once (``engine``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from billing.collections.calendar import calendar

# One row per local day: its working ordinal ``n`` and whether it is a working day.
_CREATE = [
    text(
        """
        CREATE TEMP TABLE IF NOT EXISTS collection_calendar (
            d date PRIMARY KEY, n integer NOT NULL, working boolean NOT NULL
        ) ON COMMIT DELETE ROWS
        """
    ),
    # The working day of each ordinal: "due + k working days" is one index probe.
    text(
        """
        CREATE UNIQUE INDEX IF NOT EXISTS collection_calendar_working
        ON collection_calendar (n) INCLUDE (d) WHERE working
        """
    ),
]
_FILL = text(
    """
    INSERT INTO collection_calendar (d, n, working)
    SELECT * FROM unnest(CAST(:days AS date[]), CAST(:ordinals AS integer[]),
                         CAST(:working AS boolean[]))
    ON CONFLICT (d) DO NOTHING
    """
)
_EARLIEST = text("SELECT min(due_date) FROM billing_receivable_item WHERE closed_at IS NULL")
# The same for a few accounts (a payment's recompute): index probes by account instead of
# a scan of every open item.
_EARLIEST_OF = text(
    """
    SELECT min(due_date) FROM billing_receivable_item
    WHERE closed_at IS NULL AND customer_account_id = ANY(CAST(:accounts AS bigint[]))
    """
)

# Steps are never set further than this after a due date (two years of working days).
HORIZON_DAYS = 1100
# Up to this many accounts, a recompute is a payment's or a plan's: index probes only.
FEW_ACCOUNTS = 1000


def load_calendar(session: Session, on: date, account_ids: Sequence[int] | None = None) -> None:
    """Fill ``collection_calendar`` from the oldest open due date (of ``account_ids`` only,
    when given) to ``on`` plus the horizon (for this transaction)."""
    # The step statements are many small index probes; JIT compiling them costs seconds
    # (their estimated cost crosses jit_above_cost) and saves nothing.
    session.execute(text("SET LOCAL jit = off"))
    if account_ids is None:
        earliest = session.scalar(_EARLIEST) or on
    else:
        earliest = session.scalar(_EARLIEST_OF, {"accounts": list(account_ids)}) or on
    first = min(earliest, on) - timedelta(days=7)
    for statement in _CREATE:
        session.execute(statement)
    session.execute(text("DELETE FROM collection_calendar"))
    rows = calendar(first, on + timedelta(days=HORIZON_DAYS))
    session.execute(
        _FILL,
        {
            "days": [r[0] for r in rows],
            "ordinals": [r[1] for r in rows],
            "working": [r[2] for r in rows],
        },
    )
    if account_ids is None or len(account_ids) > FEW_ACCOUNTS:
        # The night joins the calendar to many files: the planner needs its size. A few
        # accounts' recompute only probes it by index, and ANALYZE would cost more.
        session.execute(text("ANALYZE collection_calendar"))
