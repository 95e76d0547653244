"""Start-up wiring shared by the API, the CLI and the workers: logging, task modules,
event handlers, and the outbox's dispatcher (Celery: one task per committed event; a test
may swap in ``core.outbox.InTransactionDispatcher``). Idempotent."""

from __future__ import annotations

from core.celery_app import celery_app
from core.events import load_handler_modules
from core.logging import configure_logging
from core.outbox import install_dispatcher
from core.settings import get_settings
from core.tasks import CeleryDispatcher

# Modules holding Celery tasks (imported by workers so the tasks are registered).
TASK_MODULES = [
    "core.tasks",
    "core.migration.tasks",
    "gis.tasks",
    "customers.tasks",
    "fraud.tasks",
    "billing.documents.tasks",
    "billing.runs.tasks",
    "billing.invoices.tasks",
    "billing.collections.tasks",
    "core.scheduling.tasks",
    "core.reports.tasks",
]
# Modules registering domain-event handlers (the only place where news travels up).
HANDLER_MODULES = ["kilowatch.handlers"]
# Modules adding their domain's sections to the customer file (and search sources).
CUSTOMER_FILE_MODULES = [
    "meters.customer_file",
    "billing.account_file",
    "billing.payments.account_file",
]
# Modules registering their domain's files of the data-migration format (core.migration).
MIGRATION_MODULES: list[str] = ["customers.migration", "meters.migration", "billing.migration"]
# Modules registering long-lived processes (core.supervision) and reports (core.reports).
PROCESS_MODULES = ["kilowatch.processes", "kilowatch.reports"]

_done = False


def bootstrap() -> None:
    global _done
    if _done:
        return
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    celery_app.conf.include = sorted(set(celery_app.conf.include or []) | set(TASK_MODULES))
    for module in TASK_MODULES:
        __import__(module)
    load_handler_modules(HANDLER_MODULES)
    for module in CUSTOMER_FILE_MODULES + MIGRATION_MODULES + PROCESS_MODULES:
        __import__(module)
    load_handler_modules(settings.event_handler_modules)
    install_dispatcher(CeleryDispatcher())
    _done = True
