"""0020 (the report rollup per municipality, with referral figures) goes down to 0014's one row
per month and up again, on both databases, with its triggers each way."""

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from caseapp import create_app
from caseapp.extensions import db
from tests.conftest import empty_database, make_config

ROLLUP = ("INSERT INTO report_month_rollups (municipality_id, month, dirty_seq, built_seq, "
          "referral_dirty_seq, referral_built_seq) VALUES (NULL, '2026-10', 1, 1, 1, 1)")


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request, tmp_path):
    with empty_database(request.param, tmp_path, "caseapp_m20") as url:
        yield url


def triggers() -> set[str]:
    if db.engine.dialect.name == "sqlite":
        query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
    else:
        query = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
    found = {name for name in db.session.scalars(sa.text(query)) if "report_rollup" in name}
    db.session.commit()  # SQLite: a reading session holds the write lock a migration needs
    return found


def columns() -> set[str]:
    found = {c["name"] for c in sa.inspect(db.engine).get_columns("report_month_rollups")}
    return found


def test_0020_downgrades_and_upgrades(fresh_url, tmp_path):
    app = create_app(make_config(fresh_url, tmp_path))
    with app.app_context():
        upgrade()
        sqlite = db.engine.dialect.name == "sqlite"
        after = triggers()
        if sqlite:
            assert {"report_rollup_referrals_upd", "report_rollup_referral_events_ins",
                    "report_rollup_consultations_ins", "report_rollup_district"} <= after
        else:
            assert {"report_rollup_referrals", "report_rollup_referral_events",
                    "report_rollup_consultations", "report_rollup_district"} <= after
        assert {"municipality_id", "referral_figures", "referral_dirty_seq"} <= columns()
        db.session.execute(sa.text(ROLLUP))
        db.session.commit()
        # One all-municipalities row a month, though NULLs are distinct in a unique constraint.
        with pytest.raises(sa.exc.IntegrityError):
            db.session.execute(sa.text(ROLLUP))
        db.session.rollback()

        downgrade(revision="0019")
        assert "municipality_id" not in columns()
        before = triggers()
        assert not any("referral" in name for name in before)
        assert ("report_rollup_consultations_upd" if sqlite
                else "report_rollup_consultations") in before
        db.session.execute(sa.text("INSERT INTO report_month_rollups (month, dirty_seq, "
                                   "built_seq) VALUES ('2026-10', 1, 1)"))
        db.session.commit()

        upgrade()
        assert triggers() == after
        db.engine.dispose()
