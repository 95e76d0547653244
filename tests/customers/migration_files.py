"""Small migration bases for the entity tests: CSV files written to a folder, imported
with the kit's ``run_import``."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from core.context import Actor
from core.migration.context import MigrationSettings
from core.migration.service import MigrationInvalidError, MigrationReport, run_import
from kilowatch.bootstrap import MIGRATION_MODULES

for _module in MIGRATION_MODULES:  # the composition root registers them
    __import__(_module)

ADMIN = Actor(user_id=None, username="migrator", scopes=frozenset({"*"}))
# Cotonou and around: the tests' area.
AREA = (1.5, 6.0, 3.5, 7.5)


def base(tmp_path: Path, **files: str) -> Path:
    """A folder with one CSV per entity: ``parties="party_key,kind\\nC1,person"``."""
    folder = tmp_path / "base"
    folder.mkdir(exist_ok=True)
    for old in folder.glob("*.csv"):
        old.unlink()
    for name, body in files.items():
        (folder / f"{name}.csv").write_text(body.strip() + "\n", encoding="utf-8")
    return folder


def settings(**changes: object) -> MigrationSettings:
    return MigrationSettings(**{"area": AREA, **changes})  # type: ignore[arg-type]


def load(db: Session, folder: Path, **options: object) -> MigrationReport:
    return run_import(
        db, actor=ADMIN, source=folder, settings=options.pop("settings", settings()), **options
    )  # type: ignore[arg-type]


def refused(db: Session, folder: Path, **options: object) -> set[tuple[str, int, str, str]]:
    """The problems of a refused import, as (file, line, field, code)."""
    with pytest.raises(MigrationInvalidError) as error:
        load(db, folder, **options)
    return {(p.file, p.line, p.field, p.code) for p in error.value.problems}


def count(db: Session, table: str) -> int:
    return int(db.scalar(text(f"SELECT count(*) FROM {table}")) or 0)


def last_audit_id(db: Session) -> int:
    return int(db.scalar(text("SELECT coalesce(max(id), 0) FROM core_audit_log")) or 0)


def audit_since(db: Session, since: int) -> list[tuple[str, str, dict | None, dict | None]]:
    """Audit entries written after entry ``since``: (table, action, before, after)."""
    return [
        (r.table_name, r.action, r.before, r.after)
        for r in db.execute(
            text(
                "SELECT table_name, action, before, after FROM core_audit_log "
                "WHERE id > :since AND table_name NOT LIKE 'core_migration%' ORDER BY id"
            ),
            {"since": since},
        )
    ]


def service_point(db: Session, code: str, lon: float, lat: float) -> int:
    """A network service point (pole) at lon/lat, EPSG:4326."""
    from geoalchemy2 import WKTElement

    from gis.models import NetworkNode, ServicePoint

    point = WKTElement(f"POINT({lon} {lat})", srid=4326)
    node = NetworkNode(code=f"N-{code}", geom=point)
    db.add(node)
    db.flush()
    sp = ServicePoint(code=code, kind="pole", node_id=node.id, geom=point)
    db.add(sp)
    db.flush()
    return int(sp.id)
