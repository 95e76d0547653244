"""ASGI entry point for uvicorn: ``kilowatch.asgi:app``."""

from kilowatch.app import build_app

app = build_app()
