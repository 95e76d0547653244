"""A run cut short in its fourth entity keeps the three it committed; resumed (the CLI's
``--resume RUN_ID``, the worker handed its run again) it writes only the rest and ends in
the state an uninterrupted run leaves. Five test-only entities in a chain ("links"), each
writing its rows to ``test_link``; the fourth fails after writing when told to."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from core.context import SYSTEM
from core.db import session_scope
from core.migration import spec
from core.migration.context import MigrationContext
from core.migration.models import MigrationRun
from core.migration.runner import import_committed
from core.migration.spec import Column, Entity, WriteCounts
from core.migration.tasks import process_run
from kilowatch.cli import app

NAMES = ["link_a", "link_b", "link_c", "link_d", "link_e"]
FAILING: set[str] = set()


class Cut(RuntimeError):
    """The run dies here (as a killed process or a lost connection would)."""


def _entity(name: str, parent: str | None) -> Entity:
    def write(ctx: MigrationContext) -> WriteCounts:
        inserted = ctx.session.execute(
            text(
                f"INSERT INTO test_link (entity, code, label) SELECT '{name}', v.code, v.label "
                f"FROM {ctx.valid(name)} v ON CONFLICT (entity, code) DO NOTHING"
            )
        ).rowcount
        if name in FAILING:
            raise Cut(f"{name} cut short")
        total = ctx.session.execute(text(f"SELECT count(*) FROM {ctx.valid(name)} v")).scalar_one()
        return WriteCounts(inserted, 0, total - inserted)

    def export(session: Session) -> Iterable[Mapping[str, Any]]:
        return []

    return Entity(
        name=name,
        title=f"{name} (tests only)",
        key="code",
        columns=(Column("code", required=True), Column("label")),
        validate=lambda ctx: None,
        write=write,
        export=export,
        depends_on=(parent,) if parent else (),
    )


@pytest.fixture()
def links(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(spec, "_entities", {})
    for index, name in enumerate(NAMES):
        spec.register(_entity(name, NAMES[index - 1] if index else None))
    with session_scope() as session:
        session.execute(
            text(
                "CREATE TABLE test_link (entity text, code text, label text, "
                "PRIMARY KEY (entity, code))"
            )
        )
        last = session.execute(text("SELECT coalesce(max(id), 0) FROM core_migration_run"))
        last_run = int(last.scalar_one())
    FAILING.clear()
    try:
        yield
    finally:
        FAILING.clear()
        with session_scope() as session:
            session.execute(text("DROP TABLE IF EXISTS test_link"))
            session.execute(text("DELETE FROM core_migration_run WHERE id > :id"), {"id": last_run})


def _base(folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    for name in NAMES:
        (folder / f"{name}.csv").write_text(f"code,label\n{name}-1,one\n{name}-2,two\n")
    return folder


def _stored() -> list[tuple[str, str, str]]:
    with session_scope() as session:
        rows = session.execute(text("SELECT entity, code, label FROM test_link ORDER BY 1, 2"))
        return [tuple(r) for r in rows]  # type: ignore[misc]


def _clear() -> None:
    with session_scope() as session:
        session.execute(text("DELETE FROM test_link"))


def _run(run_id: int) -> MigrationRun:
    with session_scope() as session:
        return session.get_one(MigrationRun, run_id)


def _last_run_id() -> int:
    with session_scope() as session:
        return int(session.execute(text("SELECT max(id) FROM core_migration_run")).scalar_one())


def test_a_run_cut_in_its_fourth_entity_resumes_to_the_uninterrupted_state(
    links: None, tmp_path: Path
) -> None:
    folder = _base(tmp_path / "base")
    import_committed(actor=SYSTEM, source=folder)
    uninterrupted = _stored()
    assert len(uninterrupted) == 10
    _clear()

    FAILING.add("link_d")
    cut = CliRunner().invoke(app, ["migrate", "import", str(folder), "--json"])
    assert isinstance(cut.exception, Cut)
    run_id = _last_run_id()
    # The first three entities stay committed; the fourth's rows were rolled back.
    assert {e for e, _c, _l in _stored()} == {"link_a", "link_b", "link_c"}
    assert _run(run_id).status == "running"
    assert _run(run_id).report["written"] == ["link_a", "link_b", "link_c"]  # type: ignore[index]

    FAILING.clear()
    resumed = CliRunner().invoke(
        app, ["migrate", "import", str(folder), "--resume", str(run_id), "--json"]
    )
    assert resumed.exit_code == 0, resumed.output
    report = json.loads(resumed.stdout.strip().splitlines()[-1])
    assert _stored() == uninterrupted
    assert report["run_id"] == run_id
    assert report["status"] == "done"
    assert report["resumed"] == ["link_a", "link_b", "link_c"]
    assert report["written"] == NAMES
    # The resumed entities keep the counts of the run that wrote them.
    assert {n: e["inserted"] for n, e in report["entities"].items()} == dict.fromkeys(NAMES, 2)
    assert _run(run_id).status == "done"


def test_resuming_another_folder_or_a_finished_run_is_refused(links: None, tmp_path: Path) -> None:
    folder = _base(tmp_path / "base")
    import_committed(actor=SYSTEM, source=folder)
    run_id = _last_run_id()
    finished = CliRunner().invoke(app, ["migrate", "import", str(folder), "--resume", str(run_id)])
    assert finished.exit_code == 2
    assert f"run {run_id} is done: nothing to resume" in finished.output
    other = _base(tmp_path / "other")
    elsewhere = CliRunner().invoke(app, ["migrate", "import", str(other), "--resume", str(run_id)])
    assert elsewhere.exit_code == 2
    assert "imported 'base', not 'other'" in elsewhere.output


def test_the_worker_resumes_a_failed_upload(links: None, tmp_path: Path) -> None:
    folder = _base(tmp_path / "base")
    import_committed(actor=SYSTEM, source=folder)
    uninterrupted = _stored()
    _clear()
    upload = Path(shutil.make_archive(str(tmp_path / "run-upload"), "zip", folder))
    with session_scope() as session:
        run = MigrationRun(
            status="queued", source_name="base.zip", actor="system", progress={}, dry_run=False
        )
        session.add(run)
        session.flush()
        run_id = run.id

    FAILING.add("link_d")
    assert process_run(run_id, str(upload)) == "failed"
    failed = _run(run_id)
    assert failed.status == "failed"
    assert failed.report is not None and failed.report["written"] == NAMES[:3]
    assert "link_d cut short" in failed.report["detail"]
    assert upload.exists()  # the upload is kept, to be resumed

    FAILING.clear()
    assert process_run(run_id, str(upload)) == "done"
    assert not upload.exists()
    done = _run(run_id)
    assert done.report is not None and done.report["resumed"] == NAMES[:3]
    assert _stored() == uninterrupted
