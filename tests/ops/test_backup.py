"""Backups taken while the service runs restore into an empty database with every row, a
verifiable audit chain, and the referrals that were waiting still delivered afterwards."""

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from caseapp import create_app
from caseapp.extensions import db
from caseapp.models import Case, Consultation, Delivery, Referral
from caseapp.models.types import utcnow
from caseapp.services.core import audit
from caseapp.services.delivery import gateways, outbox
from caseapp.services.referrals import sending
from caseapp.tasks.delivery import deliver
from tests.conftest import Api, make_config, scratch_postgres
from tests.helpers import EXAMPLE
from tests.services.delivery.helpers import CONSENT, ELDER, hook, recording

pytestmark = pytest.mark.real_commits  # pg_dump and a second app read what the test committed


@pytest.fixture
def empty_database(backend, tmp_path):
    """A second, empty database of the same kind to restore into."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    with scratch_postgres("caseapp_restore") as url:
        yield url


def invoke(app, *args):
    """Run a CLI command against ``app`` (the session fixture holds the other app's context)."""
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args))


def counts() -> dict[str, int]:
    found = {t.name: db.session.scalar(select(func.count()).select_from(t))
             for t in db.metadata.sorted_tables}
    db.session.commit()
    return found


@pytest.fixture
def restored(empty_database, tmp_path):
    made = create_app(make_config(empty_database, tmp_path / "restored-instance"))
    yield made
    with made.app_context():
        db.session.remove()
        db.engine.dispose()


def test_restore_into_an_empty_database_keeps_every_row_and_delivers_what_waited(
        app, api, session, tmp_path, restored, monkeypatch):
    hook(session, "houkatsu", "https://houkatsu.example/hook")
    for body in (EXAMPLE, {**ELDER, "consent": CONSENT}):
        assert api.post("/api/v1/consultations", json=body).status_code == 201
    assert api.get("/api/v1/clients", query_string={"q": "山田"}).status_code == 200
    waiting = session.scalars(select(Referral.id).where(Referral.status == "requested")).all()
    assert waiting
    before = counts()
    file = tmp_path / "caseapp.backup"

    made = app.test_cli_runner().invoke(args=["backup", str(file)])
    assert made.exit_code == 0, made.output
    assert file.stat().st_mode & 0o077 == 0  # personal data: readable by its owner only

    done = invoke(restored, "restore", str(file))
    assert done.exit_code == 0, done.output
    verified = invoke(restored, "audit", "verify")
    assert verified.exit_code == 0 and "intact" in verified.output, verified.output
    # Restoring twice would double everything: a database that has tables is refused.
    again = invoke(restored, "restore", str(file))
    assert again.exit_code != 0 and "empty" in again.output

    recorder = recording()
    with restored.app_context():
        assert counts() == before
        gateways.install(restored, recorder)
        handed = []
        monkeypatch.setattr(outbox, "enqueue", lambda ids: handed.extend(ids) or ids)
        sending.sweep(db.session, restored.config["CASEAPP"],
                     now=utcnow() + timedelta(minutes=10))
        assert handed
        for delivery_id in handed:
            deliver(delivery_id)
        statuses = dict(db.session.execute(select(Referral.id, Referral.status)
                                           .where(Referral.id.in_(waiting))).all())
        db.session.remove()
    assert set(statuses.values()) == {"sent"}, statuses
    assert any(b"houkatsu" in request.body for request in recorder.webhook.sent)


def test_a_backup_taken_under_load_is_consistent(app, api, session, tmp_path, restored):
    stop = threading.Event()
    made_during: list[int] = []

    def load():
        with app.app_context():
            client = Api(app.test_client(), api.token)
            while not stop.is_set() and len(made_during) < 200:
                response = client.post("/api/v1/consultations", json=EXAMPLE)
                assert response.status_code == 201, response.json
                made_during.append(response.json["id"])

    thread = threading.Thread(target=load)
    thread.start()
    try:
        while len(made_during) < 3:
            thread.join(0.05)
            assert thread.is_alive() or len(made_during) >= 3
        file = tmp_path / "under-load.backup"
        made = app.test_cli_runner().invoke(args=["backup", str(file)])
        assert made.exit_code == 0, made.output
    finally:
        stop.set()
        thread.join(60)
    assert len(made_during) >= 3

    done = invoke(restored, "restore", str(file))
    assert done.exit_code == 0, done.output
    assert invoke(restored, "audit", "verify").exit_code == 0
    with restored.app_context():
        got = db.session.scalar(select(func.count()).select_from(Consultation))
        assert 1 <= got <= len(made_during)
        # One snapshot: every consultation has its case and routing, every requested
        # referral its outbox rows.
        orphans = db.session.scalar(select(func.count()).select_from(Consultation).where(
            ~sa.exists().where(Case.id == Consultation.case_id)))
        assert orphans == 0
        bare = db.session.scalar(select(func.count()).select_from(Referral).where(
            Referral.status == "requested",
            ~sa.exists().where(Delivery.referral_id == Referral.id)))
        assert bare == 0
        checked, broken = audit.verify(db.session)
        assert broken is None and checked > 0
        db.session.remove()


def test_a_file_of_the_wrong_kind_is_refused(app, session, tmp_path, restored):
    file = tmp_path / "not-a-backup"
    file.write_bytes(b"hello")
    done = invoke(restored, "restore", str(file))
    assert done.exit_code != 0 and "not" in done.output
