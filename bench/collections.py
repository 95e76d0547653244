"""Collections benchmark: the nightly overdue recomputation and step advance.

    python bench/collections.py [--scale N]   (default N = 1,000,000 accounts)

Builds a throw-away database (on KILOWATCH_DATABASE_URL's server, else the embedded
cluster) and loads, set-based: N parties and customer accounts, one open bill for 70 % of
them due on a day of the 60 before 1 June 2026 (amounts 2,000..60,000 XOF), a policy of
three steps on working days (reminder 5, formal notice 10, cut eligibility 15; no fee, so
that the figure is the engine's, not the ledger's). Then, timed, for two nights
(1 and 2 June 2026):

- night 1, cold: ``engine.recompute`` over every account (one statement: the overdue
  state of each, its policy, status and next step's day: every file written);
- night 2, the nightly pass: ``engine.recompute_newly_overdue`` (the accounts whose bills
  fell overdue in the last nights; payments recompute their account as they come);
- ``engine.advance`` (set-based: the steps whose day has come staged, holds checked, one
  INSERT of the actions, one UPDATE of the files);
- the same-run floor: ONE plain statement doing the full selection (open amount per
  account over the items due before the day, less active allocations), into a temporary
  table; the ratio is (recompute + advance) / floor.

Notices are not sent (gateways are I/O bound and run after commit). Target (issue 14):
under 60 s at 1,000,000 accounts. The last line of stdout is ONE JSON object, also saved
to bench/results/collections.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import date
from pathlib import Path

from rich.console import Console
from sqlalchemy import text

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

console = Console(stderr=True)
# A cold first night recomputing every file, then the nightly pass (newly overdue only).
NIGHTS = ((date(2026, 6, 1), True), (date(2026, 6, 2), False))

LOAD = [
    """
    INSERT INTO customer_party (kind, display_name, first_name, last_name)
    SELECT 'person', 'Bench ' || n, 'Bench', 'C' || n FROM generate_series(1, :n) n
    """,
    """
    INSERT INTO customer_account (number, payer_party_id)
    SELECT 'B' || lpad(p.id::text, 10, '0'), p.id FROM customer_party p
    """,
    # 70 % of the accounts owe one bill, due on one of the 60 days before 1 June.
    """
    INSERT INTO billing_receivable_item (customer_account_id, kind, document_ref, due_date,
                                         amount, currency)
    SELECT a.id, 'principal', 'BF' || a.id, DATE '2026-06-01' - 1 - (a.id % 60)::int,
           2000 + (a.id * 7919 % 58001), 'XOF'
    FROM customer_account a WHERE a.id % 10 < 7
    """,
]

FLOOR = text(
    """
    CREATE TEMP TABLE floor_overdue ON COMMIT DROP AS
    SELECT r.customer_account_id, sum(r.amount - COALESCE(a.paid, 0)) AS amount,
           count(*) AS bills, min(r.due_date) AS oldest
    FROM billing_receivable_item r
    LEFT JOIN (SELECT item_id, sum(amount) AS paid FROM billing_payment_allocation
               WHERE released_at IS NULL GROUP BY item_id) a ON a.item_id = r.id
    WHERE r.closed_at IS NULL AND r.due_date < :on
    GROUP BY r.customer_account_id
    """
)


def load(n: int) -> float:
    from core.db import session_scope

    started = time.perf_counter()
    with session_scope() as session:
        # A bulk load of a throw-away base: the audit triggers are not what is measured.
        session.execute(text("SET LOCAL session_replication_role = replica"))
        for sql in LOAD:
            session.execute(text(sql), {"n": n})
    with session_scope() as session:
        session.execute(text("ANALYZE"))
    return time.perf_counter() - started


def policy() -> None:
    from billing.collections import service
    from billing.collections.schemas import PolicyCreate
    from core.context import SYSTEM
    from core.db import session_scope

    steps = [
        {"code": "reminder", "delay": 5, "delay_unit": "working_days", "channel": "sms"},
        {"code": "notice", "delay": 10, "delay_unit": "working_days", "channel": "letter"},
        {
            "code": "cut",
            "delay": 15,
            "delay_unit": "working_days",
            "channel": "sms",
            "action": "cut_eligible",
        },
    ]
    with session_scope() as session:
        service.create_policy(
            session,
            SYSTEM,
            data=PolicyCreate.model_validate({"code": "bench", "name": "bench", "steps": steps}),
        )


def night(on: date, *, full: bool) -> dict[str, float | int]:
    from billing.collections import engine
    from core.db import session_scope

    with session_scope() as session:
        started = time.perf_counter()
        if full:
            written = engine.recompute(session, on=on, reason=f"bench {on}")
        else:
            written = engine.recompute_newly_overdue(session, on=on)
        recompute = time.perf_counter() - started
        started = time.perf_counter()
        fired = engine.advance(session, on=on)
        advance = time.perf_counter() - started
    with session_scope() as session:
        started = time.perf_counter()
        session.execute(FLOOR, {"on": on})
        floor = time.perf_counter() - started
    return {
        "files_written": written,
        "steps_fired": fired,
        "recompute_seconds": round(recompute, 3),
        "advance_seconds": round(advance, 3),
        "floor_seconds": round(floor, 3),
        "ratio_to_floor": round((recompute + advance) / floor, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=1_000_000, help="customer accounts")
    args = parser.parse_args()
    from core.context import SYSTEM, acting_as
    from core.migrate import upgrade
    from core.scratch_db import create_scratch_database, use_database

    scratch = create_scratch_database("kw_bench_coll", os.environ.get("KILOWATCH_DATABASE_URL"))
    try:
        use_database(scratch.url)
        upgrade(scratch.url)
        console.print(f"[bold]collections bench[/]: {args.scale:,} accounts")
        with acting_as(SYSTEM, request_id="bench-collections"):
            load_seconds = load(args.scale)
            policy()
            nights = {
                f"{on.isoformat()} {'full' if full else 'nightly'}": night(on, full=full)
                for on, full in NIGHTS
            }
        for on, figures in nights.items():
            console.print(f"{on}: {figures}")
        steady = list(nights.values())[-1]
        result = {
            "benchmark": "collections",
            "accounts": args.scale,
            "load_seconds": round(load_seconds, 1),
            "nights": nights,
            "steady_night_seconds": round(
                float(steady["recompute_seconds"]) + float(steady["advance_seconds"]), 3
            ),
            "steady_ratio_to_floor": steady["ratio_to_floor"],
            "target_seconds_at_1m": 60,
        }
        results = REPO / "bench" / "results"
        results.mkdir(exist_ok=True)
        (results / "collections.json").write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps(result))
    finally:
        scratch.drop()


if __name__ == "__main__":
    main()
