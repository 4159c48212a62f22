"""Console tests run on an app with a few probe pages, so access rules are tested as declared.

The probe pages use the same declarations as the real ones; the app is otherwise the one
``create_app`` makes, on the same databases as every other test.
"""

import pytest
from flask import g

from caseapp import create_app
from caseapp.extensions import db
from caseapp.permissions import Permission
from caseapp.web.access import console_blueprint, staff
from tests.conftest import make_config, truncate_tables
from tests.web.console import Console, make_people


def _probe_pages():
    bp = console_blueprint("probe", __name__, url_prefix="/probe")

    @bp.route("/staff", methods=["GET", "POST"])
    @staff()
    def staff_page():
        return f"staff page for {g.actor.name}"

    @bp.route("/audit")
    @staff(Permission.AUDIT_READ)
    def supervisor_page():
        return "supervisor page"

    @bp.route("/undeclared")
    def undeclared():
        return "should never be served"

    return bp


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    from flask_migrate import upgrade

    app = create_app(make_config(database_url, tmp_path_factory.mktemp("instance")))
    app.register_blueprint(_probe_pages())
    with app.app_context():
        upgrade()
        if db.engine.dialect.name == "postgresql":
            truncate_tables()
    return app


@pytest.fixture
def people(seeded):
    return make_people(seeded)


@pytest.fixture
def console(app, people):
    return Console(app.test_client())
