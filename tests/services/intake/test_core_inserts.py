"""The intake's Core inserts leave out columns that are NULL in every row, and nothing else."""

from sqlalchemy import event, select

from caseapp.extensions import db
from caseapp.models import Partner, Referral
from caseapp.services.intake.consultations import _Table
from tests.helpers import EXAMPLE


def test_only_columns_null_in_every_row_and_without_a_server_default_are_left_out():
    table = _Table.of(Referral)
    rows = [table.complete({"reason": "a", "outcome": None, "sent_at": None}),
            table.complete({"reason": "b", "outcome": "x", "sent_at": None})]
    written = table.written(rows)
    assert all("sent_at" not in row and "handled_note" not in row for row in written)
    assert [row["outcome"] for row in written] == [None, "x"]  # set in one row: kept in all
    assert [row["reason"] for row in written] == ["a", "b"]
    # A NULL written on purpose over a server default is not the same as leaving it out.
    partner = _Table.of(Partner)
    assert "layer" in partner.written([partner.complete({"code": "c", "layer": None})])[0]


def test_an_intakes_referrals_insert_names_only_what_it_writes_and_reads_back_the_same(
        app, api, session):
    statements = []

    def seen(_conn, _cursor, statement, parameters, _context, _many):
        if statement.startswith("INSERT INTO referrals"):
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        created = api.post("/api/v1/consultations", json=EXAMPLE)
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert created.status_code == 201
    referrals = session.scalars(select(Referral).where(
        Referral.consultation_id == created.json["id"])).all()
    # One multi-row statement on PostgreSQL; SQLite returns ordered ids only row by row.
    assert len(referrals) >= 2 and len(statements) in (1, len(referrals))
    for statement in statements:
        columns = statement.split("(", 1)[1].split(")", 1)[0]
        assert "sent_at" not in columns and "handled_note" not in columns
        assert "partner_id" in columns and "ack_due_at" in columns
    assert all(r.sent_at is None and r.handled_note is None and r.ack_due_at for r in referrals)
    answered = {r["id"]: r for r in created.json["referrals"]}
    assert {r.id: r.status for r in referrals} == {i: r["status"] for i, r in answered.items()}
