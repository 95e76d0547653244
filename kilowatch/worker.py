"""Celery entry point: ``celery -A kilowatch.worker worker``."""

from core.celery_app import celery_app
from kilowatch.bootstrap import bootstrap

bootstrap()
app = celery_app
