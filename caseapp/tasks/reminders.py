import logging

from celery import shared_task
from flask import current_app

from caseapp.extensions import db
from caseapp.models import StaffNotice
from caseapp.models.types import utcnow
from caseapp.services import notices, notifier, reminders

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
        notices.enqueue(notices.due_ids(session, utcnow()))
    except Exception:
        session.rollback()
        log.exception("staff notice sweep failed")
    return counts


@shared_task(name="caseapp.notify_staff", ignore_result=True)
def notify_staff(notice_id: int) -> str:
    """E-mail one staff notice if it is still due; a duplicate message finds it claimed."""
    session = db.session
    notice = notices.claim(session, notice_id, utcnow())
    if notice is None:
        return "skipped"
    config = current_app.config["CASEAPP"]
    error = None
    try:
        notifier.current().send(notices.message(notice))
    except notifier.NotifyError as exc:
        error = exc
    except Exception as exc:  # a bug must not leave the notice leased forever
        log.exception("notice %s crashed", notice_id)
        error = notifier.NotifyError(f"{exc.__class__.__name__}: {exc}")
    notice = session.get(StaffNotice, notice_id)
    notices.finish(session, notice, error, retry_delays=config.retry_delays)
    return "sent" if error is None else "retry"
