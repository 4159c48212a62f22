"""The delivery outbox: the database is the record, Celery only carries hints.

A delivery row is claimed with a conditional UPDATE before anything is sent, so any number of
workers, duplicate task messages or sweeps send it once; a crash mid-send leaves a lease that
expires and the row is tried again with the same message id.
"""

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from caseapp.models import Delivery, DeliveryAttempt, Referral
from caseapp.models.types import utcnow
from caseapp.services import referrals
from caseapp.services.actors import SYSTEM

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=90)  # longer than the 30 s send timeout plus bookkeeping
SWEEP_BATCH = 500


@dataclass(frozen=True)
class SendResult:
    ok: bool
    status_code: int | None = None
    error: str | None = None
    retry_after: float | None = None
    permanent: bool = False


def enqueue(delivery_ids: list[int]) -> None:
    """Hint the workers after commit; if the broker is down the sweeper finds the rows anyway."""
    if not delivery_ids:
        return
    celery = current_app.extensions["celery"]
    for delivery_id in delivery_ids:
        try:
            celery.send_task("caseapp.deliver", args=(delivery_id,), retry=False)
        except Exception as exc:  # the broker is only a hint; never fail the request for it
            log.warning("could not enqueue delivery %s (%s); the sweeper will send it",
                        delivery_id, exc.__class__.__name__)


def claim(session: Session, delivery_id: int, now: datetime) -> Delivery | None:
    result = session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, Delivery.state == "pending",
               Delivery.next_attempt_at <= now)
        .values(state="in_flight", leased_until=now + LEASE, attempts=Delivery.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    if result.rowcount != 1:
        return None
    return session.get(Delivery, delivery_id, populate_existing=True)


def finish(session: Session, delivery: Delivery, result: SendResult, *, started: datetime,
           retry_delays: tuple[int, ...], now: datetime | None = None) -> None:
    now = now or utcnow()
    session.add(DeliveryAttempt(
        delivery_id=delivery.id, at=started, succeeded=result.ok,
        duration_ms=int((now - started).total_seconds() * 1000),
        status_code=result.status_code, error=result.error))
    referral = session.get(Referral, delivery.referral_id)
    delivery.leased_until = None
    if result.ok:
        delivery.state, delivery.delivered_at, delivery.last_error = "delivered", now, None
        if referral.status == "requested":
            referrals.move(referral, "sent", SYSTEM, note=f"delivered via {delivery.channel}")
    elif result.permanent or delivery.attempts > len(retry_delays):
        delivery.state, delivery.last_error = "failed", result.error
        _maybe_fail_referral(referral)
    else:
        delay = retry_delays[delivery.attempts - 1]
        # Jitter spreads the retries of a partner that was down for everyone at once.
        delay = max(delay * random.uniform(0.8, 1.2), result.retry_after or 0)
        delivery.state, delivery.last_error = "pending", result.error
        delivery.next_attempt_at = now + timedelta(seconds=delay)
    session.commit()


def _maybe_fail_referral(referral: Referral) -> None:
    states = {d.state for d in referral.deliveries}
    if referral.status == "requested" and states <= {"failed", "cancelled"}:
        referrals.move(referral, "failed", SYSTEM, note="all delivery channels exhausted")


def due_ids(session: Session, now: datetime, limit: int = SWEEP_BATCH) -> list[int]:
    """Deliveries a worker should look at: due and pending, or in flight past their lease."""
    expired = (update(Delivery)
               .where(Delivery.state == "in_flight", Delivery.leased_until < now)
               .values(state="pending", leased_until=None)
               .execution_options(synchronize_session=False))
    session.execute(expired)
    query = (select(Delivery.id)
             .where(Delivery.state == "pending", Delivery.next_attempt_at <= now)
             .order_by(Delivery.next_attempt_at).limit(limit))
    ids = list(session.scalars(query))
    session.commit()
    return ids
