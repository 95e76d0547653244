"""Throw-away databases for tests and benchmarks: created on a given PostgreSQL server, or
on the embedded cluster, migrated by the caller, and dropped when done."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from core import db as core_db
from core.settings import get_settings


@dataclass(frozen=True)
class ScratchDatabase:
    """A database that exists for one test session or one benchmark run."""

    name: str
    url: str
    drop: Callable[[], None]


def create_scratch_database(prefix: str, server_url: str | None = None) -> ScratchDatabase:
    """Create ``<prefix>_<pid>_<random>`` on ``server_url``'s server (a URL whose user may
    create databases) or, without one, on the embedded cluster (started if needed)."""
    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    if server_url:
        admin = create_engine(
            make_url(server_url).set(database="postgres"), isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = make_url(server_url).set(database=name).render_as_string(hide_password=False)

        def drop() -> None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()

        return ScratchDatabase(name, url, drop)
    from core.embedded_pg import EmbeddedCluster

    cluster = EmbeddedCluster.from_settings(get_settings())
    cluster.up(echo=False)
    return ScratchDatabase(name, cluster.create_database(name), lambda: cluster.drop_database(name))


def use_database(url: str) -> None:
    """Point this process (settings, engines, sessions, tasks) at ``url``."""
    os.environ["KILOWATCH_DATABASE_URL"] = url
    get_settings.cache_clear()
    core_db.get_engine.cache_clear()
    core_db._sessionmaker.cache_clear()
