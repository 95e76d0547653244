"""Stage 4 of a reading load: store the judged reads and supersede the estimates they
replace (parse -> resolve -> judge -> write).

A bulk load (a declared audit job) is COPYed straight into its month partitions, in
natural-key order, as a binary stream built vectorised (``meters.readings.copy_stream``;
text CSV only when a read carries a GPS point), with ids drawn ahead from the sequence
(``core.bulk.IdsInBackground``); a big load gives about half of its new months to a second
backend (``meters.readings.parallel_load``), attached as partitions in the caller's
transaction. It is audited with one summary row, as the statement trigger of the parent
table would have written it (that trigger does not see rows COPYed into a partition).
Everything is visible only when the caller's transaction commits: all or nothing. The rows
were checked against the stored ones in this transaction: a concurrent load of the same
reads makes the unique natural-key index refuse this one whole (409; re-run it: it is
idempotent).

Single reads (no job) go through the parent with ``ON CONFLICT DO NOTHING``, audited row by
row by its trigger. A small load of them (a handheld's batch: at most
``batches.SMALL_LOAD_ROWS``) is sent as one JSON parameter that PostgreSQL turns into rows
of ``meter_reading`` (``jsonb_populate_recordset``, each value through its column's input
function, as COPY's text would be): one statement instead of a temp table, a COPY, the
INSERT and two DROPs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from typing import Any

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.orm import Session

from core.bulk import (
    Format,
    IdsInBackground,
    copy_arrow,
    copy_in,
    copy_out_arrow,
    csv_bytes,
    drop_tables,
)
from core.settings import get_settings
from meters.models import READING_PARTITION_SCHEMA
from meters.readings import copy_stream, parallel_load
from meters.readings.batches import NO_TIME, JudgedBatch, is_small
from meters.readings.codes import JUDGED_STATUSES, REJECTED, SOURCES, codes_of
from meters.readings.errors import ReadingImportConflictError
from meters.readings.partitions import (
    ensure_reading_partitions,
    existing_partitions,
    partition_name,
)

COLUMNS = (
    "read_at",
    "register_id",
    "meter_id",
    "installation_id",
    "usage_point_id",
    "value",
    "source",
    "quality",
    "status",
    "reason_codes",
    "rule_set_version",
    "reader_id",
    "gps",
    "photo_sha256",
    "import_job",
)
PENDING = "kw_reading_pending"
_TS = pa.timestamp("us", tz="UTC")
Prepare = Callable[[date], list[Any]]


def write(
    session: Session,
    judged: JudgedBatch,
    *,
    version: int,
    job_key: str | None,
    ids: IdsInBackground | None = None,
) -> int:
    """Store the kept rows; returns how many were written. A unique-key clash with a
    concurrent load refuses this one (:class:`ReadingImportConflictError`)."""
    try:
        return _write(session, judged, version=version, job_key=job_key, ids=ids)
    except (psycopg.errors.UniqueViolation, sa_exc.IntegrityError) as error:
        raise ReadingImportConflictError(
            "another import stored some of these reads meanwhile; nothing of this one was "
            "stored (importing it again adds what is still missing)"
        ) from error


def _enum_text(codes: np.ndarray, values: tuple[str, ...]) -> pa.Array:
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int32)), pa.array(values)).cast(
        pa.string()
    )


def _codes_text(codes: np.ndarray) -> pa.Array:
    """PostgreSQL array literals ('{rollover}') for code bit masks; few distinct masks."""
    masks, inverse = np.unique(codes, return_inverse=True)
    literals = ["{" + ",".join(codes_of(m)) + "}" for m in masks.tolist()]
    return _enum_text(inverse, tuple(literals))


class _Kept:
    """The rows to store, in natural-key order within each UTC month (the unique index is
    filled left to right), with their installation."""

    def __init__(self, judged: JudgedBatch) -> None:
        resolved = judged.resolved
        rows, registers, inst = resolved.rows, resolved.registers, resolved.installations
        reg, t = registers.index, rows.read_at_us
        month = t.astype("datetime64[us]").astype("datetime64[M]")
        order = np.lexsort((rows.source, t, registers.register_id[reg], month))
        self.order = order[judged.keep[order]]
        self.months = month[self.order]
        at = resolved.row_installation[self.order]
        self.has_inst = at >= 0
        none = np.full(len(at), -1, dtype=np.int64)
        safe = np.maximum(at, 0)
        self.installation_id = np.where(self.has_inst, inst.id[safe], -1) if len(inst) else none
        self.usage_point_id = (
            np.where(self.has_inst, inst.usage_point_id[safe], -1) if len(inst) else none
        )
        self.register_id = registers.register_id[reg[self.order]]
        self.meter_id = registers.meter_id[reg[self.order]]

    def __len__(self) -> int:
        return len(self.order)


def _write(
    session: Session,
    judged: JudgedBatch,
    *,
    version: int,
    job_key: str | None,
    ids: IdsInBackground | None,
) -> int:
    kept = _Kept(judged)
    if not len(kept):
        return 0
    distinct = np.unique(kept.months)
    starts = [date.fromisoformat(str(m) + "-01") for m in distinct]
    if job_key is None:
        ensure_reading_partitions(session, starts)
        return _insert_through_parent(session, _text_table(judged, kept, version, job_key))
    bounds = [*np.searchsorted(kept.months, distinct).tolist(), len(kept)]
    span = {start: (bounds[i], bounds[i + 1]) for i, start in enumerate(starts)}
    rows = judged.resolved.rows
    prepare: Prepare
    format: Format
    if ids is not None and pc.all(rows.gps.is_null()).as_py():
        binary = _binary_rows(judged, kept, ids)

        def prepare(month: date) -> list[Any]:
            lo, hi = span[month]
            part = copy_stream.Rows(**{k: v[lo:hi] for k, v in vars(binary).items()})
            return copy_stream.copy_stream(part, version=version, job_key=job_key)

        columns, format = ", ".join(copy_stream.COLUMNS), "binary"
    else:  # EWKT points: text COPY lets PostGIS parse them
        table = _text_table(judged, kept, version, job_key)

        def prepare(month: date) -> list[Any]:
            lo, hi = span[month]
            return [csv_bytes(table.slice(lo, hi - lo))]

        columns, format = ", ".join(table.column_names), "csv"
    _load(session, job_key, starts, span, prepare, columns, format)
    _audit_bulk_insert(session, len(kept))
    return len(kept)


def _load(
    session: Session,
    job_key: str,
    starts: list[date],
    span: dict[date, tuple[int, int]],
    prepare: Prepare,
    columns: str,
    format: Format,
) -> None:
    parallel_load.drop_abandoned(session)
    helper = None
    new_months = [m for m in starts if partition_name(m) not in existing_partitions(session)]
    if span[starts[-1]][1] >= parallel_load.MIN_ROWS and len(new_months) >= 2:
        # The helper takes about half the rows, in new months only.
        by_size = sorted(new_months, key=lambda m: span[m][1] - span[m][0], reverse=True)
        shares, mine = [0, 0], []
        for m in by_size:
            side = 0 if shares[0] <= shares[1] else 1
            shares[side] += span[m][1] - span[m][0]
            if side:
                mine.append(m)
        helper = parallel_load.HelperLoad(
            session,
            job_key=job_key,
            months=sorted(mine),
            columns=columns,
            format=format,
            prepare=prepare,
        )
        helper.wait_created()  # before this transaction locks the parent (partition DDL)
    own = [m for m in starts if helper is None or m not in helper.months]
    _load_months(session, own, prepare, columns, format)
    if helper is not None:
        _load_months(session, helper.attach(session), prepare, columns, format)


def _load_months(
    session: Session, months: list[date], prepare: Prepare, columns: str, format: Format
) -> None:
    """COPY each month into its partition; Python builds the next month's stream while
    PostgreSQL loads this one."""
    if not months:
        return
    ensure_reading_partitions(session, months)
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(prepare, months[0])
        for i, month in enumerate(months):
            parts = pending.result()
            if i + 1 < len(months):
                pending = pool.submit(prepare, months[i + 1])
            name = f"{READING_PARTITION_SCHEMA}.{partition_name(month)}"
            copy_in(session, f"{name} ({columns})", parts, format=format)


def _binary_rows(judged: JudgedBatch, kept: _Kept, ids: IdsInBackground) -> copy_stream.Rows:
    rows, order = judged.resolved.rows, kept.order
    take = pa.array(order)
    return copy_stream.Rows(
        id=ids.get()[: len(order)],
        read_at_us=rows.read_at_us[order],
        register_id=kept.register_id,
        meter_id=kept.meter_id,
        value_text=rows.value_text.take(take),
        installation_id=kept.installation_id,
        usage_point_id=kept.usage_point_id,
        source=rows.source[order],
        quality=rows.quality.take(take),
        status=judged.status[order],
        codes=judged.codes[order],
        reader_id=rows.reader_id.take(take),
        photo_sha256=rows.photo_sha256.take(take),
    )


def _text_table(judged: JudgedBatch, kept: _Kept, version: int, job_key: str | None) -> pa.Table:
    """The kept rows as text-COPY columns (single reads, EWKT points)."""
    rows, order = judged.resolved.rows, kept.order
    take = pa.array(order)
    return pa.table(
        {
            "read_at": pa.array(rows.read_at_us[order], _TS),
            "register_id": kept.register_id,
            "meter_id": kept.meter_id,
            "installation_id": pa.array(kept.installation_id, mask=~kept.has_inst),
            "usage_point_id": pa.array(kept.usage_point_id, mask=~kept.has_inst),
            "value": rows.value_text.take(take),
            "source": _enum_text(rows.source[order], SOURCES.values),
            "quality": rows.quality.take(take),
            "status": _enum_text(judged.status[order], JUDGED_STATUSES.values),
            "reason_codes": _codes_text(judged.codes[order]),
            "rule_set_version": pa.array(np.full(len(order), version, dtype=np.int32)),
            "reader_id": rows.reader_id.take(take),
            "gps": rows.gps.take(take),
            "photo_sha256": rows.photo_sha256.take(take),
            "import_job": pa.repeat(pa.scalar(job_key, pa.string()), len(order)),
        }
    )


def _insert_through_parent(session: Session, table: pa.Table) -> int:
    if is_small(table.num_rows):
        return _insert_small(session, table)
    drop_tables(session, PENDING)
    session.execute(
        text(
            f"CREATE TEMP TABLE {PENDING} ON COMMIT DROP AS "
            f"SELECT {', '.join(COLUMNS)} FROM meter_reading WITH NO DATA"
        )
    )
    copy_arrow(session, PENDING, table)
    inserted = session.execute(
        text(
            f"INSERT INTO meter_reading ({', '.join(COLUMNS)}) SELECT {', '.join(COLUMNS)} "
            f"FROM {PENDING} ON CONFLICT DO NOTHING"
        )
    ).rowcount
    drop_tables(session, PENDING)
    return int(inserted)


def _insert_small(session: Session, table: pa.Table) -> int:
    """The same rows as the temp table would hold, as one JSON array of objects."""
    rows = json.dumps(table.to_pylist(), default=_json_value)
    columns = ", ".join(COLUMNS)
    inserted = session.execute(
        text(
            f"INSERT INTO meter_reading ({columns}) SELECT {columns} FROM "
            "jsonb_populate_recordset(NULL::meter_reading, CAST(:rows AS jsonb)) "
            "ON CONFLICT DO NOTHING"
        ),
        {"rows": rows},
    ).rowcount
    return int(inserted)


def _json_value(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"no JSON form for {type(value).__name__}")


def _audit_bulk_insert(session: Session, rows: int) -> None:
    """The summary row ``core_audit_statement`` writes for a declared bulk job."""
    session.execute(
        text("""
        INSERT INTO core_audit_log (actor, actor_id, request_id, reason, table_name,
                                    entity_key, action, before, after)
        SELECT coalesce(nullif(current_setting('kilowatch.actor', true), ''), session_user),
               nullif(current_setting('kilowatch.actor_id', true), '')::bigint,
               nullif(current_setting('kilowatch.request_id', true), ''),
               nullif(current_setting('kilowatch.reason', true), ''), 'meter_reading',
               current_setting('kilowatch.audit_bulk'), 'insert_bulk', NULL,
               jsonb_build_object('rows', CAST(:rows AS bigint))
    """),
        {"rows": rows},
    )


_REAL = "kw_reading_real"
# The small way's stand-in for the temp table of the real reads (same columns and types).
_REAL_ARRAYS = (
    "(SELECT * FROM unnest(CAST(:register_ids AS bigint[]), CAST(:read_at AS timestamptz[]), "
    "CAST(:base_at AS timestamptz[]), CAST(:sources AS text[])) "
    "AS u(register_id, read_at, base_at, source))"
)
_SUPERSEDE_SQL = """
UPDATE meter_reading e
SET status = 'superseded', superseded_at = now(), superseded_by_id = x.real_id
FROM (
  SELECT DISTINCT ON (est.id) est.id, est.read_at, real.id AS real_id
  FROM meter_reading est
  JOIN {real} r ON r.register_id = est.register_id
   AND est.read_at > r.base_at
   AND est.read_at < (date_trunc('month', r.read_at AT TIME ZONE :tz)
                      + interval '1 month') AT TIME ZONE :tz
  JOIN meter_reading real ON real.register_id = r.register_id
   AND real.read_at = r.read_at AND real.source = r.source
  WHERE est.source = 'estimated' AND est.status IN ('accepted', 'flagged')
  ORDER BY est.id, r.read_at
) AS x
WHERE e.id = x.id AND e.read_at = x.read_at
"""


def supersede_estimates(session: Session, judged: JudgedBatch) -> int:
    """Estimates standing between a new real read's previous read and the end of its local
    calendar month (the billing month) are replaced by it (status superseded, pointing at
    the real read)."""
    registers, rows = judged.resolved.registers, judged.resolved.rows
    open_estimates = (
        "SELECT register_id FROM meter_reading "
        "WHERE source = 'estimated' AND status IN ('accepted', 'flagged')"
    )
    if is_small(len(rows)):  # only its registers' (the partial index answers)
        estimates = copy_out_arrow(
            session,
            open_estimates + " AND register_id = ANY(%(ids)s::int8[])",
            {"register_id": pa.int64()},
            {"ids": registers.register_id.tolist()},
        )
    else:
        estimates = copy_out_arrow(session, open_estimates, {"register_id": pa.int64()})
    with_estimate = np.isin(registers.register_id, estimates["register_id"].to_numpy())
    chosen = np.flatnonzero(
        judged.keep
        & with_estimate[registers.index]
        & (judged.status != REJECTED)
        & (judged.base_at != NO_TIME)
    )
    if not len(chosen):
        return 0
    real = pa.table(
        {
            "register_id": registers.register_id[registers.index[chosen]],
            "read_at": pa.array(rows.read_at_us[chosen], _TS),
            "base_at": pa.array(judged.base_at[chosen], _TS),
            "source": _enum_text(rows.source[chosen], SOURCES.values),
        }
    )
    tz = get_settings().timezone
    if is_small(len(rows)):
        columns = real.to_pydict()
        params = {
            "register_ids": columns["register_id"],
            "read_at": columns["read_at"],
            "base_at": columns["base_at"],
            "sources": columns["source"],
            "tz": tz,
        }
        sql = _SUPERSEDE_SQL.format(real=_REAL_ARRAYS)
        return int(session.execute(text(sql), params).rowcount)
    drop_tables(session, _REAL)
    session.execute(
        text(
            f"CREATE TEMP TABLE {_REAL} (register_id bigint, "
            "read_at timestamptz, base_at timestamptz, source text) ON COMMIT DROP"
        )
    )
    copy_arrow(session, _REAL, real)
    superseded = session.execute(text(_SUPERSEDE_SQL.format(real=_REAL)), {"tz": tz}).rowcount
    drop_tables(session, _REAL)
    return int(superseded)
