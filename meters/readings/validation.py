"""Stage 2 of a reading load: resolve, find what is new, judge, merge into ``meter_reading``.

1. Registers: the (serial, register) pairs of the load resolved in one query; then the
   installations of those registers (start index, category profile, follows a meter change).
2. Stored reads: one query for every stored read of those registers within the load's time
   span (for idempotency: a row already stored under its natural key (register, read_at,
   source) is a duplicate, like the same row twice in one load), plus, per register, the
   last ``history_reads`` counted reads before its earliest new read (the history).
3. One sort of the new and stored reads into timelines per (register, installation), the
   row-level checks (future, outside any installation, more than the dials can show) and the
   timeline rules (``meters.readings.judge``), all vectorised in numpy.
4. The new rows, rejected ones included, with status, codes and the rule-set version,
   written by COPY (``meters.readings.writer``); estimates standing in the period of a new
   real read are superseded.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import text
from sqlalchemy.orm import Session

from meters.readings import writer
from meters.readings.ids import ReadingIds
from meters.readings.judge import BIT, CODES, Timeline, bits_of, judge
from meters.readings.parsing import TypedRows
from meters.readings.rule_sets import ActiveRules
from meters.readings.rules import Severity
from meters.readings.staging import drop_stage_tables
from meters.readings.transfer import copy_in, copy_out

KEYS = "kw_reading_keys"
REGISTERS = "kw_reading_registers"
NO_TIME = np.iinfo(np.int64).max


@dataclass
class MergeOutcome:
    rows: int = 0
    new: int = 0
    duplicates: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    # Reason codes counted per status: {"rejected": {"read_in_future": 2}, ...}
    codes_by_status: dict[str, dict[str, int]] = field(default_factory=dict)
    superseded_estimates: int = 0
    # Seconds spent per step, for benchmarks and slow-load diagnosis.
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class Registers:
    """Per row of the load: its register and meter; per distinct register (``index``)."""

    index: np.ndarray  # per row: position in ``register_id``
    register_id: np.ndarray  # sorted distinct register ids
    meter_id: np.ndarray  # per distinct register
    capacity: np.ndarray
    multiplier: np.ndarray


def resolve_registers(session: Session, rows: TypedRows) -> Registers | None:
    """``None`` when a serial or register is unknown (the exhaustive path names the lines)."""
    pairs = pc.binary_join_element_wise(rows.serial, rows.register, "\x1f")
    encoded = pairs.dictionary_encode()
    parts = pc.split_pattern(encoded.dictionary, "\x1f")
    keys = pa.StructArray.from_arrays(
        [pc.list_element(parts, 0), pc.list_element(parts, 1)], ["serial", "code"]
    )
    drop_stage_tables(session, KEYS)
    session.execute(
        text(f"CREATE TEMP TABLE {KEYS} (i int, serial text, code text) ON COMMIT DROP")
    )
    copy_in(
        session,
        KEYS,
        pa.table(
            {
                "i": pa.array(np.arange(len(keys), dtype=np.int32)),
                "serial": keys.field("serial"),
                "code": keys.field("code"),
            }
        ),
    )
    found = copy_out(
        session,
        f"""
        SELECT k.i, r.id AS register_id, m.id AS meter_id, m.dial_digits,
               m.multiplier::float8 AS multiplier
        FROM {KEYS} k JOIN meter_asset m ON m.serial = k.serial
        JOIN meter_register r ON r.meter_id = m.id AND r.code = k.code
    """,
        {
            "i": pa.int32(),
            "register_id": pa.int64(),
            "meter_id": pa.int64(),
            "dial_digits": pa.int32(),
            "multiplier": pa.float64(),
        },
    )
    drop_stage_tables(session, KEYS)
    if found.num_rows != len(keys):
        return None
    order = np.argsort(found["i"].to_numpy())
    register_of_key = found["register_id"].to_numpy()[order]
    register_id, key_to_index = np.unique(register_of_key, return_inverse=True)
    first_key = np.zeros(len(register_id), dtype=np.int64)
    first_key[key_to_index] = np.arange(len(register_of_key))
    meter = found["meter_id"].to_numpy()[order][first_key]
    digits = found["dial_digits"].to_numpy()[order][first_key]
    return Registers(
        index=key_to_index[encoded.indices.to_numpy(zero_copy_only=False)],
        register_id=register_id,
        meter_id=meter,
        capacity=np.power(10.0, digits.astype(np.float64)),
        multiplier=found["multiplier"].to_numpy()[order][first_key],
    )


_INSTALLATIONS_SQL = f"""
SELECT k.register_id, i.id AS installation_id, i.usage_point_id,
       (extract(epoch FROM i.installed_at) * 1000000)::int8 AS installed_at,
       (extract(epoch FROM i.removed_at) * 1000000)::int8 AS removed_at,
       (i.start_indexes ->> r.code)::float8 AS start_index, cp.kwh_day::float8 AS kwh_day,
       EXISTS (SELECT 1 FROM meter_installation j
               WHERE j.usage_point_id = i.usage_point_id AND j.register_set = i.register_set
                 AND j.installed_at < i.installed_at) AS follows_change
