"""What an entity's hooks work with during one migration run: its typed staging table, the
problem report, the key map of legacy external keys to Kilowatch ids.

A run stages every file (COPY into a temporary table), types and checks it whole, then
the entities write in dependency order (committed one by one by ``core.migration.runner``:
a run killed half-way keeps its finished entities and resumes from the next); running it
again is cheap because writes skip what has not changed (the key map and each row's
values decide). Staging tables are temporary, kept across commits, dropped at the end.

A staging table ``ctx.staging(entity)`` has ``line`` (the file's line number: the header
is line 1), one column per entity column typed as declared (NULL when empty, or when the
text did not convert: the kit then reported ``invalid_<type>``), ``raw`` (the row's text
as a JSON object, for the report and the parked rows) and ``ok`` (false once a problem was
found in the row). Hooks read ``ctx.valid(entity)`` for the rows still ``ok``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from core.audit import each_row_audited
from core.context import Actor

# Fewer rows added to a table than this never make a run refresh its statistics.
ANALYZE_AFTER_ROWS = 1000

# (entity, done, total) while staging, checking and writing.
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Problem:
    """One bad value or row: where (file, line, field) and what (a stable code)."""

    entity: str
    line: int
    field: str
    code: str
    message: str

    @property
    def file(self) -> str:
        return f"{self.entity}.csv"

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "field": self.field,
            "code": self.code,
            "message": self.message,
        }


@dataclass
class MigrationSettings:
    """Choices of one run."""

    # Premises with coordinates but no service point hang on the nearest service point
    # within this distance (metres, in the projected CRS); beyond it they are reported.
    attach_max_m: float = 50.0
    # The deployment's area (EPSG:4326 lon/lat box); coordinates outside are refused.
    area: tuple[float, float, float, float] | None = None


@dataclass
class MigrationContext:
    """One run's working state, handed to every entity hook."""

    session: Session
    actor: Actor
    run_id: int
    settings: MigrationSettings = field(default_factory=MigrationSettings)
    progress: Progress | None = None
    found: list[Problem] = field(default_factory=list)
    # What the report tells without refusing a row (premises attached to the nearest
    # service point, with the distance): same shape as a problem, never parks a row.
    notes: list[Problem] = field(default_factory=list)
    staged: dict[str, str] = field(default_factory=dict)  # entity -> staging table

    # -- staging ---------------------------------------------------------------------------

    def staging(self, entity: str) -> str:
        """The staging table of ``entity`` (a temporary table's name, safe to inline);
        an entity whose file was absent has an empty one."""
        return self.staged[entity]

    def valid(self, entity: str) -> str:
        """SQL for the rows of ``entity`` still without a problem: ``(SELECT ...) AS v``-ready
        subquery text (use it as ``FROM {ctx.valid('parties')} p``)."""
        return f"(SELECT * FROM {self.staging(entity)} WHERE ok)"

    def has_file(self, entity: str) -> bool:
        return entity in self.staged

    # -- problems --------------------------------------------------------------------------

    def problems(self, entity: str, sql: str, params: dict[str, Any] | None = None) -> int:
        """Record the problems that ``sql`` finds: a SELECT over ``entity``'s staging rows
        returning ``(line, field, code, message)``. Those rows are marked not ``ok`` so the
        write skips them and the entities referencing them see them missing. The number of
        problems found."""
        rows = self.session.execute(text(sql), params or {}).all()
        if not rows:
            return 0
        self.found.extend(
            Problem(entity, int(line), str(fld), str(code), str(msg))
            for line, fld, code, msg in rows
        )
        self.session.execute(
            text(f"UPDATE {self.staging(entity)} SET ok = false WHERE line = ANY(:lines)"),
            {"lines": sorted({int(r[0]) for r in rows})},
        )
        return len(rows)

    def add_problems(self, problems: list[Problem]) -> None:
        """Record problems found in Python (phones, e-mails, documents checked with their
        libraries) and mark their rows not ``ok``."""
        self.found.extend(problems)
        by_entity: dict[str, set[int]] = {}
        for problem in problems:
            by_entity.setdefault(problem.entity, set()).add(problem.line)
        for entity, lines in by_entity.items():
            self.session.execute(
                text(f"UPDATE {self.staging(entity)} SET ok = false WHERE line = ANY(:lines)"),
                {"lines": sorted(lines)},
            )

    def note(self, note: Problem) -> None:
        """Tell the report something about a row that is not wrong with it."""
        self.notes.append(note)

    # -- the key map -----------------------------------------------------------------------

    def key_map(self, entity: str) -> str:
        """SQL for the stored mapping of ``entity``'s external keys to Kilowatch ids:
        a subquery with columns ``external_key, kilowatch_id``."""
        return (
            "(SELECT external_key, kilowatch_id FROM core_migration_key "
            f"WHERE entity = '{_literal(entity)}')"
        )

    def remember_keys(self, entity: str, sql: str, params: dict[str, Any] | None = None) -> int:
        """Store (or move) the mapping of the pairs ``sql`` selects as ``(external_key,
        kilowatch_id)``; the number of pairs that are new or moved."""
        result = self.session.execute(
            text(
                "INSERT INTO core_migration_key (entity, external_key, kilowatch_id, run_id) "
                f"SELECT '{_literal(entity)}', k.external_key, k.kilowatch_id, :run "
                f"FROM ({sql}) AS k (external_key, kilowatch_id) "
                "ON CONFLICT (entity, external_key) DO UPDATE "
                "SET kilowatch_id = excluded.kilowatch_id, run_id = excluded.run_id "
                "WHERE core_migration_key.kilowatch_id IS DISTINCT FROM excluded.kilowatch_id"
            ),
            {**(params or {}), "run": self.run_id},
        )
        added = int(result.rowcount or 0)  # type: ignore[attr-defined]
        self.grown("core_migration_key", added)
        return added

    def grown(self, table: str, added: int) -> None:
        """Refresh the planner's statistics of ``table`` once this run added ``added`` rows
        to it, when that is enough to change plans (a tenth of what it held, as autovacuum
        judges, but at least ``ANALYZE_AFTER_ROWS``). Autovacuum only sees a run's rows after
        the commit: without this, the later entities of a first import, and a re-import
        right after it, would plan on the empty tables the base started from (a nested loop
        rescanning a table believed to hold one row)."""
        if added < ANALYZE_AFTER_ROWS:
            return
        held = self.session.execute(
            text("SELECT greatest(reltuples, 0) FROM pg_class WHERE oid = CAST(:t AS regclass)"),
            {"t": table},
        ).scalar()
        if added >= 0.1 * float(held or 0):
            self.session.execute(text(f"ANALYZE {_literal(table)}"))

    @contextmanager
    def each_row_audited(self) -> Iterator[None]:
        """Audit the statements in this block row by row (updates of stored records)."""
        with each_row_audited(self.session):
            yield

    def tell(self, entity: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(entity, done, total)


def _literal(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"not an entity name: {name!r}")
    return name
