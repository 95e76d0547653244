"""Import a feeder: read (GeoJSON, GeoPackage or an OpenDSS folder), check, place, write in
the caller's transaction, then trace it. Bad input raises NetworkImportInvalidError naming
every bad record before anything is written."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from core.audit import declare_bulk_job
from core.context import Actor
from core.errors import FieldError
from gis.errors import NetworkFormatUnsupportedError, NetworkImportInvalidError
from gis.io.bundle import Bundle
from gis.io.inside import require_inside
from gis.io.placement import check, place
from gis.io.sniff import sniff
from gis.io.writer import kind_counts, write_bundle
from gis.retrace import retrace_feeders

FORMATS = ("geojson", "gpkg", "opendss")
Progress = Callable[[str, int, int], None]


@dataclass
class ImportReport:
    """What an import did: per file kind how many records, per table how many rows were
    inserted or updated, and the traced topology of the imported feeders."""

    source: str
    format: str
    crs: str
    feeders: list[str]
    records: dict[str, int]
    rows: dict[str, dict[str, int]]
    derived_locations: int
    topology: dict[str, Any]
    feeder_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def detect_format(path: Path, declared: str | None = None) -> str:
    """The file's format, from its content; a declared format must agree with it."""
    found = sniff(path)
    if found not in FORMATS:
        raise NetworkFormatUnsupportedError(
            f"{path.name!r} is a {found} file: import the folder or file inside it"
        )
    if declared is not None and declared != found:
        if declared not in FORMATS:
            raise NetworkFormatUnsupportedError(
                f"unknown format {declared!r}: expected {', '.join(FORMATS)}"
            )
        raise NetworkFormatUnsupportedError(
            f"{path.name!r} was declared {declared} but its content is {found}"
        )
    return found


def read_bundle(path: Path, *, fmt: str, crs: str | None) -> Bundle:
    if fmt in {"geojson", "gpkg"}:
        from gis.io.geojson import read_features

        return read_features(path, fmt=fmt, crs=crs)
    if fmt == "opendss":
        from gis.io.opendss import read_opendss

        return read_opendss(path, crs=crs)
    raise NetworkFormatUnsupportedError(f"unknown format {fmt!r}: expected {', '.join(FORMATS)}")


def _reject(bundle: Bundle) -> None:
    if not bundle.problems:
        return
    errors = [FieldError(field=p.field, message=p.message, code=p.code) for p in bundle.problems]
    raise NetworkImportInvalidError(
        f"{bundle.source}: {len(errors)} invalid record(s); nothing was imported", errors=errors
    )


_FEEDER_COUNTS_SQL = """
SELECT f.code,
  (SELECT count(*) FROM gis_power_transformer t WHERE t.feeder_id = f.id) AS transformers,
  (SELECT count(*) FROM gis_switch s WHERE s.home_feeder_id = f.id) AS switches,
  (SELECT count(*) FROM gis_line_segment l WHERE l.feeder_id = f.id) AS segments,
  (SELECT count(*) FROM gis_service_point p WHERE p.feeder_id = f.id) AS service_points,
  (SELECT count(*) FROM gis_service_point p WHERE p.home_feeder_id = f.id
     AND p.feeder_id IS NULL) AS de_energised_service_points
FROM gis_feeder f WHERE f.id = ANY(:ids) ORDER BY f.code
"""


def import_network(
    session: Session,
    *,
    actor: Actor,
    path: Path,
    format: str | None = None,
    crs: str | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import ``path`` in the caller's transaction (nothing is written if anything is bad,
    or if anything lies outside ``actor``'s territory: ``gis.io.inside``)."""
    started = time.perf_counter()
    fmt = detect_format(path, format)

    def tell(stage: str, done: int, total: int) -> None:
        if progress:
            progress(stage, done, total)

    tell("reading", 0, 1)
    bundle = read_bundle(path, fmt=fmt, crs=crs)
    tell("checking", 0, 1)
    if not any(p.kind == "file" for p in bundle.problems):  # a readable file: check it all
        check(bundle)
    _reject(bundle)
    placed = place(bundle)
    _reject(bundle)
    require_inside(session, actor, bundle, placed)
    heads = [r.code for r in bundle.records if r.kind == "feeder_head"]
    declare_bulk_job(session, f"gis.import:{','.join(heads)[:200]}:{uuid.uuid4().hex[:8]}")
    feeder_ids, rows = write_bundle(session, bundle, placed, tell)
    tell("tracing", 0, 1)
    topology = retrace_feeders(session, feeder_ids=feeder_ids)
    if len(feeder_ids) > 1:
        for table in (
            "gis_network_node",
            "gis_power_transformer",
            "gis_line_segment",
            "gis_switch",
            "gis_service_point",
        ):
            session.execute(
                text(
                    f"UPDATE {table} SET home_feeder_id = feeder_id "
                    "WHERE home_feeder_id IS NULL AND feeder_id = ANY(:f)"
                ),
                {"f": feeder_ids},
            )
    tell("tracing", 1, 1)
    feeder_counts = {
        row.code: {k: int(v) for k, v in row._mapping.items() if k != "code"}
        for row in session.execute(text(_FEEDER_COUNTS_SQL), {"ids": feeder_ids})
    }
    return ImportReport(
        source=bundle.source,
        format=fmt,
        crs=bundle.crs or "EPSG:4326",
        feeders=heads,
        records=kind_counts(bundle),
        rows=rows,
        derived_locations=placed.derived_nodes,
        topology=topology.as_dict(),
        feeder_counts=feeder_counts,
        warnings=bundle.warnings,
        seconds=round(time.perf_counter() - started, 3),
    )
