"""billing: the ledger's balance and sub-ledger checks and the invoice numbering check, set-based

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 07:30:00

Same guarantees as migration 0010, at a cost per statement instead of per row: a billing
run's chunk writes thousands of postings in one COPY, and a per-row trigger (a PL/pgSQL
call and an index probe per posting) was half of the issue time.

- Balance: a statement-level trigger ``balanced`` on transactions and postings notes the
  ids the statement touched (one row of ``billing_ledger_unchecked`` per statement, from
  the transition table); a deferred constraint trigger on that row checks, at commit, every
  noted transaction of the committing transaction in one grouped query (the first firing
  takes them all; later firings find none left). A commit with an unbalanced transaction,
  or one without postings, is still refused with the same message.
- Sub-ledger: a statement-level AFTER trigger ``subledger`` checks the inserted postings
  against the chart in one join (the statement is refused whole, as before).

- Numbering: the gap check probes, per series of the statement, only the number before
  its first (the old anti-join's plan depended on statistics of a table a run grows).

The old functions stay (0010's downgrade drops them); the triggers keep their names.
"""

from __future__ import annotations

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

UPGRADE_SQL = [
    "DROP TRIGGER balanced ON billing_ledger_posting",
    "DROP TRIGGER balanced ON billing_ledger_transaction",
    "DROP TRIGGER subledger ON billing_ledger_posting",
    # The transaction ids to check at commit, one row per inserting statement; rows live
    # only inside the transaction that wrote them (the commit-time check deletes them).
    """
    CREATE TABLE billing_ledger_unchecked (
        xact xid8 NOT NULL DEFAULT pg_current_xact_id(),
        transaction_ids bigint[] NOT NULL
    )
    """,
    """
    CREATE FUNCTION billing_ledger_note_unchecked() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_TABLE_NAME = 'billing_ledger_posting' THEN
            INSERT INTO billing_ledger_unchecked (transaction_ids)
            SELECT array_agg(DISTINCT transaction_id) FROM new_rows HAVING count(*) > 0;
        ELSE
            INSERT INTO billing_ledger_unchecked (transaction_ids)
            SELECT array_agg(id) FROM new_rows HAVING count(*) > 0;
        END IF;
        RETURN NULL;
    END $$
    """,
    """
    CREATE FUNCTION billing_ledger_check_unchecked() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        bad record;
    BEGIN
        WITH taken AS (
            DELETE FROM billing_ledger_unchecked WHERE xact = pg_current_xact_id()
            RETURNING transaction_ids
        ), ids AS (
            SELECT DISTINCT unnest(transaction_ids) AS txn FROM taken
        )
        SELECT ids.txn, count(p.id) AS postings, coalesce(sum(p.amount), 0) AS total
        INTO bad
        FROM ids LEFT JOIN billing_ledger_posting p ON p.transaction_id = ids.txn
        GROUP BY ids.txn
        HAVING count(p.id) < 2 OR coalesce(sum(p.amount), 0) <> 0
        ORDER BY ids.txn LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'ledger transaction % does not balance: % postings summing to %',
                bad.txn, bad.postings, bad.total
                USING ERRCODE = 'integrity_constraint_violation',
                      CONSTRAINT = 'billing_ledger_transaction_balanced';
        END IF;
        RETURN NULL;
    END $$
    """,
    "CREATE TRIGGER balanced AFTER INSERT ON billing_ledger_posting "
    "REFERENCING NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION billing_ledger_note_unchecked()",
    "CREATE TRIGGER balanced AFTER INSERT ON billing_ledger_transaction "
    "REFERENCING NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION billing_ledger_note_unchecked()",
    "CREATE CONSTRAINT TRIGGER balanced AFTER INSERT ON billing_ledger_unchecked "
    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION billing_ledger_check_unchecked()",
    """
    CREATE FUNCTION billing_ledger_subledger_rows() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        bad bigint;
    BEGIN
        SELECT n.account_id INTO bad FROM new_rows n
        LEFT JOIN billing_ledger_account a ON a.id = n.account_id
        WHERE a.per_customer_account IS DISTINCT FROM (n.customer_account_id IS NOT NULL)
        LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'posting on account %: a customer account is named exactly when '
                'the account keeps a sub-ledger per customer account', bad
                USING ERRCODE = 'integrity_constraint_violation',
                      CONSTRAINT = 'billing_ledger_posting_subledger';
        END IF;
        RETURN NULL;
    END $$
    """,
    "CREATE TRIGGER subledger AFTER INSERT ON billing_ledger_posting "
    "REFERENCING NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION billing_ledger_subledger_rows()",
    # Numbering without gaps, checked per series of the statement: its numbers are
    # consecutive (max - min + 1 = count; (series, seq) is unique) and the one before
    # the first exists (one probe of the unique index). Same refusal as 0013's check,
    # whose anti-join against the whole table could, with stale statistics, scan every
    # issued invoice once per chunk.
    """
    CREATE FUNCTION billing_invoice_no_gap_by_series() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
        s record;
        missing bigint;
    BEGIN
        FOR s IN SELECT n.series, min(n.seq) AS lo, max(n.seq) AS hi, count(*) AS k
                 FROM new_rows n GROUP BY n.series ORDER BY n.series LOOP
            missing := NULL;
            IF s.hi - s.lo + 1 <> s.k THEN
                SELECT min(n.seq) + 1 INTO missing FROM new_rows n
                WHERE n.series = s.series AND n.seq < s.hi AND NOT EXISTS (
                    SELECT 1 FROM new_rows m WHERE m.series = n.series AND m.seq = n.seq + 1);
            ELSIF s.lo > 1 AND NOT EXISTS (
                SELECT 1 FROM billing_invoice i WHERE i.series = s.series AND i.seq = s.lo - 1
            ) THEN
                missing := s.lo - 1;
            END IF;
            IF missing IS NOT NULL THEN
                RAISE EXCEPTION 'number % of series % leaves a gap: % is missing',
                    missing + 1, s.series, missing
                    USING ERRCODE = 'integrity_constraint_violation',
                          CONSTRAINT = 'billing_invoice_numbering_gap';
            END IF;
            IF s.hi > (SELECT c.last_number FROM billing_invoice_series c
                       WHERE c.series = s.series) THEN
                RAISE EXCEPTION 'number % of series % was not drawn from its counter',
                    s.hi, s.series
                    USING ERRCODE = 'integrity_constraint_violation',
                          CONSTRAINT = 'billing_invoice_numbering_gap';
            END IF;
        END LOOP;
        RETURN NULL;
    END $$
    """,
    "DROP TRIGGER no_gap ON billing_invoice",
    "CREATE TRIGGER no_gap AFTER INSERT ON billing_invoice REFERENCING NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION billing_invoice_no_gap_by_series()",
    "ALTER TABLE billing_invoice ENABLE ALWAYS TRIGGER no_gap",
]

