"""The staff e-mail outbox: reminder notices claimed, sent and retried like deliveries."""

import logging
import random
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from caseapp.models import StaffNotice
from caseapp.models.types import utcnow
from caseapp.services.delivery.notifier import Notifier, NotifyError, StaffMessage

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=90)  # longer than the 30 s SMTP timeout plus bookkeeping
SWEEP_BATCH = 500


def enqueue(notice_ids: list[int]) -> None:
    """Hint the workers; the sweep finds any notice whose message was lost."""
    celery = current_app.extensions["celery"]
    for notice_id in notice_ids:
        try:
            celery.send_task("caseapp.notify_staff", args=(notice_id,), retry=False)
        except Exception as exc:
            log.warning("could not enqueue notice %s (%s); the sweeper will send it",
                        notice_id, exc.__class__.__name__)


def claim(session: Session, notice_id: int, now: datetime) -> StaffNotice | None:
    result = session.execute(
        update(StaffNotice)
        .where(StaffNotice.id == notice_id, StaffNotice.state == "pending",
               StaffNotice.next_attempt_at <= now)
        .values(state="in_flight", leased_until=now + LEASE,
                attempts=StaffNotice.attempts + 1)
        .execution_options(synchronize_session=False))
    session.commit()
    if result.rowcount != 1:
        return None
    return session.get(StaffNotice, notice_id, populate_existing=True)


def message(notice: StaffNotice) -> StaffMessage:
    return StaffMessage(to=tuple(notice.recipients), subject=notice.subject, body=notice.body,
                        message_id=notice.message_id)


def finish(session: Session, notice: StaffNotice, error: NotifyError | None, *,
           retry_delays: tuple[int, ...], now: datetime | None = None) -> None:
    now = now or utcnow()
    notice.leased_until = None
    if error is None:
        notice.state, notice.sent_at, notice.last_error = "sent", now, None
    elif error.permanent or notice.attempts > len(retry_delays):
        notice.state, notice.last_error = "failed", str(error)
    else:
        delay = retry_delays[notice.attempts - 1] * random.uniform(0.8, 1.2)
        notice.state, notice.last_error = "pending", str(error)
        notice.next_attempt_at = now + timedelta(seconds=delay)
    session.commit()


def due_ids(session: Session, now: datetime, limit: int = SWEEP_BATCH) -> list[int]:
    """Notices to hand to a worker: due and pending, or in flight past their lease."""
    session.execute(update(StaffNotice)
                    .where(StaffNotice.state == "in_flight", StaffNotice.leased_until < now)
                    .values(state="pending", leased_until=None)
                    .execution_options(synchronize_session=False))
    ids = list(session.scalars(
        select(StaffNotice.id)
        .where(StaffNotice.state == "pending", StaffNotice.next_attempt_at <= now)
        .order_by(StaffNotice.next_attempt_at).limit(limit)))
    session.commit()
    return ids


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
