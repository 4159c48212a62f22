from celery import shared_task

from caseapp.extensions import db
from caseapp.services.reports import rollup


@shared_task(name="caseapp.report_rollup", ignore_result=True)
def report_rollup() -> int:
    """Beat: build the rollup of every closed month that is missing or was touched since."""
    try:
        return rollup.refresh(db.session)["built"]
    finally:
        db.session.remove()
