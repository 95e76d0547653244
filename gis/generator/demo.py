"""The demo network: the real Brazilian feeder ULAS628 (when the shared datasets are
present) next to a generated town. Re-running it adds nothing twice."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.orm import Session

from core.context import SYSTEM
from core.settings import project_root
from gis.generator.service import generate_network, generated_network_exists, generated_prefix

REAL_FEEDER = "ULAS628"


class DemoSizes(Protocol):
    seed: int
    service_points: int
    datasets_dir: str | None


def datasets_folder(configured: str | None) -> Path:
    """../shared/datasets next to the checkout, unless configured (or KILOWATCH_DATASETS)."""
    if configured:
        return Path(configured)
    env = os.environ.get("KILOWATCH_DATASETS")
    return Path(env) if env else project_root().parent / "shared" / "datasets"


def _import_real_feeder(session: Session, datasets: Path) -> str:
    folder = datasets / "grid" / f"bdgd_{REAL_FEEDER}_dss"
    if not folder.is_dir():
        return f"{REAL_FEEDER} skipped (no {folder})"
    exists = session.execute(
        text("SELECT EXISTS (SELECT 1 FROM gis_feeder WHERE code = :c)"), {"c": REAL_FEEDER}
    ).scalar_one()
    if exists:
        return f"{REAL_FEEDER} already imported"
    try:
        from gis.service import import_network
    except ImportError:  # the importer is not part of this build
        return f"{REAL_FEEDER} skipped (no importer)"
    report = import_network(session, actor=SYSTEM, path=folder)
    counts = report.feeder_counts.get(REAL_FEEDER, {})
    return (
        f"{REAL_FEEDER} imported ({counts.get('transformers', 0)} transformers, "
        f"{counts.get('service_points', 0)} service points)"
    )


def build_demo_network(session: Session, options: DemoSizes) -> str:
    """Demo step: import ULAS628 if available, then generate ``options.service_points``
    connections with ``options.seed`` around the map centre."""
    outcomes = [_import_real_feeder(session, datasets_folder(options.datasets_dir))]
    prefix = generated_prefix(options.seed)
    if generated_network_exists(session, seed=options.seed):
        outcomes.append(f"generated network {prefix}* already present")
    else:
        report = generate_network(session, service_points=options.service_points, seed=options.seed)
        outcomes.append(
            f"generated {report.counts['service_points']} service points, "
            f"{report.counts['transformers']} transformers, {report.counts['feeders']} feeders "
            f"({prefix}*)"
        )
    return "; ".join(outcomes)
