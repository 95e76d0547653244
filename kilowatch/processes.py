"""The long-lived processes supervision shows (core.supervision), registered here so core
never imports a domain. Collections and revenue protection add theirs the same way: one
``register(ProcessSource.of(...))`` each (NTL cases, restorations, connection requests).

SLAs are per state: how long a process may rest there before it is reported stuck."""

from __future__ import annotations

from datetime import timedelta

from billing.runs.machine import RUN
from billing.runs.models import BillingRun
from core.supervision import ProcessSource, register
from customers.machines import CASE, CONTRACT
from customers.models import Case, Contract
from field.machines import WORK_ORDER
from field.models import WorkOrder
from fraud.machines import FLAG
from fraud.models import Flag

DAY = timedelta(days=1)

register(ProcessSource.of("contract", "Contracts", CONTRACT, Contract, sla={"pending": 5 * DAY}))
register(
    ProcessSource.of(
        "case",
        "Cases",
        CASE,
        Case,
        sla={
            "open": 2 * DAY,
            "in_progress": 10 * DAY,
            "waiting_customer": 30 * DAY,
            "resolved": 7 * DAY,
        },
    )
)
register(
    ProcessSource.of(
        "work_order",
        "Work orders",
        WORK_ORDER,
        WorkOrder,
        sla={"created": 2 * DAY, "planned": 7 * DAY, "assigned": 5 * DAY, "in_progress": DAY},
    )
)
register(
    ProcessSource.of(
        "billing_run",
        "Billing runs",
        RUN,
        BillingRun,
        sla={"draft": DAY, "simulated": 3 * DAY, "approved": DAY, "issuing": timedelta(hours=6)},
    )
)
register(
    ProcessSource.of(
        "fraud_flag",
        "Fraud flags",
        FLAG,
        Flag,
        sla={"new": 7 * DAY, "reviewing": 14 * DAY, "sent_to_inspection": 30 * DAY},
    )
)