FROM {REGISTERS} k
JOIN meter_register r ON r.id = k.register_id
JOIN meter_installation i ON i.meter_id = r.meter_id
JOIN customer_usage_point up ON up.id = i.usage_point_id
LEFT JOIN jsonb_each_text(%(profile)s::jsonb) AS cp(category, kwh_day) ON cp.category = up.category
ORDER BY k.register_id, i.installed_at
"""

# Every stored read of the load's registers within its span (duplicates and timelines), and
# the counted reads just before each register's first new read (the history).
_STORED_SQL = f"""
SELECT e.register_id, coalesce(e.installation_id, -1) AS installation_id,
       (extract(epoch FROM e.read_at) * 1000000)::int8 AS read_at, e.source,
       e.value::float8 AS value,
       (e.status IN ('accepted', 'flagged') AND e.source <> 'estimated') AS counted
FROM meter_reading e JOIN {REGISTERS} k ON k.register_id = e.register_id
WHERE e.read_at >= %(lo)s AND e.read_at <= %(hi)s
UNION ALL
SELECT h.* FROM {REGISTERS} k CROSS JOIN LATERAL (
  SELECT e.register_id, coalesce(e.installation_id, -1),
         (extract(epoch FROM e.read_at) * 1000000)::int8, e.source, e.value::float8, true
  FROM meter_reading e
  WHERE e.register_id = k.register_id AND e.read_at < k.first_at AND e.read_at < %(lo)s
    AND e.read_at >= k.history_from AND e.status IN ('accepted', 'flagged')
    AND e.source <> 'estimated'
  ORDER BY e.read_at DESC LIMIT %(history)s) AS h
