"""The field domain's public services (what routes, tasks, the sync layer and other
domains call). The work is split by subject; this module gathers it so callers import one
name. Every function is keyword-only, takes the session and the acting principal, and
flushes without committing."""

from __future__ import annotations

from field.feed import Assignments, assignments_since
from field.organisation import (
    create_cycle,
    create_team,
    create_technician,
    require_technician_of,
    technician_of,
    update_technician,
)
from field.rounds import (
    RoundReadResult,
    assign_round,
    build_round,
    close_round,
    record_round_reading,
    reorder_round,
    round_progress,
    skip_round_item,
)
from field.routing import order_stops
from field.seals import (
    apply_seal,
    break_seal,
    issue_seals,
    receive_seal_batch,
    remove_seal,
    report_seal_anomaly,
    seals_at,
    verify_seal,
)
from field.work_orders import (
    assign_work_order,
    cancel_work_order,
    complete_work_order,
    create_work_order,
    fail_work_order,
    order_final_reading,
    plan_work_order,
    start_work_order,
)

__all__ = [
    "Assignments",
    "RoundReadResult",
    "apply_seal",
    "assign_round",
    "assign_work_order",
    "assignments_since",
    "break_seal",
    "build_round",
    "cancel_work_order",
    "close_round",
    "complete_work_order",
    "create_cycle",
    "create_team",
    "create_technician",
    "create_work_order",
    "fail_work_order",
    "issue_seals",
    "order_final_reading",
    "order_stops",
    "plan_work_order",
    "receive_seal_batch",
    "record_round_reading",
    "remove_seal",
    "reorder_round",
    "report_seal_anomaly",
    "require_technician_of",
    "round_progress",
    "seals_at",
    "skip_round_item",
    "start_work_order",
    "technician_of",
    "update_technician",
    "verify_seal",
]
