"""The audit log: chained, append-only, and a tampered row is named."""

import pytest
import sqlalchemy as sa
from flask import current_app
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from caseapp.models import AuditEntry
from caseapp.services.core import audit
from caseapp.services.core.actors import Actor
from tests.helpers import EXAMPLE

STAFF = Actor(user_id=None, name="tester", role="counter", source_ip="127.0.0.1")


def test_entries_are_chained_in_order(session):
    for n in range(3):
        audit.record(session, STAFF, "read", "client", n)
        session.commit()
    rows = list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    assert rows[0].prev_hash == audit.GENESIS
    assert [r.prev_hash for r in rows[1:]] == [r.hash for r in rows[:-1]]
    assert audit.verify(session) == (3, None)


def test_a_rolled_back_access_leaves_no_audit_row(session):
    audit.record(session, STAFF, "read", "client", 1)
    session.rollback()
    session.commit()
    assert session.scalars(select(AuditEntry)).all() == []


def test_intake_through_the_api_keeps_the_chain_valid(api, session):
    api.post("/api/v1/consultations", json=EXAMPLE)
    api.get("/api/v1/clients/1")
    checked, broken = audit.verify(session)
    assert checked >= 3 and broken is None


def _tamper(session, entry_id: int) -> None:
    change = text("UPDATE audit_entries SET resource_id = '999' WHERE id = :id")
    if session.get_bind().dialect.name != "postgresql":
        session.execute(change, {"id": entry_id})
        session.commit()
        return
    # The application's role may not switch the trigger off: it owns nothing.
    with pytest.raises(DBAPIError, match="owner"):
        session.execute(text("ALTER TABLE audit_entries DISABLE TRIGGER "
                             "audit_entries_append_only"))
    session.rollback()
    # An attacker with the table owner's rights can; the chain still shows what was changed.
    owner = sa.create_engine(current_app.config["CASEAPP"].migration_database_url,
                             poolclass=sa.pool.NullPool)
    with owner.begin() as conn:
        conn.execute(text("ALTER TABLE audit_entries DISABLE TRIGGER audit_entries_append_only"))
        conn.execute(change, {"id": entry_id})
        conn.execute(text("ALTER TABLE audit_entries ENABLE TRIGGER audit_entries_append_only"))


@pytest.mark.real_commits  # the owner tampers on a connection of its own
def test_tampering_with_one_row_is_detected_at_that_row(session):
    for n in range(5):
        audit.record(session, STAFF, "read", "client", n)
    session.commit()
    third = session.scalars(select(AuditEntry.id).order_by(AuditEntry.id)).all()[2]
    _tamper(session, third)
    session.expunge_all()
    assert audit.verify(session) == (2, third)


@pytest.mark.real_commits
def test_verify_cli_names_the_first_broken_row(app, session):
    for n in range(3):
        audit.record(session, STAFF, "read", "client", n)
    session.commit()
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["audit", "verify"])
    assert ok.exit_code == 0 and "3 entries" in ok.output
    second = session.scalars(select(AuditEntry.id).order_by(AuditEntry.id)).all()[1]
    _tamper(session, second)
    session.expunge_all()
    broken = runner.invoke(args=["audit", "verify"])
    assert broken.exit_code == 1 and f"entry {second}" in broken.output


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_postgresql_refuses_updates_and_deletes(session):
    audit.record(session, STAFF, "read", "client", 1)
    session.commit()
    for statement in ("UPDATE audit_entries SET outcome = 'x'", "DELETE FROM audit_entries"):
        with pytest.raises(DBAPIError, match="append-only"):
            session.execute(text(statement))
        session.rollback()
