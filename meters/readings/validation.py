"""Stage 2 of a reading load: set-based validation of the typed rows and one merge into
``meter_reading``.

1. ``kw_reading_inst``: the installations of the meters in the load, per register, with
   their start index, category profile (kWh/day) and whether they followed a meter change.
2. ``kw_reading_new``: typed rows that are not stored yet (natural key register, read_at,
   source), resolved to the installation covering read_at, with the row-level checks
   (future, outside any installation, more than the dials can show).
3. ``kw_reading_tl``: a timeline per (register, installation) of those rows plus the
   stored counted real reads, judged with window functions: previous index (or the start
   index), advance across a rollover, negative advance, zero, expected range from the last
   reads' mean daily kWh (else the category profile), meter change, same-instant twins.
   A rejected read must not serve as the "previous" of the next one: the few partitions
   holding one are judged again without it, until nothing changes.
4. One ``INSERT ... SELECT ... ON CONFLICT DO NOTHING`` writes every new row, rejected ones
   included, with status, codes and the rule-set version; estimates standing in the period
   of a new real read are superseded.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.orm import Session

from meters.readings.partitions import ensure_partitions_for_table
from meters.readings.rule_sets import ActiveRules
from meters.readings.rules import Severity
from meters.readings.staging import TYPED, drop_stage_tables

INST = "kw_reading_inst"
NEW = "kw_reading_new"
TIMELINE = "kw_reading_tl"
JUDGED = "kw_reading_judged"
RESULT = "kw_reading_result"
MAX_REJUDGE_PASSES = 6
STAGE_TABLES = (INST, NEW, TIMELINE, JUDGED, RESULT)


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


def _analyze(session: Session, table: str) -> None:
    # Temporary tables get no autovacuum statistics: without them the planner guesses
    # nested loops over millions of rows.
    session.execute(text(f"ANALYZE {table}"))


def _installations(session: Session, rules: ActiveRules) -> None:
    session.execute(text(f"""
        CREATE TEMP TABLE {INST} ON COMMIT DROP AS
        SELECT r.id AS register_id, i.id AS installation_id, i.usage_point_id, i.installed_at,
               i.removed_at, (i.start_indexes ->> r.code)::numeric AS start_index,
               cp.kwh_day::float8 AS kwh_day,
               EXISTS (SELECT 1 FROM meter_installation j
                       WHERE j.usage_point_id = i.usage_point_id
                         AND j.register_set = i.register_set
                         AND j.installed_at < i.installed_at) AS follows_change
        FROM meter_installation i
        JOIN meter_register r ON r.meter_id = i.meter_id
        JOIN customer_usage_point up ON up.id = i.usage_point_id
        LEFT JOIN jsonb_each_text(CAST(:profile AS jsonb)) AS cp(category, kwh_day)
               ON cp.category = up.category
        WHERE i.meter_id IN (SELECT DISTINCT meter_id FROM {TYPED})
    """), {"profile": json.dumps(rules.parameters.category_kwh_per_day)})  # fmt: skip
    _analyze(session, INST)


def _new_rows(session: Session, rules: ActiveRules) -> None:
    session.execute(text(f"""
        CREATE TEMP TABLE {NEW} ON COMMIT DROP AS
        SELECT t.line_no, t.meter_id, t.register_id, t.dial_digits, t.multiplier, t.capacity,
               t.read_at, t.value, t.source, t.quality, t.reader_id, t.gps, t.photo_sha256,
               ir.installation_id, ir.usage_point_id, ir.installed_at, ir.start_index,
               ir.kwh_day, ir.follows_change,
               array_remove(ARRAY[
                 CASE WHEN t.read_at > now() + make_interval(mins => :tolerance)
                      THEN 'read_in_future' END,
                 CASE WHEN ir.installation_id IS NULL THEN
                   CASE WHEN EXISTS (SELECT 1 FROM meter_installation j
                                     WHERE j.meter_id = t.meter_id AND j.removed_at <= t.read_at)
                        THEN 'read_after_removal' ELSE 'read_before_installation' END END,
                 CASE WHEN t.value >= t.capacity THEN 'value_exceeds_dials' END
               ]::text[], NULL) AS pre_codes
        FROM {TYPED} t
        LEFT JOIN {INST} ir ON ir.register_id = t.register_id AND t.read_at >= ir.installed_at
                           AND (ir.removed_at IS NULL OR t.read_at < ir.removed_at)
        WHERE NOT EXISTS (SELECT 1 FROM meter_reading e WHERE e.register_id = t.register_id
                          AND e.read_at = t.read_at AND e.source = t.source)
    """), {"tolerance": rules.parameters.future_tolerance_minutes})  # fmt: skip
    _analyze(session, NEW)


_CARRIED = ("meter_id", "usage_point_id", "quality", "reader_id", "gps", "photo_sha256")


def _timeline(session: Session, reject_codes: list[str]) -> None:
    carried = ", ".join(f"n.{c}" for c in _CARRIED)
    session.execute(text(f"""
        CREATE TEMP TABLE {TIMELINE} ON COMMIT DROP AS
        SELECT n.line_no, true AS is_new, true AS eligible, n.register_id, n.installation_id,
               n.read_at, n.value, n.source, n.capacity::float8, n.multiplier::float8,
               n.start_index::float8,
               n.installed_at, n.kwh_day, n.follows_change, n.pre_codes, {carried}
        FROM {NEW} n
        WHERE n.installation_id IS NOT NULL AND NOT (n.pre_codes && CAST(:reject AS text[]))
        UNION ALL
        SELECT NULL, false, true, e.register_id, e.installation_id, e.read_at, e.value,
               e.source, power(10::float8, m.dial_digits), m.multiplier::float8,
               ir.start_index::float8,
               ir.installed_at, ir.kwh_day, ir.follows_change, '{{}}'::text[],
               NULL, NULL, NULL, NULL, NULL, NULL
        FROM (SELECT DISTINCT register_id, installation_id FROM {NEW}
              WHERE installation_id IS NOT NULL) AS k
        JOIN meter_reading e ON e.register_id = k.register_id
                            AND e.installation_id = k.installation_id
        JOIN {INST} ir ON ir.register_id = k.register_id AND ir.installation_id = k.installation_id
        JOIN meter_asset m ON m.id = e.meter_id
        WHERE e.status IN ('accepted', 'flagged') AND e.source <> 'estimated'
    """), {"reject": reject_codes})  # fmt: skip


def _judge_sql(rules: ActiveRules, only_affected: bool) -> str:
    p = rules.parameters
    order = "ORDER BY read_at, is_new, source, line_no"
    part = "PARTITION BY register_id, installation_id"
    where = "t.eligible"
    if only_affected:
        where += (" AND (t.register_id, t.installation_id) IN "
                  "(SELECT register_id, installation_id FROM kw_reading_affected)")  # fmt: skip
    carried = ", ".join(_CARRIED)
    return f"""
    WITH w AS (
      SELECT t.*, t.value::float8 AS v, lag(read_at) OVER p AS prev_at,
             lag(value::float8) OVER p AS prev_value,
             lag(source) OVER p AS prev_source, lead(read_at) OVER p AS next_at
      FROM {TIMELINE} t WHERE {where}
      WINDOW p AS ({part} {order})
    ), a AS (
      SELECT w.*, (w.prev_at IS NOT NULL AND w.prev_at = w.read_at) AS same_instant,
             coalesce(w.prev_at, w.installed_at) AS base_at,
             w.v - coalesce(w.prev_value, w.start_index) AS raw_adv
      FROM w
    ), b AS (
      -- float8 from here on: exact enough for range checks, several times faster than numeric
      SELECT a.*, CASE WHEN a.same_instant THEN NULL
                       WHEN a.raw_adv >= 0 THEN a.raw_adv
                       WHEN a.raw_adv + a.capacity <= {p.rollover_max_fraction} * a.capacity
                         THEN a.raw_adv + a.capacity END AS adv,
             extract(epoch FROM a.read_at - coalesce(a.prev_at, a.installed_at)) / 86400.0 AS days
      FROM a
    ), c AS (
      SELECT b.*, coalesce(b.adv, 0) * b.multiplier AS kwh,
             sum(coalesce(b.adv, 0) * b.multiplier) OVER (p ROWS UNBOUNDED PRECEDING) AS cum
      FROM b WINDOW p AS ({part} {order})
    ), d AS (
      SELECT c.*, lag(cum) OVER p AS prev_cum, count(*) OVER h AS hist_n,
             first_value(cum) OVER h AS hist_cum0, first_value(read_at) OVER h AS hist_at0
      FROM c WINDOW p AS ({part} {order}),
                    h AS (p ROWS BETWEEN {p.history_reads} PRECEDING AND 1 PRECEDING)
    ), e AS (
      SELECT d.*,
        CASE WHEN d.hist_n >= {p.min_history_reads} AND d.prev_at > d.hist_at0 THEN
               (d.prev_cum - d.hist_cum0)
               / (extract(epoch FROM d.prev_at - d.hist_at0) / 86400.0) END AS hist_rate
      FROM d
    ), f AS (
      SELECT e.*,
        CASE WHEN e.hist_rate IS NOT NULL
               THEN greatest(e.hist_rate * e.days * {p.high_factor}, {p.min_high_kwh})
             WHEN e.kwh_day IS NOT NULL
               THEN greatest(e.kwh_day * e.days * {p.category_high_factor}, {p.min_high_kwh})
        END AS high_kwh,
        e.hist_rate * e.days * {p.low_factor} AS low_kwh
      FROM e
    )
    SELECT f.line_no, f.register_id, f.installation_id, f.read_at, f.value, f.source,
           f.base_at, (f.next_at IS NOT NULL) AS has_next,
           (f.same_instant AND f.source = f.prev_source) AS is_file_dup,
           f.pre_codes || array_remove(ARRAY[
             CASE WHEN f.same_instant AND f.source <> f.prev_source
                  THEN 'duplicate_timestamp' END,
             CASE WHEN NOT f.same_instant AND f.raw_adv < 0 AND f.adv IS NOT NULL
                  THEN 'rollover' END,
             CASE WHEN NOT f.same_instant AND f.adv IS NULL THEN 'negative_advance' END,
             CASE WHEN f.adv = 0 THEN 'zero_consumption' END,
             CASE WHEN f.adv IS NOT NULL AND f.kwh > f.high_kwh THEN 'out_of_range_high' END,
             CASE WHEN f.adv > 0 AND f.kwh < f.low_kwh THEN 'out_of_range_low' END,
             CASE WHEN f.prev_at IS NULL AND f.follows_change
                  THEN 'meter_change_in_period' END
           ]::text[], NULL) AS codes,
           {carried}
    FROM f WHERE f.is_new
    """


def _judge(session: Session, rules: ActiveRules, reject_codes: list[str]) -> None:
    session.execute(text(f"CREATE TEMP TABLE {JUDGED} ON COMMIT DROP AS "
                         f"SELECT *, 0 AS pass FROM ({_judge_sql(rules, False)}) AS j"))  # fmt: skip
    # A rejected read (or a same-instant twin) that has later reads behind it: judge those
    # partitions again without it, so the next read is compared with the last good one.
    blocking = "(j.is_file_dup OR j.codes && CAST(:reject AS text[])) AND j.has_next"
    for n in range(1, MAX_REJUDGE_PASSES + 1):
        affected = session.execute(text(f"""
            CREATE TEMP TABLE kw_reading_affected ON COMMIT DROP AS
            SELECT DISTINCT register_id, installation_id FROM {JUDGED} j
            WHERE j.pass = :previous AND {blocking}
        """), {"previous": n - 1, "reject": reject_codes}).rowcount  # fmt: skip
        if not affected:
            drop_stage_tables(session, "kw_reading_affected")
            return
        session.execute(text(f"""
            UPDATE {TIMELINE} t SET eligible = false FROM {JUDGED} j
            WHERE j.pass = :previous AND {blocking} AND t.line_no = j.line_no
        """), {"previous": n - 1, "reject": reject_codes})  # fmt: skip
        session.execute(text(f"""
            DELETE FROM {JUDGED} j USING kw_reading_affected a
            WHERE j.register_id = a.register_id AND j.installation_id = a.installation_id
              AND NOT ({blocking})
        """), {"reject": reject_codes})  # fmt: skip
        session.execute(text(f"INSERT INTO {JUDGED} SELECT *, {n} FROM "
                             f"({_judge_sql(rules, True)}) AS j"))  # fmt: skip
        drop_stage_tables(session, "kw_reading_affected")


def _result(session: Session, rules: ActiveRules) -> None:
    reject = rules.parameters.codes_with(Severity.REJECT)
    flag = rules.parameters.codes_with(Severity.FLAG)
    session.execute(text(f"""
        CREATE TEMP TABLE {RESULT} ON COMMIT DROP AS
        SELECT x.*, CASE WHEN x.codes && CAST(:reject AS text[]) THEN 'rejected'
                         WHEN x.codes && CAST(:flag AS text[]) THEN 'flagged'
                         ELSE 'accepted' END AS status
        FROM (
          SELECT j.line_no, j.register_id, j.installation_id, j.read_at, j.value, j.source,
                 j.codes, j.base_at, {", ".join(f"j.{c}" for c in _CARRIED)}
          FROM {JUDGED} j WHERE NOT j.is_file_dup
          UNION ALL
          SELECT n.line_no, n.register_id, n.installation_id, n.read_at, n.value, n.source,
                 n.pre_codes, NULL, {", ".join(f"n.{c}" for c in _CARRIED)}
          FROM {NEW} n
          WHERE n.installation_id IS NULL OR n.pre_codes && CAST(:reject AS text[])
        ) AS x
    """), {"reject": reject, "flag": flag})  # fmt: skip


def _insert(session: Session, rules: ActiveRules, job_key: str | None) -> int:
    ensure_partitions_for_table(session, RESULT)
    return session.execute(text(f"""
        INSERT INTO meter_reading (read_at, register_id, meter_id, installation_id,
          usage_point_id, value, source, quality, status, reason_codes, rule_set_version,
          reader_id, gps, photo_sha256, import_job)
        SELECT r.read_at, r.register_id, r.meter_id, r.installation_id, r.usage_point_id,
               r.value, r.source, r.quality, r.status, r.codes, :version, r.reader_id, r.gps,
               r.photo_sha256, :job
        FROM {RESULT} r
        ON CONFLICT DO NOTHING
    """), {"version": rules.version, "job": job_key}).rowcount  # fmt: skip


def _supersede_estimates(session: Session) -> int:
    """Estimates standing between a new real read's previous read and the end of its UTC
    month are replaced by it (status superseded, pointing at the real read)."""
    open_estimates = session.execute(text(f"""
        CREATE TEMP TABLE kw_reading_est ON COMMIT DROP AS
        SELECT e.id, e.register_id, e.read_at FROM meter_reading e
        WHERE e.source = 'estimated' AND e.status IN ('accepted', 'flagged')
          AND e.register_id IN (SELECT register_id FROM {RESULT})
    """)).rowcount  # fmt: skip
    superseded = 0
    if open_estimates:
        superseded = session.execute(text(f"""
            UPDATE meter_reading e
            SET status = 'superseded', superseded_at = now(), superseded_by_id = x.real_id
            FROM (
              SELECT DISTINCT ON (est.id) est.id, est.read_at, real.id AS real_id
              FROM kw_reading_est est
              JOIN {RESULT} r ON r.register_id = est.register_id AND r.status <> 'rejected'
               AND est.read_at > r.base_at
               AND est.read_at < (date_trunc('month', r.read_at AT TIME ZONE 'UTC')
                                  + interval '1 month') AT TIME ZONE 'UTC'
              JOIN meter_reading real ON real.register_id = r.register_id
               AND real.read_at = r.read_at AND real.source = r.source
              ORDER BY est.id, r.read_at
            ) AS x
            WHERE e.id = x.id AND e.read_at = x.read_at
        """)).rowcount  # fmt: skip
    drop_stage_tables(session, "kw_reading_est")
    return superseded


def _tally(session: Session) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    by_status = {str(k): int(v) for k, v in session.execute(text(
        f"SELECT status, count(*) FROM {RESULT} GROUP BY status")).all()}  # fmt: skip
    codes: dict[str, dict[str, int]] = {}
    for status, code, count in session.execute(text(
        f"SELECT status, code, count(*) FROM {RESULT}, unnest(codes) AS code "
        f"GROUP BY status, code ORDER BY status, code"
    )).all():  # fmt: skip
        codes.setdefault(str(status), {})[str(code)] = int(count)
    return by_status, codes


def validate_and_merge(
    session: Session, *, rules: ActiveRules, rows: int, job_key: str | None
) -> MergeOutcome:
    """Judge the rows of ``kw_reading_typed`` and merge them into ``meter_reading``."""
    reject = rules.parameters.codes_with(Severity.REJECT)
    timer = _StepTimer()
    drop_stage_tables(session, *STAGE_TABLES)
    session.execute(text("SET LOCAL work_mem = '512MB'"))  # the window sorts stay in memory
    with timer("installations"):
        _installations(session, rules)
    with timer("new_rows"):
        _new_rows(session, rules)
        # The raw and typed stages are spent: free their space before the big sorts.
        drop_stage_tables(session, "kw_reading_raw", TYPED)
    with timer("timeline"):
        _timeline(session, reject)
        _analyze(session, TIMELINE)
    with timer("judge"):
        _judge(session, rules, reject)
    with timer("result"):
        _result(session, rules)
    with timer("insert"):
        inserted = _insert(session, rules, job_key)
    with timer("supersede"):
        superseded = _supersede_estimates(session)
    with timer("tally"):
        by_status, by_code = _tally(session)
    return MergeOutcome(rows=rows, new=inserted, duplicates=rows - inserted,
                        by_status=by_status, codes_by_status=by_code,
                        superseded_estimates=superseded, timings=timer.seconds)  # fmt: skip


class _StepTimer:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, step: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[step] = round(time.perf_counter() - started, 3)
