"""Every change to a business table leaves an audit row with actor, request and diff."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from core.audit import AuditLog, audit_coverage_gaps, enable_audit_sql
from core.auth import service
from core.auth.models import User
from core.context import Actor, acting_as


def _trail(db: Session, table: str, key: object) -> list[AuditLog]:
    return list(
        db.scalars(
            select(AuditLog)
            .where(AuditLog.table_name == table, AuditLog.entity_key == str(key))
            .order_by(AuditLog.id)
        )
    )


def test_insert_update_delete_are_audited_with_actor_request_and_diff(db: Session) -> None:
    boss = Actor(user_id=None, username="ops-boss")
    with acting_as(boss, request_id="req-42", reason="onboarding"):
        db.commit()  # start a fresh (savepoint) transaction stamped with this actor
        user = service.create_user(db, username="awa", password="s3cret-pass", roles=["cashier"])
        db.flush()
        user.full_name = "Awa Dossou"
        db.flush()
        db.delete(user)
        db.flush()

    trail = _trail(db, "core_user", user.id)
    assert [row.action for row in trail] == ["insert", "update", "delete"]
    assert {row.actor for row in trail} == {"ops-boss"}
    assert {row.request_id for row in trail} == {"req-42"}
    assert trail[0].reason == "onboarding"
    # Only the changed field appears in an update; secrets are masked everywhere.
    assert trail[1].before == {"full_name": ""}
    assert trail[1].after == {"full_name": "Awa Dossou"}
    assert trail[0].after["password_hash"] == "***"
    assert trail[2].before["username"] == "awa"


def test_an_update_that_changes_nothing_leaves_no_row(db: Session) -> None:
    user = service.create_user(db, username="kofi", password="s3cret-pass", roles=["technician"])
    db.flush()
    db.execute(text("UPDATE core_user SET full_name = full_name WHERE id = :id"), {"id": user.id})
    assert [row.action for row in _trail(db, "core_user", user.id)] == ["insert"]


def test_bulk_sql_changes_are_audited_row_by_row(db: Session) -> None:
    users = [
        service.create_user(db, username=f"bulk_{name}", password="s3cret-pass", roles=["cashier"])
        for name in ("a1", "a2", "a3")
    ]
    db.flush()
    db.execute(text("UPDATE core_user SET is_active = false WHERE username LIKE 'bulk_%'"))
    updates = db.scalars(
        select(AuditLog).where(
            AuditLog.table_name == "core_user",
            AuditLog.action == "update",
            AuditLog.entity_key.in_([str(u.id) for u in users]),
        )
    ).all()
    assert sorted(u.after["is_active"] for u in updates) == [False, False, False]


def test_every_business_table_has_enabled_insert_update_delete_audit_triggers(
    db: Session,
) -> None:
    assert audit_coverage_gaps(db) == {}


def test_the_coverage_check_reads_what_the_database_would_really_do(db: Session) -> None:
    db.execute(text("CREATE TABLE kw_audit_probe (id bigint PRIMARY KEY, note text)"))
    assert audit_coverage_gaps(db)["kw_audit_probe"] == ["delete", "insert", "update"]
    for statement in enable_audit_sql("kw_audit_probe"):
        db.execute(text(statement))
    assert "kw_audit_probe" not in audit_coverage_gaps(db)

    db.execute(text("ALTER TABLE kw_audit_probe DISABLE TRIGGER audit_update"))
    assert audit_coverage_gaps(db)["kw_audit_probe"] == ["update"]
    db.execute(text("ALTER TABLE kw_audit_probe ENABLE REPLICA TRIGGER audit_update"))
    assert audit_coverage_gaps(db)["kw_audit_probe"] == ["update"]  # fires on replicas only
    db.execute(text("ALTER TABLE kw_audit_probe ENABLE TRIGGER audit_update"))
    # A trigger with the expected name that calls something else records nothing.
    db.execute(text("DROP TRIGGER audit_delete ON kw_audit_probe"))
    db.execute(
        text(
            "CREATE TRIGGER audit_delete AFTER DELETE ON kw_audit_probe"
            " FOR EACH STATEMENT EXECUTE FUNCTION gis_bump_network_version()"
        )
    )
    assert audit_coverage_gaps(db)["kw_audit_probe"] == ["delete"]


def test_disabling_a_real_tables_trigger_is_caught(db: Session) -> None:
    db.execute(text("ALTER TABLE customer_party DISABLE TRIGGER audit_delete"))
    assert audit_coverage_gaps(db) == {"customer_party": ["delete"]}


def _an_audit_row(db: Session) -> int:
    user = service.create_user(db, username="yao", password="s3cret-pass", roles=["cashier"])
    db.flush()
    return _trail(db, "core_user", user.id)[0].id


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE core_audit_log SET actor = 'someone-else' WHERE id = :id",
        "DELETE FROM core_audit_log WHERE id = :id",
        "TRUNCATE core_audit_log",
    ],
    ids=["update", "delete", "truncate"],
)
def test_the_application_cannot_rewrite_the_audit_log(db: Session, statement: str) -> None:
    row_id = _an_audit_row(db)
    with pytest.raises(DBAPIError, match=r"append-only|permission denied"), db.begin_nested():
        db.execute(text(statement), {"id": row_id})
    assert db.get(AuditLog, row_id).actor == "anonymous"


def test_replica_mode_does_not_switch_the_protection_off(db: Session) -> None:
    if db.scalar(text("SELECT current_setting('is_superuser')")) != "on":
        pytest.skip("only a superuser can set session_replication_role")
    row_id = _an_audit_row(db)
    db.execute(text("SET LOCAL session_replication_role = replica"))
    with pytest.raises(DBAPIError, match="append-only"), db.begin_nested():
        db.execute(text("DELETE FROM core_audit_log WHERE id = :id"), {"id": row_id})
    assert db.get(AuditLog, row_id) is not None


def test_user_rows_are_read_back_with_their_roles(db: Session) -> None:
    user = service.create_user(db, username="ama", password="s3cret-pass", roles=["manager"])
    assert db.get(User, user.id).roles == ["manager"]


def test_a_declared_bulk_job_is_audited_as_one_summary_row_per_statement(db: Session) -> None:
    from core.audit import declare_bulk_job

    declare_bulk_job(db, "import-7")
    db.execute(
        text(
            "INSERT INTO core_agency (code, name) SELECT 'AG' || g, 'Agency ' || g"
            " FROM generate_series(1, 50) AS g"
        )
    )
    rows = db.scalars(select(AuditLog).where(AuditLog.table_name == "core_agency")).all()
    assert [(r.entity_key, r.action, r.after) for r in rows] == [
        ("import-7", "insert_bulk", {"rows": 50})
    ]


def test_a_bulk_audited_block_is_one_summary_row_and_row_by_row_resumes_after(
    db: Session,
) -> None:
    from core.audit import bulk_audited

    insert = (
        "INSERT INTO core_agency (code, name) SELECT :prefix || g, 'Agency ' || g"
        " FROM generate_series(1, :n) AS g"
    )
    with bulk_audited(db, "night-1"):
        db.execute(text(insert), {"prefix": "BA", "n": 40})
    db.execute(text(insert), {"prefix": "RB", "n": 2})
    rows = db.scalars(
        select(AuditLog).where(AuditLog.table_name == "core_agency").order_by(AuditLog.id)
    ).all()
    # 40 rows in the block: one summary; 2 after it: one audit row each.
    assert [(r.entity_key if r.action == "insert_bulk" else "row", r.action) for r in rows] == [
        ("night-1", "insert_bulk"),
        ("row", "insert"),
        ("row", "insert"),
    ]
    assert rows[0].after == {"rows": 40}
