"""The customer domain's public services (what routes, tasks and other domains call).

The work is split by subject; this module gathers it so callers import one name."""

from __future__ import annotations

from customers.case_service import (
    assign_case,
    assignment_rule_for,
    case_board,
    create_rule,
    delete_rule,
    flag_breached_cases,
    log_interaction,
    open_case,
    step_case,
    task_list_query,
    update_case,
)
from customers.contract_service import (
    change_power,
    contract_reads,
    create_account,
    move_in,
    move_out,
    simple_step,
    terminate,
    transfer,
    update_account,
    update_contract,
)
from customers.party_service import (
    add_contacts,
    candidates,
    create_party,
    find_duplicates,
    merge_parties,
    party_reads,
    require_party,
    update_party,
)
from customers.premises_service import (
    create_location,
    create_usage_point,
    location_read,
    locations_read,
    set_connection_state,
    update_location,
    update_usage_point,
)

__all__ = [
    "add_contacts",
    "assign_case",
    "assignment_rule_for",
    "candidates",
    "case_board",
    "change_power",
    "contract_reads",
    "create_account",
    "create_location",
    "create_party",
    "create_rule",
    "create_usage_point",
    "delete_rule",
    "find_duplicates",
    "flag_breached_cases",
    "location_read",
    "locations_read",
    "log_interaction",
    "merge_parties",
    "move_in",
    "move_out",
    "open_case",
    "party_reads",
    "require_party",
    "set_connection_state",
    "simple_step",
    "step_case",
    "task_list_query",
    "terminate",
    "transfer",
    "update_account",
    "update_case",
    "update_contract",
    "update_location",
    "update_party",
    "update_usage_point",
]
