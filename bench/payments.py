"""Payments benchmark: batched posting with allocation, and single payments over HTTP.

    python bench/payments.py [--scale N] [--requests R] [--accounts A]
    (default N = 20,000; R = 500; A = N/20)

Builds a throw-away database (on KILOWATCH_DATABASE_URL's server, else the embedded
cluster): A customer accounts, each with an invoice and a fee open. The first (at most
``SERVICE_BUILT``) are made through the services; the rest are set-based copies of the
first one (party, account, its two ledger transactions and postings, its two open items:
the same rows the services wrote, ``ledger check`` at the end covers them too), since
the services take about a second per account on this machine. Then:

- batched posting: N payments (random accounts and amounts) through
  ``billing.payments.batch.post_batch`` in batches of 1,000, one transaction each
  (ledger transaction + 2 postings + payment + outbox event per payment, allocation of
  every account touched), committed;
- the same-run floor: the same N payment rows sent with a plain multi-row INSERT into a
  bare copy of the payment table (no ledger, no allocation, no constraint, no trigger), in
  the same batches; the ratio is batched time / floor time;
- single posting over HTTP: R ``POST /api/v1/payments`` (Idempotency-Key, a cashier's
  bearer token) one after another against uvicorn on localhost, latency per request. The
  server dispatches its after-commit events to a Celery broker (Redis on localhost, a
  database of its own, emptied at the end), as deployed: the handlers (collections,
  revenue protection) run in workers, not in the request. Without a broker they would run
  eagerly inside the request (``core.celery_app``): ``--eager`` measures that;
- ``ledger check`` at the end.

Targets (issue 12): batched >= 1,000 payments/s; single p99 < 50 ms. The last line of
stdout is ONE JSON object (units in the key names), also saved to bench/results/payments.json.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
from rich.console import Console
from sqlalchemy import text

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

console = Console(stderr=True)
SEED = 12
BATCH = 1_000
HEALTH_PATH = "/healthz"  # the HTTP stack and one database round trip
PASSWORD = "bench-payments-pass"  # noqa: S105 - a throw-away user of a throw-away database
SERVICE_BUILT = 50
BENCH_BROKER = "redis://localhost:6379/13"


def create_database() -> tuple[str, object]:
    from core.scratch_db import create_scratch_database

    scratch = create_scratch_database("kw_bench_pay", os.environ.get("KILOWATCH_DATABASE_URL"))
    return scratch.url, scratch.drop


def build(accounts: int) -> list[int]:
    """``accounts`` customer accounts, each with an invoice (principal) and a fee open."""
    from billing.ledger import service as ledger
    from billing.ledger.models import TransactionKind
    from billing.payments import service
    from billing.payments.enums import ItemKind
    from billing.payments.schemas import ReceivableItemCreate
    from core.context import SYSTEM, acting_as
    from core.db import session_scope
    from customers import service as customers
    from customers.schemas import AccountCreate, PartyCreate

    rng = np.random.default_rng(SEED)
    ids = []
    with acting_as(SYSTEM, request_id="bench-payments"):
        for start in range(0, accounts, 250):
            with session_scope() as session:
                for n in range(start, min(accounts, start + 250)):
                    party, _ = customers.create_party(
                        session,
                        actor=SYSTEM,
                        data=PartyCreate(kind="person", first_name="Bench", last_name=f"P{n}"),
                    )
                    account = customers.create_account(
                        session, actor=SYSTEM, data=AccountCreate(payer_party_id=party.id)
                    )
                    amount = int(rng.integers(5_000, 30_000))
                    ref = f"F-BENCH-{n}"
                    txn = ledger.post(
                        session,
                        SYSTEM,
                        kind=TransactionKind.INVOICE,
                        entry_date=date(2026, 1, 31),
                        currency="XOF",
                        source_ref=ref,
                        lines=[
                            ledger.Line("receivable", amount, account.id),
                            ledger.Line("revenue:energy", -amount),
                        ],
                    )
                    service.open_item(
                        session,
                        SYSTEM,
                        customer_account_id=account.id,
                        kind=ItemKind.PRINCIPAL,
                        document_ref=ref,
                        due_date=date(2026, 2, 15),
                        amount=amount,
                        currency="XOF",
                        ledger_transaction_id=txn.id,
                        allocate=False,
                    )
                    service.charge(
                        session,
                        SYSTEM,
                        data=ReceivableItemCreate(
                            customer_account_id=account.id,
                            kind=ItemKind.FEE,
                            document_ref=f"FEE-BENCH-{n}",
                            due_date=date(2026, 2, 20),
                            amount=1_500,
                            currency="XOF",
                        ),
                    )
                    ids.append(account.id)
            console.print(f"  {len(ids):,} accounts")
    return ids


_CLONE_SQL = [
    # The template's rows, and per copy g the new ids drawn from each table's sequence.
    """CREATE TEMP TABLE bench_copy ON COMMIT DROP AS
       SELECT g, nextval('customer_party_id_seq') AS party_id,
              nextval('customer_account_id_seq') AS account_id
       FROM generate_series(1, :copies) g""",
    """CREATE TEMP TABLE bench_txn ON COMMIT DROP AS
       SELECT c.g, t.id AS old_id, nextval('billing_ledger_transaction_id_seq') AS new_id
       FROM bench_copy c CROSS JOIN billing_ledger_transaction t
       WHERE t.id IN (SELECT ledger_transaction_id FROM billing_receivable_item
                      WHERE customer_account_id = :template)""",
    """INSERT INTO customer_party (id, kind, display_name, first_name, last_name, language)
       SELECT c.party_id, p.kind, 'Bench C' || c.g, p.first_name, 'C' || c.g, p.language
       FROM bench_copy c CROSS JOIN customer_party p
       WHERE p.id = (SELECT payer_party_id FROM customer_account WHERE id = :template)""",
    """INSERT INTO customer_account (id, number, payer_party_id, delivery_channel, language)
       SELECT c.account_id, a.number || '-C' || c.g, c.party_id, a.delivery_channel, a.language
       FROM bench_copy c CROSS JOIN customer_account a WHERE a.id = :template""",
    """INSERT INTO billing_ledger_transaction (id, entry_date, kind, currency, source_ref,
                                             memo, created_by)
       SELECT x.new_id, t.entry_date, t.kind, t.currency, t.source_ref || '-C' || x.g,
              t.memo, t.created_by
       FROM bench_txn x JOIN billing_ledger_transaction t ON t.id = x.old_id""",
    """INSERT INTO billing_ledger_posting (transaction_id, account_id, customer_account_id,
                                         amount)
       SELECT x.new_id, p.account_id,
              CASE WHEN p.customer_account_id IS NULL THEN NULL ELSE c.account_id END, p.amount
       FROM bench_txn x JOIN bench_copy c ON c.g = x.g
       JOIN billing_ledger_posting p ON p.transaction_id = x.old_id""",
    """INSERT INTO billing_receivable_item (customer_account_id, kind, document_ref, due_date,
                                          amount, currency, ledger_transaction_id)
       SELECT c.account_id, i.kind, i.document_ref || '-C' || c.g, i.due_date, i.amount,
              i.currency, x.new_id
       FROM billing_receivable_item i CROSS JOIN bench_copy c
       JOIN bench_txn x ON x.g = c.g AND x.old_id = i.ledger_transaction_id
       WHERE i.customer_account_id = :template""",
]


def copy_accounts(template: int, copies: int) -> list[int]:
    """``copies`` set-based copies of account ``template`` and its open items (see the
    module's docstring); their ids."""
    from core.audit import declare_bulk_job
    from core.context import SYSTEM, acting_as
    from core.db import session_scope

    with acting_as(SYSTEM, request_id="bench-payments"), session_scope() as session:
        declare_bulk_job(session, "bench-payments-accounts")
        for statement in _CLONE_SQL:
            session.execute(text(statement), {"copies": copies, "template": template})
        ids = list(session.scalars(text("SELECT account_id FROM bench_copy ORDER BY g")))
        session.execute(text("SELECT set_config('kilowatch.audit_bulk', '', true)"))
    console.print(f"  {copies:,} accounts copied")
    return ids


def payments_for(accounts: list[int], count: int) -> list:
    from billing.payments.enums import Channel, Instrument
    from billing.payments.schemas import PaymentCreate

    rng = np.random.default_rng(SEED + 1)
    start = datetime(2026, 3, 1, 8, tzinfo=UTC)
    picks = rng.integers(0, len(accounts), count)
    amounts = rng.integers(1_000, 12_000, count)
    return [
        PaymentCreate(
            customer_account_id=accounts[int(a)],
            amount=int(m),
            currency="XOF",
            channel=Channel.BANK,
            instrument=Instrument.TRANSFER,
            external_id=f"BENCH-{n:08d}",
            received_at=start + timedelta(seconds=n),
        )
        for n, (a, m) in enumerate(zip(picks, amounts, strict=True))
    ]


def batched(payments: list) -> float:
    from billing.payments.batch import post_batch
    from core.context import SYSTEM, acting_as
    from core.db import session_scope

    started = time.perf_counter()
    with acting_as(SYSTEM, request_id="bench-payments-batch"):
        for start in range(0, len(payments), BATCH):
            with session_scope() as session:
                post_batch(session, SYSTEM, payments[start : start + BATCH])
    return time.perf_counter() - started


def floor(payments: list) -> float:
    """The same rows, plain multi-row INSERT into a bare table, same batches."""
    from core.db import session_scope

    with session_scope() as session:
        session.execute(text("CREATE TABLE bench_payment_floor (LIKE billing_payment)"))
    columns = ("id", "number", "customer_account_id", "channel", "instrument", "external_id",
               "amount", "currency", "received_at", "value_date", "status", "cleared",
               "ledger_transaction_id", "created_at", "updated_at", "receipt_prints")  # fmt: skip
    insert = text(
        f"INSERT INTO bench_payment_floor ({', '.join(columns)}) "
        f"VALUES ({', '.join(':' + c for c in columns)})"
    )
    now = datetime.now(UTC)
    started = time.perf_counter()
    for start in range(0, len(payments), BATCH):
        rows = [
            {
                "id": start + n + 1,
                "number": f"R{start + n + 1:09d}",
                "customer_account_id": p.customer_account_id,
                "channel": p.channel.value,
                "instrument": p.instrument.value,
                "external_id": p.external_id,
                "amount": p.amount,
                "currency": "XOF",
                "received_at": p.received_at,
                "value_date": p.received_at.date(),
                "status": "posted",
                "cleared": True,
                "ledger_transaction_id": 0,
                "created_at": now,
                "updated_at": now,
                "receipt_prints": 0,
            }
            for n, p in enumerate(payments[start : start + BATCH])
        ]
        with session_scope() as session:
            session.execute(insert, rows)
    return time.perf_counter() - started


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def over_http(
    accounts: list[int], requests: int, *, eager: bool = False
) -> tuple[list[float], list[float]]:
    """Latency (ms) of single payments over HTTP (uvicorn, localhost), one at a time, and
    of the same number of health checks on the same server (the HTTP stack's own floor)."""
    import httpx
    import redis
    import uvicorn

    from core.celery_app import celery_app

    if not eager:  # events leave through the broker, as deployed (module docstring)
        celery_app.conf.update(broker_url=BENCH_BROKER, task_always_eager=False)

    from core.auth import service as auth
    from core.db import session_scope
    from kilowatch.app import build_app

    with session_scope() as session:
        auth.create_user(session, username="bench-cashier", password=PASSWORD, roles=["cashier"])
        _user, token, _ttl = auth.authenticate(
            session, username="bench-cashier", password=PASSWORD, client_address="bench"
        )
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(build_app(), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    rng = np.random.default_rng(SEED + 2)
    latencies, health = [], []
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            headers = {"Authorization": f"Bearer {token}"}
            for n in range(requests + 20):  # the first 20 warm the process up, not timed
                body = {
                    "customer_account_id": accounts[int(rng.integers(0, len(accounts)))],
                    "amount": int(rng.integers(500, 5_000)),
                }
                key = {"Idempotency-Key": str(uuid.uuid4())}
                started = time.perf_counter()
                answer = client.post("/api/v1/payments", json=body, headers=headers | key)
                elapsed = (time.perf_counter() - started) * 1000
                if answer.status_code != 201:
                    raise RuntimeError(f"payment refused: {answer.status_code} {answer.text}")
                if n >= 20:
                    latencies.append(elapsed)
            for _ in range(requests):
                started = time.perf_counter()
                client.get(HEALTH_PATH)
                health.append((time.perf_counter() - started) * 1000)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        if not eager:  # nobody consumes this database's queue: empty it
            redis.Redis.from_url(BENCH_BROKER).flushdb()
    return latencies, health


def roundtrip_ms() -> float:
    """The database's own floor in this run: one ``SELECT 1`` round trip (median)."""
    from core.db import get_engine

    times = []
    with get_engine().connect() as connection:
        for _ in range(201):
            started = time.perf_counter()
            connection.execute(text("SELECT 1"))
            times.append((time.perf_counter() - started) * 1000)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=20_000, help="payments posted in batches")
    parser.add_argument("--requests", type=int, default=500, help="single payments over HTTP")
    parser.add_argument("--accounts", type=int, default=None, help="default: scale / 20")
    parser.add_argument(
        "--eager", action="store_true", help="after-commit handlers inside the request"
    )
    args = parser.parse_args()
    url, drop = create_database()
    try:
        from core.migrate import upgrade
        from core.scratch_db import use_database

        use_database(url)
        upgrade(url)
        accounts_n = args.accounts or max(10, args.scale // 20)
        console.print(f"[bold]payments bench[/]: {accounts_n:,} accounts, {args.scale:,} payments")
        started = time.perf_counter()
        accounts = build(min(accounts_n, SERVICE_BUILT))
        if accounts_n > len(accounts):
            accounts += copy_accounts(accounts[0], accounts_n - len(accounts))
        build_seconds = time.perf_counter() - started
        payments = payments_for(accounts, args.scale)
        batch_seconds = batched(payments)
        floor_seconds = floor(payments)
        console.print(f"batched {batch_seconds:.2f} s, floor {floor_seconds:.2f} s")
        timed, health = over_http(accounts, args.requests, eager=args.eager)
        latencies, health_ms = np.array(timed), np.array(health)
        select_one = roundtrip_ms()
        from billing.ledger import repository
        from core.db import session_scope

        with session_scope() as session:
            check = repository.check(session)
            allocations = session.scalar(text("SELECT count(*) FROM billing_payment_allocation"))
        result = {
            "benchmark": "payments",
            "accounts": accounts_n,
            "payments_batched": args.scale,
            "batch_size": BATCH,
            "build_seconds": round(build_seconds, 1),
            "batched_seconds": round(batch_seconds, 3),
            "batched_payments_per_s": round(args.scale / batch_seconds),
            "allocations": int(allocations or 0),
            "floor_plain_insert_seconds": round(floor_seconds, 3),
            "floor_payments_per_s": round(args.scale / floor_seconds),
            "ratio_batched_to_floor": round(batch_seconds / floor_seconds, 2),
            "http_requests": int(latencies.size),
            "http_p50_ms": round(float(np.percentile(latencies, 50)), 2),
            "http_p95_ms": round(float(np.percentile(latencies, 95)), 2),
            "http_p99_ms": round(float(np.percentile(latencies, 99)), 2),
            "floor_http_health_p50_ms": round(float(np.percentile(health_ms, 50)), 2),
            "floor_http_health_p99_ms": round(float(np.percentile(health_ms, 99)), 2),
            "ratio_http_p99_to_health_p99": round(
                float(np.percentile(latencies, 99) / np.percentile(health_ms, 99)), 1
            ),
            "floor_db_select1_ms": round(select_one, 3),
            "load_average_1min": round(os.getloadavg()[0], 2),
            "after_commit_handlers": "eager, in the request" if args.eager else "broker",
            "ledger_check_ok": check.ok,
            "ledger_total_imbalance": check.total_imbalance,
            "target_batched_payments_per_s": 1000,
            "target_http_p99_ms": 50,
            "cpu_count": os.cpu_count(),
        }
    finally:
        from core import db as core_db

        core_db.get_engine.cache_clear()
        drop()  # type: ignore[operator]
    out = REPO / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "payments.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
