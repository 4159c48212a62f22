"""0019 on a database with data: the rows there become Nankoku's, the report triggers survive,
PostgreSQL gets its row-level security, and the way back keeps every row."""

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from caseapp.extensions import db
from tests.conftest import delete_rows, truncate_tables

ROWS = [
    "INSERT INTO users (id, name, role, active, created_at) "
    "VALUES (901, 'old-counter', 'counter', true, '2026-01-01 00:00:00+00')",
    "INSERT INTO partners (id, code, name, kind, description, service_area, ack_sla_days, "
    "active, created_at, updated_at) VALUES (901, 'oldp', '旧機関', 'legal', '', '', 3, true, "
    "'2026-01-01 00:00:00+00', '2026-01-01 00:00:00+00')",
    "INSERT INTO clients (id, name, search_key, created_at, updated_at) "
    "VALUES (901, '山田 太郎', '山田太郎', '2026-01-01 00:00:00+00', '2026-01-01 00:00:00+00')",
    "INSERT INTO rule_sets (id, version, source, created_at) "
    "VALUES (901, 1, '{}', '2026-01-01 00:00:00+00')",
]


def test_existing_rows_become_nankokus_and_the_way_back_keeps_them(app):
    with app.app_context():
        postgres = db.engine.dialect.name == "postgresql"
        # Rows an earlier test left would collide with these ids.
        truncate_tables() if postgres else delete_rows()
        try:
            downgrade(revision="0012")
            for statement in ROWS:
                db.session.execute(sa.text(statement))
            db.session.commit()
            upgrade()
            nankoku = db.session.execute(sa.text(
                "SELECT id FROM areas WHERE code = '392049'")).scalar()
            assert nankoku is not None
            assert db.session.execute(sa.text(
                "SELECT municipality_id FROM users WHERE id = 901")).scalar() == nankoku
            assert db.session.execute(sa.text(
                "SELECT municipality_id FROM clients WHERE id = 901")).scalar() == nankoku
            assert db.session.execute(sa.text(
                "SELECT area_id FROM partners WHERE id = 901")).scalar() == nankoku
            if postgres:
                policies = db.session.execute(sa.text(
                    "SELECT count(*) FROM pg_policies WHERE policyname = "
                    "'municipality_boundary'")).scalar()
                assert policies == 7
            else:
                triggers = set(db.session.scalars(sa.text(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger'")))
                assert {"report_rollup_clients_ins", "report_rollup_district"} <= triggers
            db.session.commit()
            downgrade(revision="0012")
            assert db.session.execute(sa.text("SELECT name FROM clients WHERE id = 901")) \
                .scalar() == "山田 太郎"
            if not postgres:
                triggers = set(db.session.scalars(sa.text(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger'")))
                assert {"report_rollup_consultations_upd", "report_rollup_district"} <= triggers
            db.session.commit()
        finally:
            db.session.rollback()
            upgrade()  # whatever failed, the next test finds the schema at the head
            truncate_tables() if postgres else delete_rows()
            db.session.remove()
