"""Builds the web application with every domain wired in."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from sqlalchemy.orm import Session

from api.app import create_app
from kilowatch.bootstrap import bootstrap


def build_app(session_factory: Callable[[], Session] | None = None) -> FastAPI:
    bootstrap()
    return create_app(session_factory=session_factory)
