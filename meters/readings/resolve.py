"""Stage 2 of a reading load: resolve the parsed rows against the database
(parse -> resolve -> judge -> write).

1. Registers: the (serial, register) pairs of the load in one query; a pair that names no
   meter or no register refuses the load, naming its lines.
2. Readers and territory: a ``reader_id`` must be a user; a read whose usage point (the one
   its meter serves at that instant, else the meter's nearest installation) lies outside
   the importing user's territory refuses the load too. Nothing outside is ever written.
3. Installations of those registers (start index, category profile, after a meter change).
4. Stored reads: every stored read of those registers within the load's span (a row stored
   under its natural key (register, read_at, source) is a duplicate, as is the same row
   twice in one load) and, per register, the last ``history_reads`` counted reads before
   its earliest new read (the history). One sort orders stored and new reads into
   timelines for the judge.

Small loads (a handheld's batch, a single read: at most ``SMALL_LOAD_ROWS`` rows) send
their keys as array parameters of the one query that reads them (``unnest``); bigger ones
stage them in temporary tables that ANALYZE gives statistics. The SQL over the keys is the
same text either way, so both answer the same; the small way saves the DDL, COPY and
ANALYZE round trips that dominate a 50-read push (about 15 of them).
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import BigInteger, any_, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from core.bulk import copy_arrow, copy_out_arrow, drop_tables
from core.context import Actor
from core.territory import scope_of, visible
from customers.models import UsagePoint
from meters.readings import errors as e
from meters.readings.bad_lines import MESSAGES, BadLine, raise_bad_lines
from meters.readings.batches import (
    NO_TIME,
    Installations,
    ParsedBatch,
    Registers,
    ResolvedBatch,
    StoredReads,
    is_small,
)
from meters.readings.codes import SOURCES, pack
from meters.readings.rules import RuleParameters

KEYS = "kw_reading_keys"
REGISTERS = "kw_reading_registers"
# The small way's stand-ins for the temp tables (same columns, same types).
_KEYS_ARRAYS = (
    "(SELECT (u.n - 1)::int AS i, u.serial, u.code FROM unnest("
    "%(serials)s::text[], %(codes)s::text[]) WITH ORDINALITY AS u(serial, code, n))"
)
_REGISTERS_ARRAYS = (
    "(SELECT * FROM unnest(%(register_ids)s::int8[], %(first_at)s::timestamptz[], "
    "%(history_from)s::timestamptz[]) AS u(register_id, first_at, history_from))"
)
_TS = pa.timestamp("us", tz="UTC")


def resolve(
    session: Session, rows: ParsedBatch, *, rules: RuleParameters, actor: Actor | None
) -> ResolvedBatch:
    """The rows resolved, checked against readers and territory, with the stored reads
    they meet; or the load refused naming its bad lines."""
    registers = _registers(session, rows)
    first_at = np.full(len(registers.register_id), NO_TIME, dtype=np.int64)
    np.minimum.at(first_at, registers.index, rows.read_at_us)
    installations = _installations(session, registers, first_at, rules, small=is_small(len(rows)))
    row_installation = _installation_of(
        registers.index, rows.read_at_us, installations.register, installations
    )
    bad = _unknown_readers(session, rows) + _outside_territory(
        session, actor, rows, registers, installations, row_installation
    )
    if bad:
        bad.sort(key=lambda b: b.line)
        raise_bad_lines(bad, len(bad))
    stored = _stored_reads(session, rows, registers, installations, first_at, rules)
    fresh, order = _new_rows(rows, registers, stored)
    return ResolvedBatch(rows, registers, installations, row_installation, stored, fresh, order)


def _registers(session: Session, rows: ParsedBatch) -> Registers:
    pairs = pc.binary_join_element_wise(rows.serial, rows.register, "\x1f")
    encoded = pairs.dictionary_encode()
    parts = pc.split_pattern(encoded.dictionary, "\x1f")
    serials, codes = pc.list_element(parts, 0), pc.list_element(parts, 1)
    small = is_small(len(rows))
    params: dict[str, object] = {}
    if small:
        keys = _KEYS_ARRAYS
        params = {"serials": serials.to_pylist(), "codes": codes.to_pylist()}
    else:
        keys = KEYS
        drop_tables(session, KEYS)
        session.execute(
            text(f"CREATE TEMP TABLE {KEYS} (i int, serial text, code text) ON COMMIT DROP")
        )
        index = pa.array(np.arange(len(serials), dtype=np.int32))
        copy_arrow(session, KEYS, pa.table({"i": index, "serial": serials, "code": codes}))
    found = copy_out_arrow(
        session,
        f"""
        SELECT k.i, r.id AS register_id, m.id AS meter_id, m.dial_digits,
               m.multiplier::float8 AS multiplier
        FROM {keys} k LEFT JOIN meter_asset m ON m.serial = k.serial
        LEFT JOIN meter_register r ON r.meter_id = m.id AND r.code = k.code
        ORDER BY k.i
    """,
        {
            "i": pa.int32(),
            "register_id": pa.int64(),
            "meter_id": pa.int64(),
            "dial_digits": pa.int32(),
            "multiplier": pa.float64(),
        },
        params,
    )
    if not small:
        drop_tables(session, KEYS)
    key_of_row = encoded.indices.to_numpy(zero_copy_only=False)
    if found["register_id"].null_count:
        _refuse_unknown_keys(rows, key_of_row, found)
    register_of_key = found["register_id"].to_numpy()
    register_id, key_to_index = np.unique(register_of_key, return_inverse=True)
    first_key = np.zeros(len(register_id), dtype=np.int64)
    first_key[key_to_index] = np.arange(len(register_of_key))
    digits = found["dial_digits"].to_numpy()[first_key]
    return Registers(
        index=key_to_index[key_of_row],
        register_id=register_id,
        meter_id=found["meter_id"].to_numpy()[first_key],
        capacity=np.power(10.0, digits.astype(np.float64)),
        multiplier=found["multiplier"].to_numpy()[first_key],
    )


def _refuse_unknown_keys(rows: ParsedBatch, key_of_row: np.ndarray, found: pa.Table) -> None:
    no_meter = found["meter_id"].is_null().to_numpy(zero_copy_only=False)
    no_register = found["register_id"].is_null().to_numpy(zero_copy_only=False)
    bad = []
    for row in np.flatnonzero(no_register[key_of_row]).tolist():
        code = e.UNKNOWN_SERIAL if no_meter[key_of_row[row]] else e.UNKNOWN_REGISTER
        serial, register = rows.serial[row].as_py(), rows.register[row].as_py()
        message = MESSAGES[code].format(serial=serial, register=register)
        bad.append(BadLine(int(rows.line_no[row]), code, message))
    raise_bad_lines(bad, len(bad))


_INSTALLATIONS_SQL = """
SELECT k.register_id, i.id AS installation_id, i.usage_point_id,
       (extract(epoch FROM i.installed_at) * 1000000)::int8 AS installed_at,
       (extract(epoch FROM i.removed_at) * 1000000)::int8 AS removed_at,
       (i.start_indexes ->> r.code)::float8 AS start_index, cp.kwh_day::float8 AS kwh_day,
       EXISTS (SELECT 1 FROM meter_installation j
               WHERE j.usage_point_id = i.usage_point_id AND j.register_set = i.register_set
                 AND j.installed_at < i.installed_at) AS follows_change
