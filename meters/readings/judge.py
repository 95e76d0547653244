"""Stage 3 of a reading load: judge every new read (parse -> resolve -> judge -> write).

First the checks of a read alone (in the future, outside any installation, more than the
dials can show), then the rules over its timeline (``meters.readings.timeline``): the new
reads that a row-level check does not already reject, among the counted stored reads of
their own (register, installation). Only timelines holding a new read are judged, so a
re-import judges nothing.
"""

from __future__ import annotations

import time

import numpy as np

from meters.enums import ReasonCode, Severity
from meters.readings.batches import NO_TIME, JudgedBatch, ResolvedBatch
from meters.readings.codes import BIT, bits_of, pack
from meters.readings.rules import RuleParameters
from meters.readings.timeline import Timeline, judge_timeline, statuses


def judge(batch: ResolvedBatch, p: RuleParameters) -> JudgedBatch:
    """Reason codes and status of every row (meaningful for the fresh ones)."""
    pre = _row_codes(batch, p)
    codes, base_at = _timeline_codes(batch, pre, p)
    return JudgedBatch(batch, codes, statuses(codes, p), base_at)


def _row_codes(batch: ResolvedBatch, p: RuleParameters) -> np.ndarray:
    """The checks of each read alone."""
    rows, registers, inst = batch.rows, batch.registers, batch.installations
    reg, t = registers.index, rows.read_at_us
    now_us = int(time.time() * 1e6) + p.future_tolerance_minutes * 60_000_000
    removed_by_reg = np.full(len(registers.register_id), NO_TIME, np.int64)
    np.minimum.at(removed_by_reg, inst.register, inst.removed_at)
    outside = batch.row_installation < 0
    after_removal = outside & (removed_by_reg[reg] <= t)
    pre = np.zeros(len(rows), dtype=np.int32)
    for code, hit in (
        (ReasonCode.READ_IN_FUTURE, t > now_us),
        (ReasonCode.READ_AFTER_REMOVAL, after_removal),
        (ReasonCode.READ_BEFORE_INSTALLATION, outside & ~after_removal),
        (ReasonCode.VALUE_EXCEEDS_DIALS, rows.value >= registers.capacity[reg]),
    ):
        pre |= np.where(hit, BIT[code], 0).astype(np.int32)
    return pre


def _pair_index(
    inst_reg: np.ndarray, inst_id: np.ndarray, reg: np.ndarray, installation_id: np.ndarray
) -> np.ndarray:
    """Row of the installations for each (register, installation id), -1 if none."""
    if not len(inst_id) or not len(reg):
        return np.full(len(reg), -1, dtype=np.int64)
    ids, id_rank = np.unique(inst_id, return_inverse=True)
    keys = pack([inst_reg, id_rank], [len(ids)])
    by_key = np.argsort(keys)
    rank = np.minimum(np.searchsorted(ids, installation_id), len(ids) - 1)
    wanted = pack([reg, rank], [len(ids)])
    at = np.minimum(np.searchsorted(keys[by_key], wanted), len(keys) - 1)
    found = (ids[rank] == installation_id) & (keys[by_key][at] == wanted)
    return np.where(found, by_key[at], -1)


def _timeline_codes(
    batch: ResolvedBatch, pre: np.ndarray, p: RuleParameters
) -> tuple[np.ndarray, np.ndarray]:
    rows, registers, inst, stored = batch.rows, batch.registers, batch.installations, batch.stored
    n, n_stored = len(rows), len(stored)
    reject = bits_of(p.codes_with(Severity.REJECT))
    in_timeline = batch.fresh & (batch.row_installation >= 0) & ((pre & reject) == 0)
    # Stored counted reads join the timeline of their own (register, installation).
    s_inst = _pair_index(inst.register, inst.id, stored.register, stored.installation_id)
    member = np.concatenate([stored.counted & (s_inst >= 0), in_timeline])[batch.order]
    chosen = batch.order[member]  # positions in the concatenation (stored first, then new)
    # Only timelines with a new read need judging (a re-import has none).
    pair = np.concatenate([s_inst, batch.row_installation])[chosen]
    with_new = np.zeros(len(inst) + 1, dtype=bool)  # by installation row: O(n), no sort
    with_new[pair[chosen >= n_stored]] = True
    chosen = chosen[with_new[pair]]
    from_new = chosen >= n_stored
    new_pos = chosen - n_stored
    segment = np.concatenate([s_inst, batch.row_installation])[chosen]
    reg = np.concatenate([stored.register, registers.index])[chosen]
    timeline = Timeline(
        segment=segment.astype(np.int64),
        read_at=np.concatenate([stored.read_at, rows.read_at_us])[chosen],
        value=np.concatenate([stored.value, rows.value])[chosen],
        source=np.concatenate([stored.source, rows.source])[chosen],
        is_new=from_new,
        capacity=registers.capacity[reg],
        multiplier=registers.multiplier[reg],
        start_index=inst.start_index[segment],
        installed_at=inst.installed_at[segment],
        kwh_day=inst.kwh_day[segment],
        follows_change=inst.follows_change[segment],
        pre_codes=np.concatenate([np.zeros(n_stored, np.int32), pre])[chosen],
    )
    judged, base = judge_timeline(timeline, p)
    codes = pre.copy()
    base_at = np.full(n, NO_TIME, dtype=np.int64)
    codes[new_pos[from_new]] = judged[from_new]
    base_at[new_pos[from_new]] = base[from_new]
    return codes, base_at
