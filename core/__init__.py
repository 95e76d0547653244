"""Kilowatch core: settings, database, base models, errors, auth, audit, outbox, Celery."""