FROM {registers} k
JOIN meter_register r ON r.id = k.register_id
JOIN meter_installation i ON i.meter_id = r.meter_id
JOIN customer_usage_point up ON up.id = i.usage_point_id
LEFT JOIN jsonb_each_text(%(profile)s::jsonb) AS cp(category, kwh_day) ON cp.category = up.category
ORDER BY k.register_id, i.installed_at
"""


def _stage_registers(
    session: Session,
    registers: Registers,
    first_at: np.ndarray,
    history_from: np.ndarray,
    *,
    small: bool,
) -> tuple[str, dict[str, object]]:
    """The load's registers with their first new read and history start, as a FROM item
    (temp table, or arrays for a small load) and its parameters."""
    if small:
        return _REGISTERS_ARRAYS, {
            "register_ids": registers.register_id.tolist(),
            "first_at": [_to_ts(t) for t in first_at.tolist()],
            "history_from": [_to_ts(t) for t in history_from.tolist()],
        }
    drop_tables(session, REGISTERS)
    session.execute(
        text(
            f"CREATE TEMP TABLE {REGISTERS} (register_id bigint, "
            "first_at timestamptz, history_from timestamptz) ON COMMIT DROP"
        )
    )
    copy_arrow(
        session,
        REGISTERS,
        pa.table(
            {
                "register_id": registers.register_id,
                "first_at": pa.array(first_at, _TS),
                "history_from": pa.array(history_from, _TS),
            }
        ),
    )
    session.execute(text(f"ANALYZE {REGISTERS}"))
    return REGISTERS, {}


def _installations(
    session: Session,
    registers: Registers,
    first_at: np.ndarray,
    rules: RuleParameters,
    *,
    small: bool,
) -> Installations:
    staged, params = _stage_registers(session, registers, first_at, first_at, small=small)
    found = copy_out_arrow(
        session,
        _INSTALLATIONS_SQL.format(registers=staged),
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
        {**params, "profile": json.dumps(rules.category_kwh_per_day)},
    )
    return Installations(
        register=np.searchsorted(registers.register_id, found["register_id"].to_numpy()),
        id=found["installation_id"].to_numpy(),
        usage_point_id=found["usage_point_id"].to_numpy(),
        installed_at=found["installed_at"].to_numpy(),
        removed_at=found["removed_at"].fill_null(NO_TIME).to_numpy(),
        start_index=found["start_index"].fill_null(np.nan).to_numpy(),
        kwh_day=found["kwh_day"].fill_null(np.nan).to_numpy(),
        follows_change=found["follows_change"].to_numpy(zero_copy_only=False),
    )


def _installation_of(
    reg: np.ndarray, t: np.ndarray, inst_reg: np.ndarray, inst: Installations
) -> np.ndarray:
    """Position of the installation of ``reg`` in force at ``t`` (installations sorted by
    register then installed_at, never overlapping), -1 where none."""
    if not len(inst_reg):
        return np.full(len(reg), -1, dtype=np.int64)
    # Latest installation of the register installed at or before t: order by (register, time).
    stamps, rank = np.unique(np.concatenate([inst.installed_at, t]), return_inverse=True)
    inst_key = pack([inst_reg, rank[: len(inst_reg)]], [len(stamps)])
    row_key = pack([reg, rank[len(inst_reg) :]], [len(stamps)])
    candidate = np.searchsorted(inst_key, row_key, side="right") - 1
    safe = np.maximum(candidate, 0)
    found = (candidate >= 0) & (inst_reg[safe] == reg) & (t < inst.removed_at[safe])
    return np.where(found, candidate, -1)


def _unknown_readers(session: Session, rows: ParsedBatch) -> list[BadLine]:
    """Lines whose ``reader_id`` names no user."""
    given = pc.unique(rows.reader_id.drop_null())
    if not len(given):
        return []
    ids = [int(v) for v in given.to_pylist()]
    known = set(
        session.scalars(text("SELECT id FROM core_user WHERE id = ANY(:ids)"), {"ids": ids}).all()
    )
    unknown = pa.array(sorted(set(ids) - known), pa.int64()).cast(pa.string())
    if not len(unknown):
        return []
    hit = pc.is_in(rows.reader_id, unknown).fill_null(False).to_numpy(zero_copy_only=False)
    return [
        BadLine(int(rows.line_no[i]), e.UNKNOWN_READER, f"reader_id {rows.reader_id[i]} is no user")
        for i in np.flatnonzero(hit).tolist()
    ]


def _outside_territory(
    session: Session,
    actor: Actor | None,
    rows: ParsedBatch,
    registers: Registers,
    inst: Installations,
    row_installation: np.ndarray,
) -> list[BadLine]:
    """Lines whose usage point the importing user may not see. A read outside any
    installation is placed by its meter's latest installation; a meter never installed
    is in no territory."""
    if actor is None or scope_of(actor) is None:
        return []
    latest = np.full(len(registers.register_id), -1, dtype=np.int64)
    latest[inst.register] = np.arange(len(inst))  # sorted by installed_at: the last wins
    placed = np.where(row_installation >= 0, row_installation, latest[registers.index])
    point = np.where(placed >= 0, inst.usage_point_id[np.maximum(placed, 0)], -1)
    candidates = np.unique(point[point >= 0]).tolist()
    ids = bindparam("ids", candidates, type_=ARRAY(BigInteger))
    seen = np.array(
        session.scalars(
            select(UsagePoint.id).where(UsagePoint.id == any_(ids), visible(actor, UsagePoint))
        ).all(),
        dtype=np.int64,
    )
    outside = ~np.isin(point, seen)
    return [
        BadLine(
            int(rows.line_no[i]),
            e.OUTSIDE_TERRITORY,
            f"meter {rows.serial[i]} is outside your territory",
        )
        for i in np.flatnonzero(outside).tolist()
    ]


# Every stored read of the load's registers within its span (duplicates and timelines), and
# the counted reads just before each register's first new read (the history).
_STORED_SQL = """
SELECT e.register_id, coalesce(e.installation_id, -1) AS installation_id,
       (extract(epoch FROM e.read_at) * 1000000)::int8 AS read_at, e.source,
       e.value::float8 AS value,
       (e.status IN ('accepted', 'flagged') AND e.source <> 'estimated') AS counted
