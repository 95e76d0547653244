"""Alembic environment: the URL comes from Kilowatch settings, metadata from every domain."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

from kilowatch.models_registry import metadata

config = context.config


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from core.db import database_url

    return database_url()


def _include_object(obj, name, type_, reflected, compare_to):
    # PostGIS's own table, and gis_network_state (a single-row version counter kept by
    # triggers written in migration 0002, never mapped) are not compared.
    return not (type_ == "table" and name in {"spatial_ref_sys", "gis_network_state"})


def run_migrations_offline() -> None:
    context.configure(
        url=_url(), target_metadata=metadata, literal_binds=True, include_object=_include_object
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = engine_from_config(
        {"sqlalchemy.url": _url()}, prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    with connectable.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            include_object=_include_object,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
