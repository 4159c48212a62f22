import logging

from celery import shared_task
from flask import current_app

from caseapp.extensions import db
from caseapp.services.rights import retention

log = logging.getLogger(__name__)


@shared_task(name="caseapp.retention", ignore_result=True)
def run_retention() -> int:
    """Beat's daily job: anonymise persons past retention, a batch at a time (idempotent)."""
    config = current_app.config["CASEAPP"]
    try:
        result = retention.run(db.session, config.retention_years)
        log.info("retention run", extra={"anonymised": len(result.anonymised),
                                         "eligible": len(result.candidates)})
        return len(result.anonymised)
    finally:
        db.session.remove()