FROM meter_reading e JOIN {registers} k ON k.register_id = e.register_id
WHERE e.read_at >= %(lo)s AND e.read_at <= %(hi)s
UNION ALL
SELECT h.* FROM {registers} k CROSS JOIN LATERAL (
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


def _stored_reads(
    session: Session,
    rows: ParsedBatch,
    registers: Registers,
    inst: Installations,
    first_at: np.ndarray,
    rules: RuleParameters,
) -> StoredReads:
    t = rows.read_at_us
    if not len(t):
        drop_tables(session, REGISTERS)
        return StoredReads(*(np.zeros(0, dtype=d) for d in ("i8", "i8", "i1", "?", "i8", "f8")))
    # History can only come from the installation in force at the first new read.
    at_first = _installation_of(np.arange(len(first_at)), first_at, inst.register, inst)
    history_from = np.where(at_first >= 0, inst.installed_at[np.maximum(at_first, 0)], first_at)
    staged, params = _stage_registers(
        session, registers, first_at, history_from, small=is_small(len(rows))
    )
    found = copy_out_arrow(
        session,
        _STORED_SQL.format(registers=staged),
        _STORED_SCHEMA,
        {**params, "lo": _to_ts(t.min()), "hi": _to_ts(t.max()), "history": rules.history_reads},
    )
    if staged == REGISTERS:
        drop_tables(session, REGISTERS)
    return StoredReads(
        register=np.searchsorted(registers.register_id, found["register_id"].to_numpy()),
        read_at=found["read_at"].to_numpy(),
        source=pc.index_in(found["source"], pa.array(SOURCES.values))
        .to_numpy(zero_copy_only=False)
        .astype(np.int8),
        counted=found["counted"].to_numpy(zero_copy_only=False),
        installation_id=found["installation_id"].to_numpy(),
        value=found["value"].to_numpy(),
    )


def _new_rows(
    rows: ParsedBatch, registers: Registers, stored: StoredReads
) -> tuple[np.ndarray, np.ndarray]:
    """Which rows are new, and the one timeline order of stored and new reads: register,
    instant, stored before new, source, file line."""
    n, n_stored = len(rows), len(stored)
    all_t = np.concatenate([stored.read_at, rows.read_at_us])
    stamps, t_rank = np.unique(all_t, return_inverse=True)
    instant = pack([np.concatenate([stored.register, registers.index]), t_rank], [len(stamps)])
    src = np.concatenate([stored.source, rows.source])
    is_new = np.concatenate([np.zeros(n_stored, bool), np.ones(n, bool)])
    order = np.argsort(pack([instant, is_new, src], [2, len(SOURCES)]), kind="stable")
    natural = pack([instant, src], [len(SOURCES)])[order]
    repeated = np.zeros(len(order), dtype=bool)
    repeated[1:] = natural[1:] == natural[:-1]
    fresh = np.ones(n, dtype=bool)
    fresh[order[repeated & is_new[order]] - n_stored] = False
    return fresh, order
