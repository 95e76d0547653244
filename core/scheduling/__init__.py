"""Scheduled jobs as data: a table of jobs (task name, arguments, cron rule in the
utility's local calendar), a record of every run, and the Celery beat scheduler that reads
them (``celery beat -S core.scheduling.beat:DatabaseScheduler``)."""
