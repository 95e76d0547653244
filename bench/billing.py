"""Benchmark: bill N accounts through the real billing run, end to end.

    python bench/billing.py [--scale N]   (default 1,000,000 accounts)

Builds a throw-away database (on KILOWATCH_DATABASE_URL's server, else the embedded
cluster), migrates it and creates, set-based, N customers: premises, usage point, party,
account, active contract on the bench tariff, meter, register, installation (index 0 on
31 December) and one read on 31 January (0-600 kWh, a few missing). Then, timed:

  select    billing.runs.service.create_run (items and chunks, one INSERT ... SELECT)
  simulate  billing.runs.runner.simulate (consumption, rating, control checks per chunk)
  approve   billing.runs.service.approve (a second person)
  issue     billing.runs.runner.issue (numbering, invoices, lines, ledger postings; COPY)
  check     billing.ledger.repository.check (``kilowatch ledger check``)

Beside it, the same-run floor: one set-based SQL statement rating the same accounts from
the same reads with the same blocks into a table, and the ratio. Last, the single-account
re-bill (credit note + corrected bill, committed) p50/p99 over a sample. Prints one JSON
object as its last line.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TARIFF = {
    "code": "KW-BENCH",
    "name": "Bench tariff",
    "currency": "XOF",
    "versions": [
        {
            "effective_from": "2020-01-01",
            "definition": {
                "fixed_charges": [{"code": "prime", "amount": "500"}],
                "energy": [
                    {
                        "code": "energie",
                        "blocks": [
                            {"up_to": "100", "price": "50"},
                            {"up_to": "250", "price": "80"},
                            {"price": "95"},
                        ],
                    }
                ],
                "taxes": [{"code": "tva", "rate": "0.18", "base": ["energy", "fixed"]}],
            },
        }
    ],
}

# The floor: the same blocks and tax, in one statement, from the same reads.
FLOOR_SQL = """
CREATE UNLOGGED TABLE bench_floor AS
SELECT up_id, kwh, net, net + round(net * 0.18)::bigint AS total FROM (
  SELECT r.usage_point_id AS up_id, r.value - (i.start_indexes ->> 'total')::numeric AS kwh,
         500 + least(r.value - (i.start_indexes ->> 'total')::numeric, 100) * 50
             + greatest(least(r.value - (i.start_indexes ->> 'total')::numeric, 250) - 100, 0)
               * 80
             + greatest(r.value - (i.start_indexes ->> 'total')::numeric - 250, 0) * 95 AS net
  FROM meter_reading r JOIN meter_installation i ON i.id = r.installation_id
  WHERE r.read_at >= '2026-01-01' AND r.read_at < '2026-02-01'
    AND r.status IN ('accepted', 'flagged')
) rated
"""


def _database() -> tuple[str, Callable[[], None]]:
    from core.scratch_db import create_scratch_database

    scratch = create_scratch_database("kw_bench_billing", os.environ.get("KILOWATCH_DATABASE_URL"))
    return scratch.url, scratch.drop


def _fixtures(session, n: int, seed: int) -> None:  # type: ignore[no-untyped-def]
    """N customers with a contract, an installed meter and one January read, set-based."""
    from sqlalchemy import text

    from core.audit import declare_bulk_job
    from meters.readings.partitions import ensure_reading_partitions

    declare_bulk_job(session, "bench-billing-fixtures")
    session.execute(text("SELECT setseed(:s)"), {"s": (seed % 1000) / 1000})
    statements = [
        "INSERT INTO customer_service_location (code, address_line) "
        "SELECT 'SL' || g, 'Bench street ' || g FROM generate_series(1, :n) g",
        "INSERT INTO customer_usage_point (code, service_location_id, category, "
        "subscribed_power_kva) SELECT 'UP' || sl.id, sl.id, 'residential', 3 "
        "FROM customer_service_location sl",
        "INSERT INTO customer_party (kind, display_name, first_name, last_name) "
        "SELECT 'person', 'Client ' || g, 'Client', g::text FROM generate_series(1, :n) g",
        "INSERT INTO customer_account (number, payer_party_id) "
        "SELECT lpad(p.id::text, 10, '0'), p.id FROM customer_party p",
        "INSERT INTO customer_contract (number, holder_party_id, usage_point_id, account_id, "
        "tariff_code, subscribed_power_kva, start_date, status) "
        "SELECT 'CT' || up.id, a.payer_party_id, up.id, a.id, 'KW-BENCH', 3, '2025-12-01', "
        "'active' FROM customer_usage_point up JOIN customer_account a ON a.id = up.id",
        "INSERT INTO meter_asset (serial, make, model, meter_type, dial_digits, status) "
        "SELECT 'BM' || lpad(g::text, 9, '0'), 'Bench', 'B6', 'postpaid', 6, 'installed' "
        "FROM generate_series(1, :n) g",
        "INSERT INTO meter_register (meter_id, code) SELECT id, 'total' FROM meter_asset",
        "INSERT INTO meter_installation (meter_id, usage_point_id, installed_at, start_indexes) "
        "SELECT m.id, m.id, '2025-12-31T09:00:00Z', jsonb_build_object('total', '0') "
        "FROM meter_asset m",
    ]
    for statement in statements:
        session.execute(text(statement), {"n": n})
    ensure_reading_partitions(session, [datetime(2026, 1, 31, tzinfo=UTC)])
    # One read per meter on 31 January, 0-600 kWh; 0.5 % of meters unread (parked).
    session.execute(
        text(
            "INSERT INTO meter_reading (read_at, register_id, meter_id, installation_id, "
            "usage_point_id, value, source, quality, status, rule_set_version) "
            "SELECT '2026-01-31T10:00:00Z', r.id, i.meter_id, i.id, i.usage_point_id, "
            "floor(random() * 600), 'handheld', 'actual', 'accepted', 1 "
            "FROM meter_installation i JOIN meter_register r ON r.meter_id = i.meter_id "
            "WHERE random() > 0.005"
        )
    )
    session.execute(text("ANALYZE"))


def _timed(label: str, times: dict[str, float], fn: Callable[[], object]) -> object:
    started = time.perf_counter()
    result = fn()
    times[label] = round(time.perf_counter() - started, 3)
    print(f"{label}: {times[label]:.2f} s", file=sys.stderr)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=1_000_000, help="accounts to bill")
    parser.add_argument("--chunk", type=int, default=5000, help="items per chunk")
    parser.add_argument("--rebills", type=int, default=200, help="re-bills timed")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=2, help="chunks at a time (threads)")
    args = parser.parse_args()

    from sqlalchemy import text

    from core import db as core_db
    from core.migrate import upgrade
    from core.scratch_db import use_database

    url, drop = _database()
    use_database(url)
    times: dict[str, float] = {}
    try:
        upgrade(url)
        from billing.invoices import service as invoices
        from billing.ledger import repository as ledger
        from billing.runs import runner, service
        from billing.runs.schemas import RunCreate, Selection
        from billing.tariffs import service as tariffs
        from billing.tariffs.schemas import TariffCreate
        from core.context import SYSTEM, Actor, acting_as
        from kilowatch.bootstrap import bootstrap

        bootstrap()
        preparer = Actor(user_id=None, username="bench-preparer", scopes=frozenset({"*"}))
        approver = Actor(user_id=None, username="bench-approver", scopes=frozenset({"*"}))
        with core_db.session_scope(url) as session:
            tariffs.create_tariff(session, actor=SYSTEM, data=TariffCreate.model_validate(TARIFF))
            _timed("fixtures", times, lambda: _fixtures(session, args.scale, args.seed))
        data = RunCreate(
            period_start=date(2026, 1, 1),
            period_end=date(2026, 2, 1),
            issue_date=date(2026, 2, 3),
            selection=Selection(categories=["residential"]),
            chunk_size=args.chunk,
            history_factor=Decimal(50),
        )
        started = time.perf_counter()
        with acting_as(preparer), core_db.session_scope(url) as session:
            run = _timed("select", times, lambda: service.create_run(session, preparer, data))
            run_id = run.id  # type: ignore[attr-defined]
        with acting_as(preparer), core_db.session_scope(url) as session:
            _timed(
                "simulate",
                times,
                lambda: runner.simulate(session, preparer, run_id, workers=args.workers),
            )
        with acting_as(approver), core_db.session_scope(url) as session:
            _timed("approve", times, lambda: service.approve(session, approver, run_id))
        with acting_as(approver), core_db.session_scope(url) as session:
            issued = _timed(
                "issue",
                times,
                lambda: runner.issue(session, approver, run_id, workers=args.workers),
            )
        with core_db.session_scope(url) as session:
            report = _timed("check", times, lambda: ledger.check(session))
        end_to_end = time.perf_counter() - started
        assert report.ok, report  # type: ignore[attr-defined]

        with core_db.session_scope(url) as session:
            _timed("floor", times, lambda: session.execute(text(FLOOR_SQL)))
            agree = session.execute(
                text(
                    "SELECT count(*) FILTER (WHERE f.total = i.total), count(*) "
                    "FROM billing_invoice i JOIN bench_floor f ON f.up_id = i.usage_point_id "
                    "WHERE i.run_id = :r"
                ),
                {"r": run_id},
            ).one()
            sample = session.scalars(
                text("SELECT id FROM billing_invoice WHERE run_id = :r ORDER BY random() LIMIT :k"),
                {"r": run_id, "k": args.rebills},
            ).all()
        rebill_ms = []
        for invoice_id in sample:
            started_one = time.perf_counter()
            with acting_as(approver), core_db.session_scope(url) as session:
                invoices.rebill(
                    session,
                    approver,
                    invoice_id=invoice_id,
                    kwh={"total": Decimal(123)},
                    note="bench",
                )
            rebill_ms.append((time.perf_counter() - started_one) * 1000)
        with core_db.session_scope(url) as session:
            after = ledger.check(session)
            assert after.ok, after
    finally:
        core_db.get_engine(url).dispose()
        drop()
    rebill_ms.sort()
    p99 = rebill_ms[min(len(rebill_ms) - 1, int(len(rebill_ms) * 0.99))] if rebill_ms else None
    print(
        json.dumps(
            {
                "benchmark": "billing_run",
                "accounts": args.scale,
                "chunk_size": args.chunk,
                "workers": args.workers,
                "invoices": issued.invoices,  # type: ignore[attr-defined]
                "items_by_status": issued.by_status,  # type: ignore[attr-defined]
                "end_to_end_seconds": round(end_to_end, 2),
                "target_end_to_end_seconds": 60,
                "accounts_per_second": round(args.scale / end_to_end),
                "step_seconds": times,
                "ledger_transactions": report.transactions,  # type: ignore[attr-defined]
                "ledger_imbalance": report.total_imbalance,  # type: ignore[attr-defined]
                "floor_one_statement_seconds": times["floor"],
                "end_to_end_to_floor_ratio": round(end_to_end / max(times["floor"], 1e-6), 1),
                "floor_agrees_with_issued": {"same_total": agree[0], "compared": agree[1]},
                "rebill_count": len(rebill_ms),
                "rebill_p50_ms": round(statistics.median(rebill_ms), 1) if rebill_ms else None,
                "rebill_p99_ms": round(p99, 1) if p99 is not None else None,
                "target_rebill_p99_ms": 50,
                "cpu_count": os.cpu_count(),
                "load_average_1m_at_end": round(os.getloadavg()[0], 2),
                "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
            }
        )
    )


if __name__ == "__main__":
    main()
