import logging

from celery import shared_task
from flask import current_app

from caseapp.extensions import db
from caseapp.models.types import utcnow
from caseapp.services.casework import reminders
from caseapp.services.delivery import notices, notifier

log = logging.getLogger(__name__)


def sweep_reminders() -> dict[str, int]:
    """Fire due reminders, then hand due staff notices to the workers.

    Called from beat's one sweep; the partner reminders it writes are ordinary outbox rows,
    which the delivery part of the same sweep picks up.
    """
    session = db.session
    try:
        counts = reminders.sweep(session, utcnow())
    except Exception:  # the delivery sweep must run even if this part fails
        session.rollback()
        log.exception("reminder sweep failed")
        counts = {"error": 1}
    try:
        notices.enqueue(notices.due_ids(session, utcnow()))  # the sweeper's re-hand-over
    except Exception:
        session.rollback()
        log.exception("staff notice sweep failed")
    return counts


@shared_task(name="caseapp.notify_staff", ignore_result=True)
def notify_staff(notice_id: int) -> str:
    """E-mail one staff notice if it is still due; a duplicate message finds it claimed."""
    config = current_app.config["CASEAPP"]
    return notices.send(db.session, notice_id, notifier.current(),
                        retry_delays=config.retry_delays)
