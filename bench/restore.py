"""Automatic restoration benchmark: payments posted over HTTP, a real Celery worker on
Redis restoring the cut smart meters they pay for.

    python bench/restore.py [--scale N]   (default N = 200 cut customers, one payment each)

Builds a throw-away database (on KILOWATCH_DATABASE_URL's server, else the embedded
cluster) with N customers on smart meters, each cut and owing one bill. Starts a private
redis-server and a ``celery worker`` (the Kilowatch app, solo pool) and uvicorn on
localhost, then posts each customer's payment (``POST /api/v1/payments``, a cashier's
token), one after another. The worker delivers ``billing.payment_posted`` to
``revenue_protection.restore_after_payment``, which decides and sends the connect command
to the (simulated) head-end.

Measured per restoration, bounded both sides of the commit: from the payment's
transaction timestamp (``billing_payment.created_at``, taken at the transaction's start,
so at or before its commit: an upper bound) and from the moment its 201 reached the client
(after the commit: a lower bound) to the head-end command (``command_at``). Also reported:
the restoration handler's own time, and when each ``PaymentPosted`` handler started after
the payment's transaction did (they run in order in one delivery: collections' first).
Same-run floor: a bare probe event (``tests.core.worker_handlers``) committed N times and
handled by the same worker through the same broker: from its outbox row's timestamp to
the handler's insert. Targets (issue 15): p50 < 100 ms, p95 < 500 ms. The last line of
stdout is ONE JSON object, also saved to bench/results/restore.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from datetime import date
from decimal import Decimal
from pathlib import Path

import numpy as np
from rich.console import Console
from sqlalchemy import text

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

console = Console(stderr=True)
PASSWORD = "bench-restore-pass"  # noqa: S105 - a throw-away user of a throw-away database


def build(n: int) -> list[tuple[int, int]]:
    """``n`` cut customers on smart meters, each owing January's bill: (account, owed)."""
    from billing.invoices import service as invoices
    from billing.invoices.enums import InvoiceReason
    from core.context import SYSTEM, acting_as
    from core.db import session_scope
    from core.periods import Period
    from customers import service as customers
    from customers.enums import ConnectionState
    from tests.billing.world import customer

    owed = []
    with acting_as(SYSTEM, request_id="bench-restore"), session_scope() as session:
        for _ in range(n):
            who = customer(session)
            bill = invoices.issue_bill(
                session,
                SYSTEM,
                contract_id=who.contract_id,
                period=Period(date(2026, 1, 1), date(2026, 2, 1)),
                kwh={"total": Decimal(150)},
                reason=InvoiceReason.CYCLE,
            )
            session.execute(
                text("UPDATE meter_asset SET meter_type = 'smart' WHERE serial = :s"),
                {"s": who.meter_serial},
            )
            customers.set_connection_state(
                session, usage_point_id=who.usage_point_id, state=ConnectionState.DISCONNECTED
            )
            owed.append((who.account_id, bill.total))
    return owed


def _token() -> str:
    from core.auth import service as auth
    from core.db import session_scope

    with session_scope() as session:
        auth.create_user(session, username="bench-cashier", password=PASSWORD, roles=["cashier"])
        _user, token, _ttl = auth.authenticate(
            session, username="bench-cashier", password=PASSWORD, client_address="bench"
        )
    return token


def _wait(sql: str, expected: int, timeout: float = 300) -> None:
    from core.db import session_scope

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with session_scope() as session:
            if session.scalar(text(sql)) >= expected:
                return
        time.sleep(0.2)
    raise RuntimeError(f"timed out waiting for {expected}: {sql}")


def post_payments(base: str, token: str, owed: list[tuple[int, int]]) -> dict[int, float]:
    """Post each payment; return, per payment id, the wall-clock time its 201 arrived (the
    request's transaction has committed by then: ``api.deps.get_session``)."""
    import httpx

    headers = {"Authorization": f"Bearer {token}"}
    answered: dict[int, float] = {}
    with httpx.Client(base_url=base, timeout=30) as client:
        for account_id, amount in owed:
            answer = client.post(
                "/api/v1/payments",
                json={"customer_account_id": account_id, "amount": amount},
                headers=headers | {"Idempotency-Key": str(uuid.uuid4())},
            )
            if answer.status_code != 201:
                raise RuntimeError(f"payment refused: {answer.status_code} {answer.text}")
            answered[answer.json()["id"]] = time.time()
            time.sleep(0.02)  # one payment at a time, as a desk would post them
    return answered


def floor(n: int) -> list[float]:
    """The bare round trip: n probe events committed, handled by the worker."""
    from core.db import session_scope
    from core.outbox import emit
    from tests.core.worker_handlers import WorkerProbe

    for i in range(n):
        with session_scope() as session:
            emit(session, WorkerProbe(n=i))
        time.sleep(0.02)
    _wait("SELECT count(*) FROM test_worker_effect", n)
    with session_scope() as session:
        rows = session.execute(
            text(
                "SELECT extract(epoch FROM w.at - o.created_at) * 1000 FROM test_worker_effect w "
                "JOIN core_outbox_event o ON o.id = w.event_id"
            )
        ).scalars()
        return [float(x) for x in rows]


def pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=200, help="cut customers paying")
    args = parser.parse_args()
    from core.scratch_db import create_scratch_database, use_database
    from tests.support.processes import Worker, live_server, redis_server

    scratch = create_scratch_database("kw_bench_restore", os.environ.get("KILOWATCH_DATABASE_URL"))
    try:
        with redis_server() as broker:
            os.environ["KILOWATCH_BROKER_URL"] = broker
            use_database(scratch.url)
            from core.celery_app import celery_app
            from core.migrate import upgrade

            celery_app.conf.update(broker_url=broker, task_always_eager=False)
            upgrade(scratch.url)
            from core.db import session_scope

            with session_scope() as session:
                session.execute(
                    text(
                        "CREATE TABLE test_worker_effect (event_id uuid, "
                        "at timestamptz DEFAULT clock_timestamp())"
                    )
                )
            console.print(f"[bold]restore bench[/]: {args.scale} cut customers")
            owed = build(args.scale)
            token = _token()
            env = {
                **os.environ,
                "KILOWATCH_BROKER_URL": broker,
                "KILOWATCH_DATABASE_URL": scratch.url,
                "KILOWATCH_EVENT_HANDLER_MODULES": "tests.core.worker_handlers",
            }
            worker = Worker(env, Path(tempfile.mkdtemp(prefix="kw-bench-restore-")) / "w.log")
            worker.start()
            try:
                from kilowatch.app import build_app

                with live_server(build_app()) as base:
                    floor_ms = floor(50)  # warm-up of the worker and the broker, not kept
                    with session_scope() as session:
                        session.execute(text("TRUNCATE test_worker_effect"))
                    started = time.perf_counter()
                    answered = post_payments(base, token, owed)
                    _wait(
                        "SELECT count(*) FROM rp_restoration WHERE command_at IS NOT NULL",
                        len(owed),
                    )
                    seconds = time.perf_counter() - started
                    floor_ms = floor(len(owed))
            finally:
                worker.stop()
            with session_scope() as session:
                rows = session.execute(
                    text(
                        "SELECT payment_id, status, extract(epoch FROM payment_at),"
                        " extract(epoch FROM command_at), extract(epoch FROM started_at)"
                        " FROM rp_restoration"
                    )
                ).all()
                handlers = dict(
                    session.execute(
                        text(
                            "SELECT d.handler, percentile_cont(0.5) WITHIN GROUP (ORDER BY"
                            " extract(epoch FROM d.handled_at - o.created_at) * 1000)"
                            " FROM core_event_delivery d JOIN core_outbox_event o"
                            " ON o.id = d.event_id WHERE o.name = 'billing.payment_posted'"
                            " GROUP BY 1"
                        )
                    ).all()
                )
            # The commit lies between the transaction's start (payment_at) and the 201.
            restore_ms = [(float(r[3]) - float(r[2])) * 1000 for r in rows]
            after_201_ms = [(float(r[3]) - answered[r[0]]) * 1000 for r in rows]
            handler_ms = [(float(r[3]) - float(r[4])) * 1000 for r in rows]
            restored = sum(1 for r in rows if r[1] == "restored")
            report = {
                "bench": "restore",
                "customers": len(owed),
                "restored": restored,
                "wall_s": round(seconds, 2),
                "payment_to_command_p50_ms": pct(restore_ms, 50),
                "payment_to_command_p95_ms": pct(restore_ms, 95),
                "upper_bound": "from the payment transaction's start",
                "after_201_p50_ms": pct(after_201_ms, 50),
                "after_201_p95_ms": pct(after_201_ms, 95),
                "lower_bound": "from the 201 reaching the client (after the commit)",
                "restoration_handler_p50_ms": pct(handler_ms, 50),
                "handler_start_after_payment_tx_p50_ms": {
                    k: round(float(v), 1) for k, v in handlers.items()
                },
                "floor_task_roundtrip_p50_ms": pct(floor_ms, 50),
                "floor_task_roundtrip_p95_ms": pct(floor_ms, 95),
                "ratio_p50": round(pct(restore_ms, 50) / max(pct(floor_ms, 50), 0.1), 2),
                "ratio_p95": round(pct(restore_ms, 95) / max(pct(floor_ms, 95), 0.1), 2),
                "target_p50_ms": 100,
                "target_p95_ms": 500,
            }
            results = REPO / "bench" / "results"
            results.mkdir(exist_ok=True)
            (results / "restore.json").write_text(json.dumps(report, indent=2))
            print(json.dumps(report))
    finally:
        scratch.drop()


if __name__ == "__main__":
    main()
