"""Write the meter side of a plan: meters and registers, installations, the customers'
reads through the meters domain's bulk import (COPY, set-based validation, merge), and
zone meters at every transformer and feeder head with their monthly reads."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from core.audit import declare_bulk_job
from core.bulk import copy_columns, reserve_ids, text_values
from core.periods import local_midnight
from kilowatch.demo_utility.copying import Progress, instants, ints
from kilowatch.demo_utility.network_input import NetworkInput
from kilowatch.demo_utility.plan_energy import ZONE_DIGITS, EnergyPlan
from kilowatch.demo_utility.profiles import month_starts
from meters.readings.importer import ImportReport, import_readings_from_csv
from meters.readings.partitions import ensure_reading_partitions
from meters.readings.rule_sets import active_rule_set

CSV_CHUNK = 100_000


@dataclass
class MeterIds:
    meter: np.ndarray
    register: np.ndarray
    installation: np.ndarray


@dataclass
class ZoneIds:
    transformer_meter: np.ndarray
    feeder_meter: np.ndarray


def _serials(prefixes: list[str], ids: np.ndarray, year: int) -> list[str]:
    # The meter id keeps serials unique across demo batches and real assets alike.
    return [f"{p}{year % 100:02d}{i:09d}" for p, i in zip(prefixes, ids.tolist(), strict=True)]


def _registers(session: Session, meter: np.ndarray, progress: Progress, stage: str) -> np.ndarray:
    ids = reserve_ids(session, "meter_register", len(meter))
    copy_columns(
        session,
        "meter_register",
        {
            "id": ints(ids),
            "meter_id": ints(meter),
            "code": ["total"] * len(meter),
            "unit": ["kWh"] * len(meter),
        },
        progress,
        stage,
    )
    return ids


def _index_json(values: np.ndarray) -> list[str]:
    return [
        NULL_JSON if np.isnan(v) else json.dumps({"total": f"{v:.0f}"}) for v in values.tolist()
    ]


NULL_JSON = "\\N"


def write_meters(
    session: Session,
    plan: EnergyPlan,
    usage_points: np.ndarray,
    *,
    first_month: date,
    progress: Progress,
) -> MeterIds:
    count = len(plan.meter_usage_point)
    meter = reserve_ids(session, "meter_asset", count)
    copy_columns(
        session,
        "meter_asset",
        {
            "id": ints(meter),
            "serial": _serials(plan.meter_prefix, meter, first_month.year - 1),
            "make": plan.meter_make,
            "model": plan.meter_model,
            "meter_type": plan.meter_type,
            "dial_digits": ints(plan.meter_digits),
            "multiplier": [str(int(m)) for m in plan.meter_multiplier.tolist()],
            "phases": ints(plan.meter_phases),
            "status": np.where(plan.meter_removed, "removed", "installed").tolist(),
            "stock_location": text_values(
                np.where(plan.meter_removed, "Magasin central", None).tolist()
            ),
        },
        progress,
        "meters",
    )
    register = _registers(session, meter, progress, "registers")
    installation = reserve_ids(session, "meter_installation", count)
    replaces = plan.inst_replaces
    copy_columns(
        session,
        "meter_installation",
        {
            "id": ints(installation),
            "meter_id": ints(meter),
            "usage_point_id": ints(usage_points[plan.meter_usage_point]),
            "register_set": ["main"] * count,
            "installed_at": instants(first_month, plan.inst_start),
            "start_indexes": _index_json(plan.inst_start_index),
            "removed_at": instants(first_month, plan.inst_end),
            "end_indexes": _index_json(plan.inst_end_index),
            "replaces_installation_id": text_values(
                [installation[r] if r >= 0 else None for r in replaces.tolist()]
            ),
            "removal_reason": text_values(np.where(plan.meter_removed, "faulty", None).tolist()),
        },
        progress,
        "installations",
    )
    return MeterIds(meter, register, installation)


class _ChunkStream(io.RawIOBase):
    """A read-only byte stream fed by a generator of chunks (CSV produced lazily)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buffer = b""

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:  # type: ignore[no-untyped-def]
        while not self._buffer:
            try:
                self._buffer = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(target), len(self._buffer))
        target[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return size


def _reading_csv(
    plan: EnergyPlan, serials: list[str], first_month: date, progress: Progress
) -> Iterator[bytes]:
    yield b"serial,read_at,value,source\n"
    total = len(plan.rd_value)
    for start in range(0, total, CSV_CHUNK):
        stop = min(total, start + CSV_CHUNK)
        stamps = instants(first_month, plan.rd_time[start:stop])
        values = plan.rd_value[start:stop].astype(np.int64).astype(str).tolist()
        meters = plan.rd_meter[start:stop].tolist()
        sources = plan.rd_source[start:stop].tolist()
        lines = [
            f"{serials[m]},{s},{v},{src}"
            for m, s, v, src in zip(meters, stamps, values, sources, strict=True)
        ]
        yield ("\n".join(lines) + "\n").encode()
        progress("readings: copy", stop, total)


def write_readings(
    session: Session,
    plan: EnergyPlan,
    ids: MeterIds,
    *,
    first_month: date,
    job_key: str,
    progress: Progress,
) -> ImportReport:
    """The customers' reads go through the meters domain's bulk import, so they are judged
    by the active validation rules exactly like a file from the field."""
    serials = session.execute(
        text("SELECT id, serial FROM meter_asset WHERE id = ANY(:ids)"), {"ids": ids.meter.tolist()}
    ).all()
    by_id = dict(serials)
    ordered = [by_id[i] for i in ids.meter.tolist()]
    stream = io.BufferedReader(
        _ChunkStream(_reading_csv(plan, ordered, first_month, progress)), buffer_size=1 << 20
    )
    report = import_readings_from_csv(session, stream, job_key=job_key, on_progress=None)
    declare_bulk_job(session, job_key)  # the import re-declared it; keep ours for the rest
    progress("readings: validate and merge", 1, 1)
    return report


def write_zone_meters(
    session: Session,
    plan: EnergyPlan,
    net: NetworkInput,
    *,
    first_month: date,
    job_key: str,
    progress: Progress,
) -> ZoneIds:
    """A smart meter at every transformer and feeder head, installed a day before the
    window; it reads at local midnight on the 1st of each month. Its monthly advance is the
    zone's true energy plus the technical loss (the transformer's own losses included, as
    the zone balance counts them), to the watt-hour."""
    n_tr, n_fd = len(net.tr_id), len(net.fd_id)
    meter = reserve_ids(session, "meter_asset", n_tr + n_fd)
    kinds = ["transformer"] * n_tr + ["feeder"] * n_fd
    prefixes = ["ZTR"] * n_tr + ["ZFD"] * n_fd
    copy_columns(
        session,
        "meter_asset",
        {
            "id": ints(meter),
            "serial": _serials(prefixes, meter, first_month.year - 1),
            "make": ["Landis+Gyr"] * (n_tr + n_fd),
            "model": ["E650 CT"] * n_tr + ["E850 MV"] * n_fd,
            "meter_type": ["smart"] * (n_tr + n_fd),
            "dial_digits": [str(ZONE_DIGITS[k]) for k in kinds],
            "multiplier": ["1"] * (n_tr + n_fd),
            "phases": ["3"] * (n_tr + n_fd),
            "status": ["installed"] * (n_tr + n_fd),
        },
        progress,
        "zone meters",
    )
    register = _registers(session, meter, progress, "zone registers")
    months = len(plan.bounds) - 1
    installed = instants(first_month, np.array([-1.0]))[0]
    copy_columns(
        session,
        "meter_zone_installation",
        {
            "meter_id": ints(meter),
            "transformer_id": text_values([*net.tr_id.tolist(), *([None] * n_fd)]),
            "feeder_id": text_values([*([None] * n_tr), *net.fd_id.tolist()]),
            "installed_at": [installed] * (n_tr + n_fd),
        },
        progress,
        "zone installations",
    )
    # Index (Wh) at each month boundary: start + cumulative zone energy.
    energy = np.concatenate([plan.tr_in_wh, plan.fd_in_wh])
    start = np.concatenate([plan.tr_start_index_wh, plan.fd_start_index_wh])
    index_wh = start[:, None] + np.concatenate(
        [np.zeros((len(energy), 1), dtype=np.int64), np.cumsum(energy, axis=1)], axis=1
    )
    ensure_reading_partitions(
        session, [local_midnight(d) for d in month_starts(first_month, months)]
    )
    stamps = instants(first_month, plan.bounds)
    flat = index_wh.reshape(-1)
    values = [f"{v // 1000}.{v % 1000:03d}" for v in flat.tolist()]
    rows = len(flat)
    version = active_rule_set(session).version
    copy_columns(
        session,
        "meter_reading",
        {
            "read_at": stamps * len(energy),
            "register_id": ints(np.repeat(register, months + 1)),
            "meter_id": ints(np.repeat(meter, months + 1)),
            "value": values,
            "source": ["ami"] * rows,
            "quality": ["actual"] * rows,
            "status": ["accepted"] * rows,
            "reason_codes": ["{}"] * rows,
            "rule_set_version": [str(version)] * rows,
            "import_job": [job_key] * rows,
        },
        progress,
        "zone readings",
    )
    return ZoneIds(meter[:n_tr], meter[n_tr:])
