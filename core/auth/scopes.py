"""Roles map to scopes. Routes ask for scopes, never for roles, so a role can be reshaped
without touching a route."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    TECHNICIAN = "technician"
    RECOVERY_AGENT = "recovery_agent"
    FRAUD_ANALYST = "fraud_analyst"
    MANAGER = "manager"
    BILLING_OFFICER = "billing_officer"
    CASHIER = "cashier"
    CUSTOMER_DESK = "customer_desk"
    ADMIN = "admin"


SCOPE_DESCRIPTIONS: dict[str, str] = {
    "network:read": "See the network model and maps",
    "network:write": "Edit network assets and operate switches",
    "network:import": "Import and export whole feeders",
    "customers:read": "See customers, premises and contracts",
    "customers:write": "Create and change customers, premises, contracts and cases",
    "meters:read": "See meters and readings",
    "meters:write": "Manage meters, installations and readings",
    "field:read": "See rounds, work orders and seals",
    "field:write": "Plan rounds and work orders",
    "field:execute": "Execute work orders and readings in the field",
    "sync": "Sync a handheld device",
    "fraud:read": "See loss balances, scores and flags",
    "fraud:review": "Review flags and decide on them",
    "rp:read": "See NTL cases and campaigns",
    "rp:write": "Manage NTL cases, cut and restore campaigns",
    "billing:read": "See tariffs, invoices and accounts",
    "tariffs:read": "See tariffs and simulate bills with them",
    "tariffs:write": "Create tariffs, publish versions, import tariff documents",
    "billing:run": "Prepare and simulate billing runs",
    "billing:issue": "Approve and issue invoices and credit notes",
    "payments:write": "Take payments and run a cash desk",
    "payments:approve": "Approve desk cancellations and watch every cash desk",
    "dashboards:read": "See management dashboards",
    "audit:read": "Read the audit trail",
    "users:admin": "Manage users, roles and agencies",
    "migration:run": "Import a legacy base (data migration) and follow its runs",
    "collections:read": "See dunning policies, collection files and the cut eligibility list",
    "collections:write": "Edit dunning policies, holds, payment plans; ask for write-offs",
    "collections:approve": "Approve or reject write-offs",
    "jobs:read": "See the scheduled jobs and their runs",
    "jobs:admin": "Pause, run now and change scheduled jobs",
    "processes:read": "Supervise long-lived processes (states, step durations, stuck ones)",
    "reports:read": "See the report catalogue and export reports",
}

ALL_SCOPES = frozenset(SCOPE_DESCRIPTIONS)

ROLE_SCOPES: dict[Role, frozenset[str]] = {
    Role.TECHNICIAN: frozenset(
        {"network:read", "customers:read", "meters:read", "field:read", "field:execute", "sync"}
    ),
    Role.RECOVERY_AGENT: frozenset(
        {
            "tariffs:read",
            "network:read",
            "customers:read",
            "meters:read",
            "billing:read",
            "field:read",
            "field:execute",
            "rp:read",
            "rp:write",
            "sync",
            "collections:read",
        }
    ),
    Role.FRAUD_ANALYST: frozenset(
        {
            "tariffs:read",
            "network:read",
            "customers:read",
            "meters:read",
            "field:read",
            "field:write",
            "fraud:read",
            "fraud:review",
            "rp:read",
            "rp:write",
            "dashboards:read",
        }
    ),
    Role.MANAGER: frozenset(
        {
            "tariffs:read",
            "network:read",
            "customers:read",
            "meters:read",
            "field:read",
            "fraud:read",
            "rp:read",
            "billing:read",
            "dashboards:read",
            "audit:read",
            "payments:approve",
            "collections:read",
            "collections:approve",
            "jobs:read",
            "processes:read",
            "reports:read",
        }
    ),
    Role.BILLING_OFFICER: frozenset(
        {
            "network:read",
            "customers:read",
            "customers:write",
            "meters:read",
            "meters:write",
            "billing:read",
            "billing:run",
            "billing:issue",
            "tariffs:read",
            "tariffs:write",
            "dashboards:read",
            "collections:read",
            "collections:write",
            "reports:read",
        }
    ),
    Role.CASHIER: frozenset({"customers:read", "billing:read", "tariffs:read", "payments:write"}),
    Role.CUSTOMER_DESK: frozenset(
        {
            "tariffs:read",
            "network:read",
            "customers:read",
            "customers:write",
            "meters:read",
            "billing:read",
            "field:read",
            "collections:read",
        }
    ),
    Role.ADMIN: ALL_SCOPES,
}


def scopes_for(roles: list[str] | tuple[str, ...]) -> frozenset[str]:
    scopes: set[str] = set()
    for role in roles:
        scopes |= ROLE_SCOPES[Role(role)]
    return frozenset(scopes)
