"""Writing judged reads into ``meter_reading`` and superseding the estimates they replace.

A bulk load (a declared audit job) is COPYed straight into its month partitions, in
natural-key order, as a binary stream built vectorised (``meters.readings.binary_copy``;
text CSV only when a read carries a GPS point), with ids drawn ahead from the sequence
(``meters.readings.ids``); a big load gives about half of its new months to a second
backend (``meters.readings.parallel_load``), attached as partitions in the caller's
transaction. It is audited with one summary row, as the statement trigger of the
parent table would have written it (that trigger does not see rows COPYed into a
partition). Everything is visible only when the caller's transaction commits: all or
nothing. The rows were
checked against the stored ones in this transaction: a concurrent load of the same reads
makes the unique natural-key index fail this one whole (re-run it: it is idempotent).

Single reads (``record_readings``) go through the parent with ``ON CONFLICT DO NOTHING``,
audited row by row by its trigger.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import text
from sqlalchemy.orm import Session

from meters.models import READING_PARTITION_SCHEMA
from meters.readings import binary_copy, parallel_load
from meters.readings.ids import ReadingIds
from meters.readings.judge import CODES
from meters.readings.parsing import SOURCES, TypedRows
from meters.readings.partitions import (
    ensure_reading_partitions,
    existing_partitions,
    partition_name,
)
from meters.readings.staging import drop_stage_tables
from meters.readings.transfer import copy_in, copy_out, copy_parts, csv_bytes

STATUSES = ("accepted", "flagged", "rejected")
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


def _codes_text(codes: np.ndarray) -> pa.Array:
    """PostgreSQL array literals ('{rollover}') for code bit masks; few distinct masks."""
    masks, inverse = np.unique(codes, return_inverse=True)
    literals = [
        "{" + ",".join(c.value for b, c in enumerate(CODES) if m & (1 << b)) + "}"
        for m in masks.tolist()
    ]
    return pa.DictionaryArray.from_arrays(
        pa.array(inverse.astype(np.int32)), pa.array(literals)
    ).cast(pa.string())


def _nullable(values: np.ndarray, valid: np.ndarray) -> pa.Array:
    return pa.array(values, mask=~valid)


def write_readings(
    session: Session,
    rows: TypedRows,
    registers,
    *,
    keep: np.ndarray,  # type: ignore[no-untyped-def]
    codes: np.ndarray,
    status: np.ndarray,
    row_inst: np.ndarray,
    inst: pa.Table,
    version: int,
    job_key: str | None,
    ids: ReadingIds | None = None,
) -> int:
    """Store the kept rows; returns how many were written."""
    reg = registers.index
    t = rows.read_at_us
    month = t.astype("datetime64[us]").astype("datetime64[M]")
    # Natural-key order inside each month: the unique index is filled left to right.
    order = np.lexsort((rows.source, t, registers.register_id[reg], month))
    order = order[keep[order]]
    if not len(order):
        return 0
    has_inst = row_inst[order] >= 0
    inst_at = np.maximum(row_inst[order], 0)
    months = month[order]
    distinct = np.unique(months)
    starts = [date.fromisoformat(str(m) + "-01") for m in distinct]

    def text_table() -> Any:
        return _text_table(
            rows,
            registers,
            order=order,
            has_inst=has_inst,
            inst_at=inst_at,
            inst=inst,
            status=status,
            codes=codes,
            version=version,
            job_key=job_key,
        )

    if job_key is None:
        ensure_reading_partitions(session, starts)
        return _insert_through_parent(session, text_table())
    bounds = [*np.searchsorted(months, distinct).tolist(), len(order)]
    span = {start: (bounds[i], bounds[i + 1]) for i, start in enumerate(starts)}
    if ids is not None and pc.all(rows.gps.is_null()).as_py():
        take = pa.array(order)
        binary = binary_copy.Rows(
            id=ids.get()[: len(order)],
            read_at_us=t[order],
            register_id=registers.register_id[reg[order]],
            meter_id=registers.meter_id[reg[order]],
            value_text=rows.value_text.take(take),
            installation_id=np.where(has_inst, inst["installation_id"].to_numpy()[inst_at], -1)
            if inst.num_rows
            else np.full(len(order), -1),
            usage_point_id=np.where(has_inst, inst["usage_point_id"].to_numpy()[inst_at], -1)
            if inst.num_rows
            else np.full(len(order), -1),
            source=rows.source[order],
            quality=rows.quality.take(take),
            status=status[order],
            codes=codes[order],
            reader_id=rows.reader_id.take(take),
            photo_sha256=rows.photo_sha256.take(take),
        )

        def prepare(month: date) -> list:  # type: ignore[type-arg]
            lo, hi = span[month]
            part = binary_copy.Rows(**{k: v[lo:hi] for k, v in vars(binary).items()})
            return binary_copy.copy_stream(part, version=version, job_key=job_key)

        columns, options = ", ".join(binary_copy.COLUMNS), "FORMAT binary"
    else:  # EWKT points: text COPY lets PostGIS parse them
        table = text_table()

        def prepare(month: date) -> list:  # type: ignore[type-arg]
            lo, hi = span[month]
            return [csv_bytes(table.slice(lo, hi - lo))]

        columns, options = ", ".join(table.column_names), "FORMAT csv"
    parallel_load.drop_abandoned(session)
    helper = None
    new_months = [m for m in starts if m not in existing_partitions(session)]
    if len(order) >= parallel_load.MIN_ROWS and len(new_months) >= 2:
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
            options=options,
            prepare=prepare,
        )
        helper.wait_created()  # before this transaction locks the parent (partition DDL)
    own = [m for m in starts if helper is None or m not in helper.months]
    _load_months(session, own, prepare, columns, options)
    if helper is not None:
        _load_months(session, helper.attach(session), prepare, columns, options)
    _audit_bulk_insert(session, len(order))
    return len(order)


def _load_months(
    session: Session,
    months: list[date],
    prepare,
    columns: str,  # type: ignore[no-untyped-def]
    options: str,
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
            copy_parts(session, f"{name} ({columns})", parts, options)


def _text_table(
    rows: TypedRows,
    registers,
    *,
    order: np.ndarray,
    has_inst: np.ndarray,  # type: ignore[no-untyped-def]
    inst_at: np.ndarray,
    inst: pa.Table,
    status: np.ndarray,
    codes: np.ndarray,
    version: int,
    job_key: str | None,
) -> pa.Table:
    """The kept rows as text-COPY columns (single reads, EWKT points)."""
    reg, t = registers.index, rows.read_at_us
    take = pa.array(order)
    return pa.table(
        {
            "read_at": pa.array(t[order], pa.timestamp("us", tz="UTC")),
            "register_id": registers.register_id[reg[order]],
            "meter_id": registers.meter_id[reg[order]],
            "installation_id": _nullable(inst["installation_id"].to_numpy()[inst_at], has_inst)
            if inst.num_rows
            else pa.nulls(len(order), pa.int64()),
            "usage_point_id": _nullable(inst["usage_point_id"].to_numpy()[inst_at], has_inst)
            if inst.num_rows
            else pa.nulls(len(order), pa.int64()),
            "value": rows.value_text.take(take),
            "source": pa.DictionaryArray.from_arrays(
                pa.array(rows.source[order].astype(np.int32)), pa.array(SOURCES)
            ).cast(pa.string()),
            "quality": rows.quality.take(take),
            "status": pa.DictionaryArray.from_arrays(
                pa.array(status[order].astype(np.int32)), pa.array(STATUSES)
            ).cast(pa.string()),
            "reason_codes": _codes_text(codes[order]),
            "rule_set_version": pa.array(np.full(len(order), version, dtype=np.int32)),
            "reader_id": rows.reader_id.take(take),
            "gps": rows.gps.take(take),
            "photo_sha256": rows.photo_sha256.take(take),
            "import_job": pa.repeat(pa.scalar(job_key, pa.string()), len(order)),
        }
    )


def _insert_through_parent(session: Session, table: pa.Table) -> int:
    drop_stage_tables(session, PENDING)
    session.execute(
        text(
            f"CREATE TEMP TABLE {PENDING} ON COMMIT DROP AS "
            f"SELECT {', '.join(COLUMNS)} FROM meter_reading WITH NO DATA"
        )
    )
    copy_in(session, PENDING, table)
    inserted = session.execute(
        text(
            f"INSERT INTO meter_reading ({', '.join(COLUMNS)}) SELECT {', '.join(COLUMNS)} "
            f"FROM {PENDING} ON CONFLICT DO NOTHING"
        )
    ).rowcount
    drop_stage_tables(session, PENDING)
    return int(inserted)


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


def supersede_estimates(
    session: Session,
    registers,
    *,
    keep: np.ndarray,
    t: np.ndarray,  # type: ignore[no-untyped-def]
    sources: np.ndarray,
    base_at: np.ndarray,
    status: np.ndarray,
) -> int:
    """Estimates standing between a new real read's previous read and the end of its UTC
    month are replaced by it (status superseded, pointing at the real read)."""
    estimates = copy_out(
        session,
        """
        SELECT register_id FROM meter_reading
        WHERE source = 'estimated' AND status IN ('accepted', 'flagged')
    """,
        {"register_id": pa.int64()},
    )
    with_estimate = np.isin(registers.register_id, estimates["register_id"].to_numpy())
    rows = (
        keep & with_estimate[registers.index] & (status != 2) & (base_at != np.iinfo(np.int64).max)
    )
    if not rows.any():
        return 0
    chosen = np.flatnonzero(rows)
    drop_stage_tables(session, "kw_reading_real")
    session.execute(
        text(
            "CREATE TEMP TABLE kw_reading_real (register_id bigint, "
            "read_at timestamptz, base_at timestamptz, source text) ON COMMIT DROP"
        )
    )
    copy_in(
        session,
        "kw_reading_real",
        pa.table(
            {
                "register_id": registers.register_id[registers.index[chosen]],
                "read_at": pa.array(t[chosen], pa.timestamp("us", tz="UTC")),
                "base_at": pa.array(base_at[chosen], pa.timestamp("us", tz="UTC")),
                "source": pa.array([SOURCES[s] for s in sources[chosen].tolist()], pa.string()),
            }
        ),
    )
    superseded = session.execute(
        text("""
        UPDATE meter_reading e
        SET status = 'superseded', superseded_at = now(), superseded_by_id = x.real_id
        FROM (
          SELECT DISTINCT ON (est.id) est.id, est.read_at, real.id AS real_id
          FROM meter_reading est
          JOIN kw_reading_real r ON r.register_id = est.register_id
           AND est.read_at > r.base_at
           AND est.read_at < (date_trunc('month', r.read_at AT TIME ZONE 'UTC')
                              + interval '1 month') AT TIME ZONE 'UTC'
          JOIN meter_reading real ON real.register_id = r.register_id
           AND real.read_at = r.read_at AND real.source = r.source
          WHERE est.source = 'estimated' AND est.status IN ('accepted', 'flagged')
          ORDER BY est.id, r.read_at
        ) AS x
        WHERE e.id = x.id AND e.read_at = x.read_at
    """)
    ).rowcount
    drop_stage_tables(session, "kw_reading_real")
    return int(superseded)
