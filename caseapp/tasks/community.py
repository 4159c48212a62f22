import logging

from flask import current_app

from caseapp.extensions import db
from caseapp.models.types import utcnow
from caseapp.services.community import queue

log = logging.getLogger(__name__)


def sweep_community() -> dict[str, int]:
    """Open the coordinator's next actions that are due; part of beat's one sweep."""
    try:
        return queue.sweep(db.session, utcnow(), config=current_app.config["CASEAPP"])
    except Exception:  # the delivery sweep must run even if this part fails
        db.session.rollback()
        log.exception("community sweep failed")
        return {"error": 1}
