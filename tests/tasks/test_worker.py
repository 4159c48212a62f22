"""Tasks go through a real worker process on a real broker (Redis, and the embedded one)."""

import pytest
from sqlalchemy import select

from caseapp.extensions import db
from caseapp.models import Delivery, Referral
from tests.conftest import Api
from tests.helpers import EXAMPLE, wait_for

pytestmark = pytest.mark.real_commits  # the worker process reads what the test committed


def referral_statuses(app, consultation_id):
    with app.app_context():
        rows = db.session.scalars(select(Referral).where(
            Referral.consultation_id == consultation_id)).all()
        statuses = {r.partner.code: r.status for r in rows}
        db.session.remove()
        return statuses


def test_an_intake_is_delivered_by_the_worker(broker_app, worker, tokens):
    api = Api(broker_app.test_client(), tokens["counter"])
    created = api.post("/api/v1/consultations", json=EXAMPLE)
    assert created.status_code == 201, created.json
    assert {r["status"] for r in created.json["referrals"]} == {"requested"}
    statuses = wait_for(lambda: (s := referral_statuses(broker_app, created.json["id"]))
                        and set(s.values()) == {"sent"} and s)
    assert "houkatsu" in statuses
    with broker_app.app_context():
        deliveries = db.session.scalars(select(Delivery)).all()
        assert deliveries and all(d.state == "delivered" and d.attempts == 1 for d in deliveries)
        assert all(len(d.attempt_rows) == 1 for d in deliveries)
        db.session.remove()


def test_the_sweeper_delivers_what_was_never_enqueued(broker_app, worker, tokens, monkeypatch):
    from caseapp.services.delivery import outbox

    # A crash between commit and enqueue: the rows are committed, no message is ever sent.
    monkeypatch.setattr(outbox, "enqueue", lambda ids: None)
    api = Api(broker_app.test_client(), tokens["counter"])
    created = api.post("/api/v1/consultations", json=EXAMPLE).json
    assert set(referral_statuses(broker_app, created["id"]).values()) == {"requested"}
    monkeypatch.undo()
    with broker_app.app_context():
        celery = broker_app.extensions["celery"]
        celery.send_task("caseapp.sweep")
    wait_for(lambda: set(referral_statuses(broker_app, created["id"]).values()) == {"sent"})
