"""Structured logging with structlog: key=value for humans, JSON in production.

Tracebacks are logged WITHOUT local variables: a frame's locals hold passwords, tokens and
personal data (structlog's rich and dict tracebacks show them by default). The database
engine hides statement parameters for the same reason (``core.db``).
"""

from __future__ import annotations

import logging
import sys

import structlog

from core.context import current_request_id


def _add_request_id(
    _logger: object, _name: str, event_dict: structlog.types.EventDict
) -> structlog.types.EventDict:
    request_id = current_request_id()
    if request_id:
        event_dict.setdefault("request_id", request_id)
    return event_dict


class _CurrentStderr:
    """Whatever ``sys.stderr`` is when a line is written (not when logging was set up), so
    a redirected stderr (a test's capture, a daemon's log file) receives the lines."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def _renderers(json: bool) -> list[structlog.types.Processor]:
    if json:
        no_locals = structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
        return [
            structlog.processors.ExceptionRenderer(no_locals),
            structlog.processors.JSONRenderer(),
        ]
    # plain_traceback: the standard library's format, file/line/source only.
    return [
        structlog.dev.ConsoleRenderer(
            colors=False, exception_formatter=structlog.dev.plain_traceback
        )
    ]


def configure_logging(level: str = "INFO", json: bool = False) -> None:
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _add_request_id,
            *_renderers(json),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(_CurrentStderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(
        level=level.upper(), stream=sys.stderr, format="%(levelname)s %(name)s %(message)s"
    )
    for noisy in ("alembic", "celery", "kombu", "amqp", "httpx", "urllib3"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level.upper())))


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)  # type: ignore[no-any-return]
