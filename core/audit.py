"""Audit trail: every insert, update and delete of a business table leaves a row.

A statement-level PostgreSQL trigger with transition tables does the recording, so bulk
loads (COPY, INSERT ... SELECT) are audited as reliably as ORM changes, at set-based cost.
Actor, request id and reason come from transaction-local settings that ``core.db`` stamps
at the start of every transaction. Secrets (password hashes) are masked.

The log itself is append-only in the database (``PROTECT_AUDIT_LOG_SQL``): no UPDATE,
DELETE or TRUNCATE, whoever asks, so a compromised or buggy application cannot rewrite it.
``audit_coverage_gaps`` reads the catalogue to prove every business table is covered.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    DateTime,
    Index,
    Integer,
    Text,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    or_,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.models import Base
from core.territory import CompanyRule, Scope

# Tables of the public schema deliberately left without the audit trigger, and why. Every
# other table there is a business table and must be audited (``audit_coverage_gaps``).
UNAUDITED_TABLES: dict[str, str] = {
    "alembic_version": "migration bookkeeping, written only by alembic",
    "core_audit_log": "the audit log itself: auditing it would recurse",
    "core_outbox_event": "plumbing: events are facts about changes already audited",
    "core_event_delivery": "plumbing: proof that a handler ran, written per delivery",
    "core_login_attempt": "a log itself (sign-in attempts), pruned by the rate limiter",
    "spatial_ref_sys": "PostGIS's catalogue of coordinate systems",
    "gis_network_state": "a one-row version counter bumped by triggers on every network write",
    "field_sync_counter": "per-technician change counters bumped by triggers on field writes",
    "core_idempotency_key": "stored answers to retried requests; the work they did is audited",
    "core_notification": "a log itself (every e-mail and SMS sent, with its outcome), append-only",
    "billing_ledger_unchecked": "ids of ledger transactions to check at commit, deleted then",
    "collection_file": "an account's overdue position, recomputed from audited bills and payments",
    "core_scheduled_job_run": "a log itself (each run of a scheduled job, with its outcome)",
    "core_report_export": "a log itself (export requests, their progress and file)",
    "customer_portal_code": "short-lived one-time codes, hashed: secrets stay out of the log",
}

MASKED_COLUMNS = ("password_hash",)


class AuditLog(Base):
    """One recorded change to one business row: who changed what, when, and why."""

    @staticmethod
    def __territory__(scope: Scope) -> ColumnElement[bool]:
        """An entry is seen where the row it records is (its values are that row's)."""
        return entries_located(scope)

    __tablename__ = "core_audit_log"
    __table_args__ = (Index("ix_core_audit_log_entity", "table_name", "entity_key", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    actor: Mapped[str] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    request_id: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    table_name: Mapped[str] = mapped_column(Text)
    entity_key: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)  # insert | update | delete
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONB)


_MASK = ", ".join(f"'{c}'" for c in MASKED_COLUMNS)

CREATE_AUDIT_FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION core_audit_mask(row_json jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
  SELECT coalesce(jsonb_object_agg(key,
           CASE WHEN key IN ({_MASK}) THEN to_jsonb('***'::text) ELSE value END), '{{}}'::jsonb)
  FROM jsonb_each(row_json)
$$;

CREATE OR REPLACE FUNCTION core_audit_diff(old_row jsonb, new_row jsonb,
                                           OUT before jsonb, OUT after jsonb)
LANGUAGE sql IMMUTABLE AS $$
  SELECT core_audit_mask(coalesce(jsonb_object_agg(key, old_row -> key), '{{}}'::jsonb)),
         core_audit_mask(coalesce(jsonb_object_agg(key, new_row -> key), '{{}}'::jsonb))
  FROM jsonb_object_keys(new_row) AS key
  WHERE key <> 'updated_at' AND (old_row -> key) IS DISTINCT FROM (new_row -> key)
$$;

CREATE OR REPLACE FUNCTION core_audit_statement() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  v_actor text := coalesce(nullif(current_setting('kilowatch.actor', true), ''), session_user);
  v_actor_id bigint := nullif(current_setting('kilowatch.actor_id', true), '')::bigint;
  v_request text := nullif(current_setting('kilowatch.request_id', true), '');
  v_reason text := nullif(current_setting('kilowatch.reason', true), '');
  v_bulk text := nullif(current_setting('kilowatch.audit_bulk', true), '');
  v_rows bigint;
BEGIN
  IF v_bulk IS NOT NULL THEN
    -- A declared bulk job (an import, a generator): one summary row per statement, keyed
    -- by the job, instead of one per row.
    IF TG_OP = 'DELETE' THEN SELECT count(*) INTO v_rows FROM old_rows;
    ELSE SELECT count(*) INTO v_rows FROM new_rows; END IF;
    IF v_rows > 0 THEN
      INSERT INTO core_audit_log (actor, actor_id, request_id, reason, table_name, entity_key,
                                  action, before, after)
      VALUES (v_actor, v_actor_id, v_request, v_reason, TG_TABLE_NAME, v_bulk,
              lower(TG_OP) || '_bulk', NULL, jsonb_build_object('rows', v_rows));
    END IF;
    RETURN NULL;
  END IF;
  IF TG_OP = 'INSERT' THEN
    INSERT INTO core_audit_log (actor, actor_id, request_id, reason, table_name, entity_key,
                                action, before, after)
    SELECT v_actor, v_actor_id, v_request, v_reason, TG_TABLE_NAME, n.j ->> 'id', 'insert',
           NULL, core_audit_mask(n.j)
    FROM (SELECT to_jsonb(r) AS j FROM new_rows r) AS n;
  ELSIF TG_OP = 'UPDATE' THEN
    INSERT INTO core_audit_log (actor, actor_id, request_id, reason, table_name, entity_key,
                                action, before, after)
    SELECT v_actor, v_actor_id, v_request, v_reason, TG_TABLE_NAME, n.j ->> 'id', 'update',
           d.before, d.after
    FROM (SELECT to_jsonb(r) AS j FROM old_rows r) AS o
    JOIN (SELECT to_jsonb(r) AS j FROM new_rows r) AS n ON (o.j -> 'id') = (n.j -> 'id')
    CROSS JOIN LATERAL core_audit_diff(o.j, n.j) AS d
    WHERE d.after <> '{{}}'::jsonb;
  ELSE
    INSERT INTO core_audit_log (actor, actor_id, request_id, reason, table_name, entity_key,
                                action, before, after)
    SELECT v_actor, v_actor_id, v_request, v_reason, TG_TABLE_NAME, o.j ->> 'id', 'delete',
           core_audit_mask(o.j), NULL
    FROM (SELECT to_jsonb(r) AS j FROM old_rows r) AS o;
  END IF;
  RETURN NULL;
END
$$;
"""


def declare_bulk_job(session: Session, job_key: str) -> None:
    """Audit the rest of this transaction as one bulk job: a summary row per statement
    (table, job key, row count) instead of a row per changed record. For imports and
    generators that write millions of rows; ordinary edits never call this."""
    session.execute(text("SELECT set_config('kilowatch.audit_bulk', :key, true)"), {"key": job_key})


@contextmanager
def bulk_audited(session: Session, job_key: str) -> Iterator[None]:
    """Audit the statements in this block as the bulk job ``job_key`` (a summary row per
    statement), then go back to what the transaction did before (row by row, or the job
    it had declared): for a set-based step of an otherwise ordinary transaction."""
    previous = session.scalar(text("SELECT current_setting('kilowatch.audit_bulk', true)"))
    declare_bulk_job(session, job_key)
    try:
        yield
    finally:
        declare_bulk_job(session, previous or "")


@contextmanager
def each_row_audited(session: Session) -> Iterator[None]:
    """Inside a bulk job, audit the statements in this block row by row (before and after
    values of each changed record): for bulk updates of existing records, whose replaced
    values must stay recoverable. The job is declared again afterwards."""
    job = session.scalar(text("SELECT current_setting('kilowatch.audit_bulk', true)"))
    declare_bulk_job(session, "")  # the trigger reads an empty job as none
    try:
        yield
    finally:
        if job:
            declare_bulk_job(session, job)


def enable_audit_sql(table: str) -> list[str]:
    """DDL attaching the audit trigger to ``table`` (one trigger per event: PostgreSQL
    allows transition tables only on single-event triggers)."""
    statements = []
    for event, referencing in (
        ("INSERT", "NEW TABLE AS new_rows"),
        ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
        ("DELETE", "OLD TABLE AS old_rows"),
    ):
        statements.append(
            f"CREATE TRIGGER audit_{event.lower()} AFTER {event} ON {table} "
            f"REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION core_audit_statement()"
        )
    return statements


def audited_tables_sql() -> str:
    """Query listing tables that carry the audit trigger."""
    return (
        "SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "WHERE t.tgname = 'audit_insert'"
    )


# Each (business table, event) without an enabled statement-level AFTER trigger calling
# core_audit_statement. pg_trigger.tgtype bits: 1 row, 2 before, 4 insert, 8 delete,
# 16 update, 64 instead of.
AUDIT_COVERAGE_SQL = """
SELECT c.relname AS table_name, e.op
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN (VALUES ('insert', 4), ('delete', 8), ('update', 16)) AS e(op, bit)
WHERE n.nspname = 'public'
  AND c.relkind IN ('r', 'p')
  AND NOT c.relispartition  -- a partition's rows are audited by its parent's statements
  AND NOT (c.relname = ANY(:excluded))
  AND NOT EXISTS (
    SELECT 1 FROM pg_trigger t
    WHERE t.tgrelid = c.oid
      AND NOT t.tgisinternal
      AND t.tgfoid = 'public.core_audit_statement()'::regprocedure
      AND t.tgenabled IN ('O', 'A')  -- 'D' disabled, 'R' fires only on a replica
      AND t.tgtype & 1 = 0 AND t.tgtype & (2 | 64) = 0  -- per statement, after
      AND t.tgtype & e.bit <> 0)
ORDER BY 1, 2
"""


def audit_coverage_gaps(session: Session) -> dict[str, list[str]]:
    """Business tables (public schema, minus ``UNAUDITED_TABLES``) lacking an enabled audit
    trigger, as read from the catalogue: ``{table: ["delete", "update" ...]}``, empty when
    every insert, update and delete of every business table is recorded."""
    gaps: dict[str, list[str]] = {}
    rows = session.execute(text(AUDIT_COVERAGE_SQL), {"excluded": list(UNAUDITED_TABLES)})
    for table, op in rows:
        gaps.setdefault(table, []).append(op)
    return gaps


# Append-only tables (the audit log, the ledger's books): rows are inserted, never updated,
# deleted or truncated. Privileges alone do not hold (the application's role owns its
# tables, and may be a superuser), so triggers refuse; ENABLE ALWAYS keeps them firing
# under session_replication_role = replica, the usual way round ordinary triggers. The
# trigger's argument is the advice the refusal gives (what to do instead).
APPEND_ONLY_FUNCTION_SQL = """CREATE OR REPLACE FUNCTION core_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused (%)', TG_TABLE_NAME, TG_OP, TG_ARGV[0]
    USING ERRCODE = 'insufficient_privilege';
END
$$"""


def append_only_sql(table: str, advice: str) -> list[str]:
    """The statements making ``table`` append-only (a migration runs them)."""
    quoted = advice.replace("'", "''")
    return [
        APPEND_ONLY_FUNCTION_SQL,
        f"CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION core_append_only('{quoted}')",
        f"CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION core_append_only('{quoted}')",
        f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER append_only",
        f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER append_only_truncate",
    ]


def drop_append_only_sql(table: str) -> list[str]:
    return [
        f"DROP TRIGGER append_only_truncate ON {table}",
        f"DROP TRIGGER append_only ON {table}",
    ]


PROTECT_AUDIT_LOG_SQL = [
    *append_only_sql("core_audit_log", "the log records what happened"),
    "REVOKE UPDATE, DELETE, TRUNCATE ON core_audit_log FROM PUBLIC, CURRENT_USER",
]

UNPROTECT_AUDIT_LOG_SQL = [
    "GRANT UPDATE, DELETE, TRUNCATE ON core_audit_log TO CURRENT_USER",
    *drop_append_only_sql("core_audit_log"),
    "DROP FUNCTION core_append_only()",
]


# -- where an entry lies (the territory rule of the log) -----------------------------------


def models_by_table() -> dict[str, type[Any]]:
    """Each mapped table's model (the base of an inheritance tree), from the registry:
    core never imports a domain, the domains' models register themselves."""
    found: dict[str, type[Any]] = {}
    for mapper in Base.registry.mappers:
        table = getattr(mapper.local_table, "name", None)
        if table is not None and mapper.inherits is None:
            found[table] = mapper.class_
    return found


def _entries_of(scope: Scope, table: str, model: type[Any]) -> ColumnElement[bool]:
    """The entries of ``table`` whose row lies in ``scope``. GLOBAL tables' entries lie
    everywhere; a deleted row of a located table, or a bulk job's summary, lies nowhere
    (nothing is left to place it by)."""
    of_table = AuditLog.table_name == table
    rule = model.__territory__
    if isinstance(rule, CompanyRule):  # a company's books: its entries lie in its company
        if scope.company_id is None:
            return of_table
        company_id = scope.company_id
        rule = lambda _scope: model.__territory__.condition(model, company_id)  # noqa: E731
    if rule is None:
        return of_table
    key = getattr(model, "id", None)
    if key is None:
        return false()
    # An entry's key is the row's id as text, or a bulk job's key: only digits are cast.
    as_id = case(
        (AuditLog.entity_key.regexp_match("^[0-9]{1,18}$"), cast(AuditLog.entity_key, BigInteger)),
        else_=None,
    )
    is_numeric = isinstance(getattr(key, "type", None), Integer)
    matches = key == as_id if is_numeric else cast(key, Text) == AuditLog.entity_key
    return and_(of_table, exists(select(key).where(matches, rule(scope))))


def entries_located(scope: Scope) -> ColumnElement[bool]:
    """The audit entries of rows in ``scope``: tables with no model or no declared rule
    are hidden from territory-bound readers."""
    clauses = [
        _entries_of(scope, table, model)
        for table, model in sorted(models_by_table().items())
        if hasattr(model, "__territory__") and model is not AuditLog
    ]
    return or_(false(), *clauses)
