"""Generate a synthetic radial network into the database, or remove one.

Layout in the deployment's projected CRS (metres), stored in EPSG:4326. Everything is
written with COPY in the caller's transaction as one audited bulk job; the caller commits.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from pyproj import CRS, Transformer
from sqlalchemy import text
from sqlalchemy.orm import Session

from core.audit import declare_bulk_job
from core.errors import FieldError
from core.settings import get_settings
from gis.generator.errors import GeneratorInputInvalidError, NetworkAlreadyGeneratedError
from gis.generator.plan import Progress, plan_network
from gis.generator.writer import TABLES, write_plan

MAX_SERVICE_POINTS = 5_000_000


def _quiet(_stage: str, _done: int, _total: int) -> None:
    return None


@dataclass
class GenerationReport:
    """What was generated: code prefix, row counts per table, CRS, and timings (s)."""

    prefix: str
    seed: int
    centre: tuple[float, float]
    projected_crs: str
    counts: dict[str, int]
    rated_kva: dict[str, int]
    seconds: dict[str, float] = field(default_factory=dict)


def generated_prefix(seed: int) -> str:
    """Codes of generated assets start with this: they never collide with imported ones."""
    return f"GEN-{seed}-"


def metric_crs_for(lon: float, lat: float) -> str:
    """The deployment's projected CRS when its area of use holds the point, else the UTM
    zone of the point (a network generated far away still gets true metres)."""
    configured = get_settings().projected_crs
    area = CRS.from_user_input(configured).area_of_use
    if area and area.west <= lon <= area.east and area.south <= lat <= area.north:
        return configured
    zone = int((lon + 180) // 6) + 1
    return f"EPSG:{32600 + zone if lat >= 0 else 32700 + zone}"


def generated_network_exists(session: Session, *, seed: int) -> bool:
    prefix = generated_prefix(seed)
    return bool(
        session.execute(
            text("SELECT EXISTS (SELECT 1 FROM gis_feeder WHERE code LIKE :p)"),
            {"p": prefix.replace("_", r"\_") + "%"},
        ).scalar_one()
    )


def _validate(
    service_points: int, seed: int, centre: tuple[float, float], transformers: int | None
) -> None:
    errors = []
    if not 1 <= service_points <= MAX_SERVICE_POINTS:
        errors.append(FieldError("service_points", f"must be between 1 and {MAX_SERVICE_POINTS}"))
    if seed < 0:
        errors.append(FieldError("seed", "must be zero or positive"))
    lon, lat = centre
    if not (-180 <= lon <= 180 and -80 <= lat <= 84):
        errors.append(FieldError("centre", "must be lon in [-180, 180], lat in [-80, 84]"))
    if transformers is not None and not 1 <= transformers <= service_points:
        errors.append(FieldError("transformers", "must be between 1 and the service points"))
    if errors:
        raise GeneratorInputInvalidError("the generator's parameters are invalid", errors=errors)


def generate_network(
    session: Session,
    *,
    service_points: int,
    seed: int,
    centre: tuple[float, float] | None = None,
    transformers: int | None = None,
    progress: Progress | None = None,
) -> GenerationReport:
    """Generate a radial network of ``service_points`` connections around ``centre``
    (lon, lat in EPSG:4326; default: the map centre setting). The same seed gives the same
    codes and geometry. Flushes nothing through the ORM: rows go in with COPY."""
    settings = get_settings()
    lon, lat = centre or (settings.map_centre_lon, settings.map_centre_lat)
    _validate(service_points, seed, (lon, lat), transformers)
    progress = progress or _quiet
    prefix = generated_prefix(seed)
    if generated_network_exists(session, seed=seed):
        raise NetworkAlreadyGeneratedError(
            f"a generated network with prefix {prefix} exists; use another seed or replace it"
        )
    declare_bulk_job(session, f"network.generate:{prefix}")
    crs = metric_crs_for(lon, lat)
    centre_xy = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(lon, lat)
    started = time.perf_counter()
    plan = plan_network(
        service_points=service_points,
        seed=seed,
        centre_xy=centre_xy,
        transformers=transformers,
        progress=progress,
    )
    designed = time.perf_counter()
    write_plan(
        session,
        plan,
        prefix=prefix,
        projected_crs=crs,
        attributes={"generated": True, "seed": seed},
        progress=progress,
    )
    written = time.perf_counter()
    for table in TABLES:  # fresh statistics: the planner must know the tables just grew
        session.execute(text(f"ANALYZE {table}"))
    kva, count = np.unique(plan.rated_kva, return_counts=True)
    return GenerationReport(
        prefix=prefix,
        seed=seed,
        centre=(lon, lat),
        projected_crs=crs,
        counts=plan.counts,
        rated_kva={f"{k:g}": int(c) for k, c in zip(kva, count, strict=True)},
        seconds={
            "design": round(designed - started, 2),
            "write": round(written - designed, 2),
            "analyze": round(time.perf_counter() - written, 2),
        },
    )


def delete_generated_network(session: Session, *, seed: int) -> dict[str, int]:
    """Remove every asset of the generated network with ``seed`` (one audited bulk job).
    Returns rows deleted per table."""
    prefix = generated_prefix(seed)
    declare_bulk_job(session, f"network.delete:{prefix}")
    like = {"p": prefix.replace("_", r"\_") + "%"}
    session.execute(text("UPDATE gis_feeder SET head_node_id = NULL WHERE code LIKE :p"), like)
    deleted = {}
    for table in reversed(TABLES):
        result = session.execute(text(f"DELETE FROM {table} WHERE code LIKE :p"), like)
        deleted[table] = int(result.rowcount or 0)  # type: ignore[attr-defined]
    return deleted