"""
_STORED_SCHEMA = {
    "register_id": pa.int64(),
    "installation_id": pa.int64(),
    "read_at": pa.int64(),
    "source": pa.string(),
    "value": pa.float64(),
    "counted": pa.bool_(),
}


def _to_ts(us: int) -> str:
    return str(np.datetime64(int(us), "us")) + "Z"


@dataclass
class _Step:
    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def __call__(self, step: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[step] = round(time.perf_counter() - started, 3)


def validate_and_merge(
    session: Session,
    *,
    rules: ActiveRules,
    rows: TypedRows,
    registers: Registers,
    job_key: str | None,
) -> MergeOutcome:
    """Judge ``rows`` and merge the new ones into ``meter_reading``."""
    from meters.readings.parsing import SOURCES

    p = rules.parameters
    step = _Step()
    n = len(rows)
    reg = registers.index
    t = rows.read_at_us
    with step("installations"):
        first_at = np.full(len(registers.register_id), NO_TIME, dtype=np.int64)
        np.minimum.at(first_at, reg, t)
        drop_stage_tables(session, REGISTERS)
        session.execute(
            text(
                f"CREATE TEMP TABLE {REGISTERS} (register_id bigint, "
                "first_at timestamptz, history_from timestamptz) ON COMMIT DROP"
            )
        )
        copy_in(
            session,
            REGISTERS,
            pa.table(
                {
                    "register_id": registers.register_id,
                    "first_at": pa.array(first_at, pa.timestamp("us", tz="UTC")),
                    "history_from": pa.array(first_at, pa.timestamp("us", tz="UTC")),
                }
            ),
        )
        inst = copy_out(
            session,
            _INSTALLATIONS_SQL,
            {
                "register_id": pa.int64(),
                "installation_id": pa.int64(),
                "usage_point_id": pa.int64(),
                "installed_at": pa.int64(),
                "removed_at": pa.int64(),
                "start_index": pa.float64(),
                "kwh_day": pa.float64(),
                "follows_change": pa.bool_(),
            },
            {"profile": json.dumps(p.category_kwh_per_day)},
        )
        inst_reg = np.searchsorted(registers.register_id, inst["register_id"].to_numpy())
        inst_at = inst["installed_at"].to_numpy()
        inst_removed = inst["removed_at"].fill_null(NO_TIME).to_numpy()
        inst_id = inst["installation_id"].to_numpy()
        row_inst = _installation_of(reg, t, inst_reg, inst_at, inst_removed)
        # History can only come from the installation in force at the first new read.
        at_first = _installation_of(
            np.arange(len(first_at)), first_at, inst_reg, inst_at, inst_removed
        )
        history_from = np.where(at_first >= 0, inst_at[np.maximum(at_first, 0)], first_at)
        session.execute(text(f"TRUNCATE {REGISTERS}"))
        copy_in(
            session,
            REGISTERS,
            pa.table(
                {
                    "register_id": registers.register_id,
                    "first_at": pa.array(first_at, pa.timestamp("us", tz="UTC")),
                    "history_from": pa.array(history_from, pa.timestamp("us", tz="UTC")),
                }
            ),
        )
        session.execute(text(f"ANALYZE {REGISTERS}"))
    with step("stored_reads"):
        stored = (
            copy_out(
                session,
                _STORED_SQL,
                _STORED_SCHEMA,
                {"lo": _to_ts(t.min()), "hi": _to_ts(t.max()), "history": p.history_reads},
            )
            if n
            else None
        )
        drop_stage_tables(session, REGISTERS)
    with step("duplicates"):
        s_reg = (
            np.searchsorted(registers.register_id, stored["register_id"].to_numpy())
            if stored is not None
            else np.zeros(0, dtype=np.int64)
        )
        s_t = stored["read_at"].to_numpy() if stored is not None else np.zeros(0, np.int64)
        s_src = (
            pc.index_in(stored["source"], pa.array(SOURCES))
            .to_numpy(zero_copy_only=False)
            .astype(np.int8)
            if stored is not None
            else np.zeros(0, np.int8)
        )
        s_counted = (
            stored["counted"].to_numpy(zero_copy_only=False)
            if stored is not None
            else np.zeros(0, bool)
        )
        s_inst_id = (
            stored["installation_id"].to_numpy() if stored is not None else np.zeros(0, np.int64)
        )
        s_value = stored["value"].to_numpy() if stored is not None else np.zeros(0)
        # One order for everything: register, instant, stored before new, source, line.
        all_t = np.concatenate([s_t, t])
        stamps, t_rank = np.unique(all_t, return_inverse=True)
        instant = reg_key = np.concatenate([s_reg, reg]).astype(np.int64) * len(stamps) + t_rank
        src = np.concatenate([s_src, rows.source]).astype(np.int64)
        is_new = np.concatenate([np.zeros(len(s_t), bool), np.ones(n, bool)])
        order = np.argsort((instant * 2 + is_new) * 4 + src, kind="stable")
        natural = (reg_key * 4 + src)[order]
        repeated = np.zeros(len(order), dtype=bool)
        repeated[1:] = natural[1:] == natural[:-1]
        dup_sorted = repeated & is_new[order]
        fresh = np.ones(n, dtype=bool)
        fresh[order[dup_sorted] - len(s_t)] = False
    # Ids for the rows to write, drawn by another backend while this process judges.
    ids = ReadingIds(session, int(fresh.sum())) if job_key is not None and fresh.any() else None
    with step("judge"):
        outcome = _judge_rows(
            rows,
            registers,
            p,
            fresh=fresh,
            row_inst=row_inst,
            inst=inst,
            inst_reg=inst_reg,
            stored=(s_reg, s_t, s_src, s_counted, s_inst_id, s_value),
            order=order,
            inst_id=inst_id,
        )
    codes, base_at, keep = outcome
    status = _status(codes, p)
    with step("insert"):
        new = writer.write_readings(
            session,
            rows,
            registers,
            keep=keep,
            codes=codes,
            status=status,
            row_inst=row_inst,
            inst=inst,
            version=rules.version,
            job_key=job_key,
            ids=ids,
        )
    with step("supersede"):
        superseded = writer.supersede_estimates(
            session, registers, keep=keep, t=t, sources=rows.source, base_at=base_at, status=status
        )
    by_status, by_code = _tally(codes[keep], status[keep])
    return MergeOutcome(
        rows=n,
        new=new,
        duplicates=n - new,
        by_status=by_status,
        codes_by_status=by_code,
        superseded_estimates=superseded,
        timings=step.seconds,
    )


def _installation_of(
    reg: np.ndarray,
    t: np.ndarray,
    inst_reg: np.ndarray,
    inst_at: np.ndarray,
    inst_removed: np.ndarray,
) -> np.ndarray:
    """Index of the installation of ``reg`` in force at ``t`` (installations sorted by
    register then installed_at, never overlapping), -1 where none."""
    if not len(inst_reg):
        return np.full(len(reg), -1, dtype=np.int64)
    # Latest installation of the register installed at or before t: order by (register, time).
    events = np.concatenate([inst_at, t])
    stamps, rank = np.unique(events, return_inverse=True)
    width = len(stamps)
    inst_key = inst_reg.astype(np.int64) * width + rank[: len(inst_at)]
    row_key = reg.astype(np.int64) * width + rank[len(inst_at) :]
    candidate = np.searchsorted(inst_key, row_key, side="right") - 1
    safe = np.maximum(candidate, 0)
    found = (candidate >= 0) & (inst_reg[safe] == reg) & (t < inst_removed[safe])
    return np.where(found, candidate, -1)


def _judge_rows(rows, registers, p, *, fresh, row_inst, inst, inst_reg, stored, order, inst_id):  # type: ignore[no-untyped-def]
    """Row-level checks, then the timeline rules; returns (codes, base_at, keep)."""
    n = len(rows)
    reg, t = registers.index, rows.read_at_us
    s_reg, s_t, s_src, s_counted, s_inst_id, s_value = stored
    n_stored = len(s_t)
    capacity, _multiplier = registers.capacity[reg], registers.multiplier[reg]
    pre = np.zeros(n, dtype=np.int32)
    now_us = int(time.time() * 1e6) + p.future_tolerance_minutes * 60_000_000
    pre |= np.where(t > now_us, BIT[CODES[0]], 0).astype(np.int32)
    removed_by_reg = np.full(len(registers.register_id), np.iinfo(np.int64).max, np.int64)
    inst_removed = inst["removed_at"].fill_null(NO_TIME).to_numpy()
    np.minimum.at(removed_by_reg, inst_reg, inst_removed)
    outside = row_inst < 0
    after_removal = outside & (removed_by_reg[reg] <= t)
    pre |= np.where(after_removal, BIT[CODES[2]], 0).astype(np.int32)
    pre |= np.where(outside & ~after_removal, BIT[CODES[1]], 0).astype(np.int32)
    pre |= np.where(rows.value >= capacity, BIT[CODES[3]], 0).astype(np.int32)
    reject = bits_of(p.codes_with(Severity.REJECT))
    in_timeline = fresh & ~outside & ((pre & reject) == 0)
    # Stored counted reads join the timeline of their own (register, installation).
    s_inst = _pair_index(inst_reg, inst["installation_id"].to_numpy(), s_reg, s_inst_id)
    s_known = s_inst >= 0
    member = np.concatenate([s_counted & s_known, in_timeline])[order]
    chosen = order[member]  # positions in the concatenation (stored first, then new)
    # Only timelines with a new read need judging (a re-import has none).
    pair = np.concatenate([s_inst, row_inst])[chosen]
    with_new = np.zeros(len(inst_id) + 1, dtype=bool)  # by installation row: O(n), no sort
    with_new[pair[chosen >= n_stored]] = True
    chosen = chosen[with_new[pair]]
    from_new = chosen >= n_stored
    new_pos = chosen - n_stored
    tl_inst = np.concatenate([s_inst, row_inst])[chosen]
    tl_reg = np.concatenate([s_reg, reg]).astype(np.int64)[chosen]
    timeline = Timeline(
        segment=tl_inst.astype(np.int64),
        read_at=np.concatenate([s_t, t])[chosen],
        value=np.concatenate([s_value, rows.value])[chosen],
        source=np.concatenate([s_src, rows.source])[chosen],
        is_new=from_new,
        capacity=registers.capacity[tl_reg],
        multiplier=registers.multiplier[tl_reg],
        start_index=inst["start_index"].fill_null(np.nan).to_numpy()[tl_inst],
        installed_at=inst["installed_at"].to_numpy()[tl_inst],
        kwh_day=inst["kwh_day"].fill_null(np.nan).to_numpy()[tl_inst],
        follows_change=inst["follows_change"].to_numpy(zero_copy_only=False)[tl_inst],
        pre_codes=np.concatenate([np.zeros(n_stored, np.int32), pre])[chosen],
    )
    judged, base = judge(timeline, p)
    codes = pre.copy()
    base_at = np.full(n, NO_TIME, dtype=np.int64)
    codes[new_pos[from_new]] = judged[from_new]
    base_at[new_pos[from_new]] = base[from_new]
    return codes, base_at, fresh


def _pair_index(
    inst_reg: np.ndarray, inst_id: np.ndarray, reg: np.ndarray, installation_id: np.ndarray
) -> np.ndarray:
    """Row of the installations table for each (register index, installation id), -1 if none."""
    if not len(inst_id) or not len(reg):
        return np.full(len(reg), -1, dtype=np.int64)
    ids, id_rank = np.unique(inst_id, return_inverse=True)
    keys = inst_reg.astype(np.int64) * len(ids) + id_rank
    by_key = np.argsort(keys)
    rank = np.minimum(np.searchsorted(ids, installation_id), len(ids) - 1)
    wanted = reg.astype(np.int64) * len(ids) + rank
    at = np.minimum(np.searchsorted(keys[by_key], wanted), len(keys) - 1)
    found = (ids[rank] == installation_id) & (keys[by_key][at] == wanted)
    return np.where(found, by_key[at], -1)


def _status(codes: np.ndarray, p) -> np.ndarray:  # type: ignore[no-untyped-def]
    """0 accepted, 1 flagged, 2 rejected: the worst severity among the codes decides."""
    reject = bits_of(p.codes_with(Severity.REJECT))
    flag = bits_of(p.codes_with(Severity.FLAG))
    return np.where((codes & reject) != 0, 2, np.where((codes & flag) != 0, 1, 0)).astype(np.int8)


STATUSES = ("accepted", "flagged", "rejected")


def _tally(
    codes: np.ndarray, status: np.ndarray
) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    by_status = {
        STATUSES[s]: int(c) for s, c in zip(*np.unique(status, return_counts=True), strict=True)
    }
    by_code: dict[str, dict[str, int]] = {}
    for s in sorted(set(status.tolist()), key=lambda s: STATUSES[s]):
        mine = codes[status == s]
        for bit, code in enumerate(CODES):
            count = int(np.count_nonzero(mine & (1 << bit)))
            if count:
                by_code.setdefault(STATUSES[s], {})[code.value] = count
    return by_status, {k: dict(sorted(v.items())) for k, v in by_code.items()}
