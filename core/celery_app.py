"""The Celery application. With no broker URL, tasks run eagerly in-process.

Tasks are acknowledged late and rejected when a worker dies, so a message is never lost
with a crashed worker; every task is idempotent, so a redelivered one does no harm.
"""

from __future__ import annotations

from celery import Celery

from core.settings import get_settings


def make_celery() -> Celery:
    settings = get_settings()
    app = Celery("kilowatch", include=["core.tasks"])
    eager = not settings.broker_url
    app.conf.update(
        broker_url=settings.broker_url or "memory://localhost/",
        result_backend=None,
        task_ignore_result=True,
        task_always_eager=eager,
        task_eager_propagates=False,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": 3600},
        task_default_queue="kilowatch",
        timezone="UTC",
        # Beat also reads the scheduled jobs from the database (core.scheduling): the utility's
        # calendar (dunning, sweeps, scoring ...) lives there, as data.
        beat_scheduler="core.scheduling.beat:DatabaseScheduler",
        beat_schedule={
            "core.sweep_outbox": {"task": "core.sweep_outbox", "schedule": 60.0},
            "core.purge_idempotency_keys": {
                "task": "core.purge_idempotency_keys",
                "schedule": 3600.0,
            },
        },
    )
    return app


celery_app = make_celery()
