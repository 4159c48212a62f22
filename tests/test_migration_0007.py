"""Upgrading a database that already holds clients indexes them for search; downgrade works."""

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from caseapp import create_app
from caseapp.extensions import db
from tests.conftest import make_config


def test_existing_clients_are_indexed_by_the_upgrade(tmp_path):
    app = create_app(make_config(f"sqlite:///{tmp_path / 'old.sqlite3'}", tmp_path))
    with app.app_context():
        upgrade(revision="0001")
        db.session.execute(sa.text(
            "INSERT INTO clients (id, name, name_kana, search_key, kana_key, created_at, "
            "updated_at) VALUES (7, '山田 太郎', 'ヤマダ タロウ', '山田太郎', 'ヤマダタロウ', "
            "'2026-01-01 00:00:00', '2026-01-01 00:00:00')"))
        db.session.commit()
        upgrade()
        grams = set(db.session.scalars(sa.text(
            "SELECT bigram FROM client_bigrams WHERE client_id = 7")))
        assert {"山田", "太郎", "田太", "ヤマ", "ロウ", "山", "ウ"} <= grams
        assert len(grams) == 4 + 3 + 6 + 5  # distinct characters and pairs of both keys

        from caseapp.services.clients import records
        from caseapp.services.core.actors import SYSTEM

        page = records.search(db.session, SYSTEM, "山田", 1, 10)
        assert [hit.id for hit in page.items] == [7]
        db.session.rollback()

        downgrade(revision="0001")
        tables = sa.inspect(db.engine).get_table_names()
        assert "client_bigrams" not in tables and "households" not in tables
        db.session.remove()
        db.engine.dispose()
