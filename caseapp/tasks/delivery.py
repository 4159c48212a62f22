import logging

from celery import shared_task
from flask import current_app

from caseapp.extensions import db
from caseapp.services.casework import alerts
from caseapp.services.delivery import gateways
from caseapp.services.ops import metrics
from caseapp.services.referrals import sending

log = logging.getLogger(__name__)


@shared_task(name="caseapp.deliver", ignore_result=True)
def deliver(delivery_id: int, *also: int) -> str:
    """Send the hinted outbox rows that are still due, with other due rows when the queue is
    deep; a duplicate message finds its rows claimed. Returns the first row's outcome."""
    config = current_app.config["CASEAPP"]
    try:
        outcomes = sending.process_many(db.session, [delivery_id, *also], config,
                                        gateways.for_app(current_app))
    finally:
        db.session.remove()
    for row_id in (delivery_id, *also):
        outcomes.setdefault(row_id, "skipped")
    for row_id, outcome in outcomes.items():
        log.info("delivery", extra={"delivery_id": row_id, "outcome": outcome})
        metrics.record_delivery(outcome)
    return outcomes[delivery_id]


@shared_task(name="caseapp.sweep", ignore_result=True)
def sweep() -> int:
    """Beat's one periodic job: fire due reminders, recover stale leases, hand every due row
    to the workers again."""
    from caseapp.tasks.community import sweep_community
    from caseapp.tasks.reminders import sweep_reminders

    sweep_reminders()
    sweep_community()
    config = current_app.config["CASEAPP"]
    try:
        sent = sending.sweep(db.session, config)
        alerts.mail_pending(db.session, gateways.for_app(current_app).mail, config)
        return len(sent)
    finally:
        db.session.remove()
