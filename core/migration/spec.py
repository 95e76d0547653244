"""The data-migration format as data: which files ("entities") a utility's legacy base is
brought in with, their columns, and how each domain checks, writes and exports its own.

The kit (``core.migration``) owns everything common: reading a folder of CSV files or an
XLSX workbook (one sheet per entity), staging each file with COPY, typing the columns and
checking required fields, the report of problems (file, line, field, stable code), the
mapping of legacy external keys to Kilowatch ids, parked rows (``--partial``), runs and
their progress, templates and the export. Each domain registers the entities it owns
(customers: parties, premises, usage points, contracts; meters: meters, installations,
zone meters; billing later: opening balances ...) with :func:`register`, from a module the
composition root imports, so core never imports a domain.

An entity's hooks all work set-based on its staging table (never row by row):

- ``validate(ctx)``: find the rows that break a rule of the domain (references to other
  files or to stored records, formats, duplicates, "a meter installed twice at once" ...)
  and record them with ``ctx.problems(...)``;
- ``write(ctx)``: upsert the valid rows into the domain's tables and the key map, update
  only what changed, and return the counts;
- ``export(session)``: the stored records as rows of the same columns (a round trip is
  lossless).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from core.migration.context import MigrationContext

# How a column's text is typed in staging; a value that does not convert is reported with
# the code ``invalid_<type>`` (e.g. ``invalid_date``) by the kit before ``validate`` runs.
ColumnType = Literal["text", "integer", "decimal", "float", "date", "timestamp", "boolean"]


@dataclass(frozen=True)
class Column:
    """One column of an entity's file."""

    name: str
    type: ColumnType = "text"
    required: bool = False
    doc: str = ""  # what it holds, for the documentation and the template
    examples: tuple[str, str] = ("", "")  # the template's two example rows


@dataclass(frozen=True)
class WriteCounts:
    """What ``write`` did: rows inserted, updated (something changed) and unchanged."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass(frozen=True)
class Entity:
    """One file of the format (``<name>.csv`` or the sheet ``<name>``)."""

    name: str  # "parties"
    title: str  # "Customers (persons and organisations)"
    key: str  # the column holding the legacy system's stable external key
    columns: tuple[Column, ...]
    validate: Callable[[MigrationContext], None]
    write: Callable[[MigrationContext], WriteCounts]
    export: Callable[[Session], Iterable[Mapping[str, Any]]]
    depends_on: tuple[str, ...] = ()  # entities whose keys this one references
    doc: str = ""
    # Only for an entity a later issue adds, whose file may be absent from a base.
    optional: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


_entities: dict[str, Entity] = {}


def register(entity: Entity) -> Entity:
    """Add ``entity`` to the format (a domain module calls this at import)."""
    unknown = [c.name for c in entity.columns if not c.name.isidentifier()]
    if unknown or entity.key not in entity.column_names:
        raise ValueError(f"entity {entity.name}: bad columns {unknown} or key {entity.key!r}")
    _entities[entity.name] = entity
    return entity


def unregister(name: str) -> None:
    """Take ``name`` out of the format (tests registering an entity of their own)."""
    _entities.pop(name, None)


def entities() -> list[Entity]:
    """Every registered entity, parents before children (``depends_on`` order)."""
    done: list[Entity] = []
    seen: set[str] = set()

    def visit(entity: Entity, path: tuple[str, ...]) -> None:
        if entity.name in seen:
            return
        if entity.name in path:
            raise ValueError(f"entities depend on each other in a loop: {path}")
        for parent in entity.depends_on:
            if parent in _entities:
                visit(_entities[parent], (*path, entity.name))
        seen.add(entity.name)
        done.append(entity)

    for entity in sorted(_entities.values(), key=lambda e: e.name):
        visit(entity, ())
    return done


def entity(name: str) -> Entity:
    return _entities[name]
