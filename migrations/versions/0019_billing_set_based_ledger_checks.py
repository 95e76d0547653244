"""billing: the ledger's balance and sub-ledger checks, set-based (one per statement)

Revision ID: 0019
Revises: 0016 (the coordinator re-chains it after 0018)
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

The old functions stay (0010's downgrade drops them); the triggers keep their names.
"""

from __future__ import annotations

from alembic import op

revision = "0019"
down_revision = "0016"
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
]

DOWNGRADE_SQL = [
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
