import logging

from celery import shared_task
from flask import current_app

from caseapp.extensions import db
from caseapp.models import Delivery
from caseapp.models.types import utcnow
from caseapp.services import gateways, outbox

log = logging.getLogger(__name__)


@shared_task(name="caseapp.deliver", ignore_result=True)
def deliver(delivery_id: int) -> str:
    """Send one outbox row if it is still due; a duplicate message finds it claimed and stops."""
    session = db.session
    started = utcnow()
    delivery = outbox.claim(session, delivery_id, started)
    if delivery is None:
        return "skipped"
    config = current_app.config["CASEAPP"]
    try:
        result = gateways.send(session, delivery, config)
    except Exception as exc:  # a bug in one channel must not leave the row leased forever
        log.exception("delivery %s crashed", delivery_id)
        result = outbox.SendResult(ok=False, error=f"{exc.__class__.__name__}: {exc}")
    delivery = session.get(Delivery, delivery_id)
    outbox.finish(session, delivery, result, started=started, retry_delays=config.retry_delays)
    return "delivered" if result.ok else "retry"


@shared_task(name="caseapp.sweep", ignore_result=True)
def sweep() -> int:
    """Beat's one periodic job: fire due reminders, then hand every due row to the workers."""
    from caseapp.tasks.reminders import sweep_reminders

    sweep_reminders()
    ids = outbox.due_ids(db.session, utcnow())
    outbox.enqueue(ids)
    return len(ids)
