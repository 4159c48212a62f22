"""Beat's sweep, run by a real worker on a real broker, sends reminders to partners and staff."""

from datetime import datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from caseapp.extensions import db
from caseapp.models import Case, Delivery, Partner, Reminder, StaffNotice
from caseapp.models.types import utcnow
from caseapp.rules.calendar import TOKYO
from caseapp.services.casework import reminders
from caseapp.services.core import auth
from caseapp.services.core.actors import SYSTEM
from caseapp.services.referrals import lifecycle
from tests.helpers import wait_for
from tests.tasks.conftest import WorkerProcess, worker_env

# A Monday morning, counter open: what is due goes out now, not at the next opening.
MONDAY_MORNING = datetime(2026, 11, 30, 10, 0, tzinfo=TOKYO)

pytestmark = [pytest.mark.real_commits, pytest.mark.calendar]


def state(app, reminder_id):
    with app.app_context():
        reminder = db.session.get(Reminder, reminder_id)
        result = (reminder.status, [d.state for d in reminder.deliveries],
                  reminder.notice.state if reminder.notice else None)
        db.session.remove()
        return result


@time_machine.travel(MONDAY_MORNING)  # ticking; the worker starts on the same clock
def test_the_sweep_sends_due_reminders_through_the_worker(broker_app, database_url, broker,
                                                          worker_instance, seeded, smtp_server):
    controller, mailbox = smtp_server
    mailbox.clear()
    session = seeded
    owner, _ = auth.create_user(session, "owner", "counter", email="owner@counter.example.jp")
    partner = session.scalar(select(Partner).where(Partner.code == "houkatsu"))
    # Sent two weeks ago and never acknowledged; the case's next action was due yesterday.
    with time_machine.travel(utcnow() - timedelta(days=14), tick=False):
        case = Case(owner_id=owner.id, status="open",
                    next_action_at=utcnow() + timedelta(days=13))
        session.add(case)
        referral = lifecycle.create(session, SYSTEM, case=case, partner=partner,
                                    reason="高齢の方の生活相談", method="intro_letter",
                                    urgency="normal", basis="consent")
        session.flush()
        lifecycle.move(referral, "sent", SYSTEM)
        reminders.on_case_change(session, case)
        session.commit()
    ack = session.scalar(select(Reminder).where(Reminder.kind == "partner_ack"))
    nudge = session.scalar(select(Reminder).where(Reminder.kind == "case_next_action"))
    session.commit()

    env = worker_env(database_url, broker, worker_instance)
    env.update(SMTP_HOST="127.0.0.1", SMTP_PORT=str(controller.port),
               SMTP_FROM="caseapp@counter.example.jp")
    worker = WorkerProcess(env).start()
    try:
        with broker_app.app_context():
            broker_app.extensions["celery"].send_task("caseapp.sweep")
        # The partner's reminder goes out through the outbox (the inbox channel here) ...
        wait_for(lambda: state(broker_app, ack.id) == ("sent", ["delivered"], None))
        # ... and the owner's through the staff e-mail outbox.
        wait_for(lambda: state(broker_app, nudge.id) == ("sent", [], "sent"))
        wait_for(lambda: len(mailbox.messages) == 1)
    finally:
        worker.stop()
    recipients, message = mailbox.recipients[0], mailbox.messages[0]
    assert recipients == ["owner@counter.example.jp"]
    assert message["Message-ID"].startswith("<ntc_")
    with broker_app.app_context():
        notice = db.session.scalar(select(StaffNotice))
        assert message["Message-ID"] == f"<{notice.message_id}@caseapp>"
        assert db.session.scalar(select(Delivery).where(Delivery.reminder_id == ack.id)
                                 ).event_type == "referral.reminder"
        db.session.remove()