DOWNGRADE_SQL = [
    "DROP TRIGGER no_gap ON billing_invoice",
    "DROP FUNCTION billing_invoice_no_gap_by_series()",
    "CREATE TRIGGER no_gap AFTER INSERT ON billing_invoice REFERENCING NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION billing_invoice_no_gap()",
    "ALTER TABLE billing_invoice ENABLE ALWAYS TRIGGER no_gap",
    "DROP TRIGGER subledger ON billing_ledger_posting",
    "DROP TRIGGER balanced ON billing_ledger_posting",
    "DROP TRIGGER balanced ON billing_ledger_transaction",
    "DROP TABLE billing_ledger_unchecked",
    "DROP FUNCTION billing_ledger_subledger_rows()",
    "DROP FUNCTION billing_ledger_check_unchecked()",
    "DROP FUNCTION billing_ledger_note_unchecked()",
    # migration 0010's triggers, as it made them
    "CREATE CONSTRAINT TRIGGER balanced AFTER INSERT ON billing_ledger_posting "
    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION billing_ledger_balanced()",
    "CREATE CONSTRAINT TRIGGER balanced AFTER INSERT ON billing_ledger_transaction "
    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION billing_ledger_balanced()",
    "CREATE TRIGGER subledger BEFORE INSERT ON billing_ledger_posting "
    "FOR EACH ROW EXECUTE FUNCTION billing_ledger_subledger()",
]


def upgrade() -> None:
    for statement in UPGRADE_SQL:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE_SQL:
        op.execute(statement)
