"""Run Alembic migrations programmatically (``kilowatch db migrate``, tests, the demo)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from core.settings import project_root


def alembic_config(url: str | None = None) -> Config:
    config = Config(str(project_root() / "alembic.ini"))
    config.set_main_option("script_location", str(project_root() / "migrations"))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)
