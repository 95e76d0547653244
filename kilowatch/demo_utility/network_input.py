"""The generated network as the demo builder needs it: service points with their
electrical address, transformers with their rating and LV length, feeders with their MV
length (numpy columns). Lengths and voltages are read through the fraud balance's own
queries, so the demo's technical losses and the balance's expectation rest on the same
network."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from fraud import repository as fraud_network

CATEGORY_CODES = {"residential": 0, "commercial": 1, "industrial": 2}


@dataclass
class NetworkInput:
    """Service points (sp_*), transformers (tr_*) and feeders (fd_*) of one generated
    network. ``sp_transformer`` / ``sp_feeder`` are positions in tr_* / fd_* (-1: none)."""

    sp_id: np.ndarray
    sp_lon: np.ndarray
    sp_lat: np.ndarray
    sp_category: np.ndarray  # 0 residential, 1 commercial, 2 industrial (generator's view)
    sp_demand_kva: np.ndarray
    sp_transformer: np.ndarray
    sp_feeder: np.ndarray
    tr_id: np.ndarray
    tr_kva: np.ndarray
    tr_feeder: np.ndarray
    tr_lv_km: np.ndarray  # LV conductor length of the transformer's zone
    tr_lv_kv: np.ndarray  # secondary voltage, NaN when not stated
    fd_id: np.ndarray
    fd_mv_km: np.ndarray  # MV conductor length of the feeder
    fd_kv: np.ndarray  # nominal voltage, NaN when not stated
    centre: tuple[float, float]

    @property
    def service_points(self) -> int:
        return len(self.sp_id)


def _positions(ids: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Position of each id in ``known`` (sorted), -1 for NULL or unknown."""
    if len(known) == 0:
        return np.full(len(ids), -1, dtype=np.int64)
    pos = np.clip(np.searchsorted(known, ids), 0, len(known) - 1)
    return np.where((ids >= 0) & (known[pos] == ids), pos, -1)


def _kv(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def load_network(session: Session, prefix: str) -> NetworkInput:
    """Read the network whose codes start with ``prefix`` (EPSG:4326 coordinates)."""
    like = {"p": prefix.replace("_", r"\_") + "%"}
    fd = session.execute(
        text("SELECT id FROM gis_feeder WHERE code LIKE :p ORDER BY id"), like
    ).all()
    tr = session.execute(
        text(
            "SELECT id, rated_kva, coalesce(feeder_id, -1) FROM gis_power_transformer "
            "WHERE code LIKE :p ORDER BY id"
        ),
        like,
    ).all()
    sp = session.execute(
        text(
            "SELECT id, ST_X(geom), ST_Y(geom), coalesce(attributes->>'category', "
            "'residential'), coalesce((attributes->>'demand_kva')::float, 2.0), "
            "coalesce(transformer_id, -1), coalesce(feeder_id, -1) "
            "FROM gis_service_point WHERE code LIKE :p ORDER BY id"
        ),
        like,
    ).all()
    fd_id = np.array([r[0] for r in fd], dtype=np.int64)
    tr_id = np.array([r[0] for r in tr], dtype=np.int64)
    tr_rows = {t.id: t for t in fraud_network.transformers(session)}
    fd_rows = {f.id: f for f in fraud_network.feeders(session)}
    sp_cols = list(zip(*sp, strict=True)) if sp else [[]] * 7
    lon = np.asarray(sp_cols[1], dtype=float)
    lat = np.asarray(sp_cols[2], dtype=float)
    return NetworkInput(
        sp_id=np.asarray(sp_cols[0], dtype=np.int64),
        sp_lon=lon,
        sp_lat=lat,
        sp_category=np.array([CATEGORY_CODES.get(c, 0) for c in sp_cols[3]], dtype=np.int64),
        sp_demand_kva=np.asarray(sp_cols[4], dtype=float),
        sp_transformer=_positions(np.asarray(sp_cols[5], dtype=np.int64), tr_id),
        sp_feeder=_positions(np.asarray(sp_cols[6], dtype=np.int64), fd_id),
        tr_id=tr_id,
        tr_kva=np.array([r[1] for r in tr], dtype=float),
        tr_feeder=_positions(np.array([r[2] for r in tr], dtype=np.int64), fd_id),
        tr_lv_km=np.array([tr_rows[i].lv_km for i in tr_id.tolist()], dtype=float),
        tr_lv_kv=np.array([_kv(tr_rows[i].secondary_kv) for i in tr_id.tolist()]),
        fd_id=fd_id,
        fd_mv_km=np.array([fd_rows[i].mv_km for i in fd_id.tolist()], dtype=float),
        fd_kv=np.array([_kv(fd_rows[i].nominal_kv) for i in fd_id.tolist()]),
        centre=(float(np.median(lon)), float(np.median(lat))) if len(lon) else (0.0, 0.0),
    )
