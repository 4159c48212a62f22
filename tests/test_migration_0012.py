"""0012 (emergencies, life-safety reviews, partner layers) goes down and up again, on both
databases, and leaves the report triggers of earlier revisions in place."""


import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from caseapp import create_app
from caseapp.extensions import db
from tests.conftest import empty_database, make_config


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request, tmp_path):
    with empty_database(request.param, tmp_path, "caseapp_m12") as url:
        yield url


def triggers() -> set[str]:
    if db.engine.dialect.name == "sqlite":
        query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
    else:
        query = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
    found = set(db.session.scalars(sa.text(query)))
    db.session.commit()  # SQLite: a reading session holds the write lock a migration needs
    return found


def test_0012_downgrades_and_upgrades(fresh_url, tmp_path):
    app = create_app(make_config(fresh_url, tmp_path))
    with app.app_context():
        upgrade(revision="0013")
        before = triggers()
        db.session.execute(sa.text(
            "INSERT INTO partners (code, name, kind, description, service_area, ack_sla_days, "
            "active, created_at, updated_at) VALUES ('x', 'X', 'k', '', '', 3, true, "
            "'2026-01-01 00:00:00+00', '2026-01-01 00:00:00+00')"))
        db.session.commit()
        upgrade(revision="0012")
        assert db.session.scalar(sa.text("SELECT layer FROM partners WHERE code = 'x'")) \
            == "municipality"
        db.session.commit()
        downgrade(revision="0013")
        names = set(sa.inspect(db.engine).get_table_names())
        assert "emergencies" not in names and "safety_reviews" not in names
        assert "layer" not in {c["name"] for c in sa.inspect(db.engine).get_columns("partners")}
        assert triggers() == before
        upgrade()
        assert {"emergencies", "safety_reviews"} <= set(sa.inspect(db.engine).get_table_names())
        db.session.remove()
        db.engine.dispose()
