"""The staff e-mail outbox: reminder notices, claimed, sent and retried like deliveries.

The rows, their claim and their retry schedule are caseapp.services.delivery.outbox; a notice
reaches the broker when the transaction that wrote it commits, and the sweep hands any due
notice to it again.
"""

import logging
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from caseapp.domain.vocab import DeliveryState
from caseapp.models import StaffNotice
from caseapp.models.types import utcnow
from caseapp.services.delivery import outbox
from caseapp.services.delivery.notifier import Notifier, NotifyError, StaffMessage

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=90)  # longer than the 30 s SMTP timeout plus bookkeeping
SWEEP_BATCH = outbox.SWEEP_BATCH


def enqueue(notice_ids: list[int]) -> list[int]:
    """Hint the workers; the sweep finds any notice whose message was lost."""
    return outbox.hint(outbox.NOTIFY_TASK, notice_ids)


def claim(session: Session, notice_id: int, now: datetime) -> StaffNotice | None:
    return outbox.claim(session, notice_id, now, LEASE.total_seconds(), model=StaffNotice)


def message(notice: StaffNotice) -> StaffMessage:
    return StaffMessage(to=tuple(notice.recipients), subject=notice.subject, body=notice.body,
                        message_id=notice.message_id)


def finish(session: Session, notice: StaffNotice, error: NotifyError | None, *,
           retry_delays: tuple[int, ...], now: datetime | None = None) -> None:
    now = now or utcnow()
    if error is None:
        notice.state, notice.sent_at = DeliveryState.SENT, now
        notice.leased_until = notice.last_error = None
    else:
        outbox.after_failure(notice, str(error), permanent=error.permanent, delays=retry_delays,
                             now=now)
    session.commit()


def due_ids(session: Session, now: datetime, limit: int = SWEEP_BATCH) -> list[int]:
    """Notices to hand to a worker: due and pending, or in flight past their lease."""
    session.execute(update(StaffNotice)
                    .where(StaffNotice.state == DeliveryState.IN_FLIGHT,
                           StaffNotice.leased_until < now)
                    .values(state=DeliveryState.PENDING, leased_until=None)
                    .execution_options(synchronize_session=False))
    return outbox.due_ids(session, StaffNotice, now, limit)


def send(session: Session, notice_id: int, sender: Notifier, *,
         retry_delays: tuple[int, ...]) -> str:
    """Claim one notice, hand it to ``sender`` and record the outcome (the worker's task)."""
    notice = claim(session, notice_id, utcnow())
    if notice is None:
        return "skipped"
    error = None
    try:
        sender.send(message(notice))
    except NotifyError as exc:
        error = exc
    except Exception as exc:  # a bug must not leave the notice leased forever
        log.exception("notice %s crashed", notice_id)
        error = NotifyError(f"{exc.__class__.__name__}: {exc}")
    finish(session, session.get(StaffNotice, notice_id), error, retry_delays=retry_delays)
    return "sent" if error is None else "retry"
