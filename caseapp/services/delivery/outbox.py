"""The delivery outbox: the database is the record, Celery only carries hints.

A delivery row is claimed before anything is sent (PostgreSQL: ``FOR UPDATE SKIP LOCKED``;
SQLite: a compare-and-set UPDATE), so any number of workers, duplicate task messages or sweeps
send it once; a crash mid-send leaves a lease that expires, and the row is tried again with the
same message id. No transaction is open while a channel talks to the network: on SQLite that
would hold the database's one write lock for up to the send timeout.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import or_, select, text, update
from sqlalchemy.orm import Session, joinedload

from caseapp.config import Config
from caseapp.models import (
    Case,
    Consultation,
    Delivery,
    DeliveryAttempt,
    Disclosure,
    Referral,
    User,
)
from caseapp.models.referrals import OPEN_STATUSES
from caseapp.models.types import utcnow
from caseapp.services.casework import alerts
from caseapp.services.core import audit
from caseapp.services.core.actors import SYSTEM
from caseapp.services.delivery import messages
from caseapp.services.delivery.gateways import Gateways, MailRequest, SendResult, WebhookRequest
from caseapp.services.legal import consents
from caseapp.services.referrals import lifecycle

log = logging.getLogger(__name__)

SWEEP_BATCH = 500
BROKER_BACKOFF = 5.0  # after a failed publish, skip publishing for this long (seconds)
_broker_down_until = 0.0

__all__ = ["SendResult", "claim", "enqueue", "finish", "prepare", "process", "sweep"]


def enqueue(delivery_ids: list[int]) -> list[int]:
    """Hint the workers after commit; returns the ids actually handed to the broker.

    If the broker is down the rows wait in the database for the sweeper; the first failure
    stops the batch (and, for a few seconds, later batches), so an intake is not slowed by
    one connection timeout per delivery.
    """
    global _broker_down_until
    if not delivery_ids or time.monotonic() < _broker_down_until:
        return []
    celery = current_app.extensions["celery"]
    sent = []
    for delivery_id in delivery_ids:
        try:
            celery.send_task("caseapp.deliver", args=(delivery_id,), retry=False)
        except Exception as exc:  # the broker is only a hint; never fail the request for it
            _broker_down_until = time.monotonic() + BROKER_BACKOFF
            log.warning("could not enqueue %d deliveries (%s); the sweeper will send them",
                        len(delivery_ids) - len(sent), exc.__class__.__name__)
            break
        sent.append(delivery_id)
    return sent


def claim(session: Session, delivery_id: int, now: datetime, lease_seconds: float
          ) -> Delivery | None:
    due = (select(Delivery.id)
           .where(Delivery.id == delivery_id, Delivery.state == "pending",
                  Delivery.next_attempt_at <= now))
    if session.get_bind().dialect.name == "postgresql":
        # Another worker holding the row is skipped at once rather than waited for.
        due = due.with_for_update(skip_locked=True)
        # A claim lost in a database crash only means the row is sent again with the same
        # id, which at-least-once allows; so this commit need not wait for the disk.
        session.execute(text("SET LOCAL synchronous_commit = off"))
    statement = (
        update(Delivery)
        .where(Delivery.id.in_(due.scalar_subquery()), Delivery.state == "pending")
        .values(state="in_flight", leased_until=now + timedelta(seconds=lease_seconds),
                attempts=Delivery.attempts + 1, enqueued_at=None)
        .execution_options(synchronize_session=False, populate_existing=True))
    if not session.get_bind().dialect.update_returning:  # SQLite before 3.35
        claimed = session.execute(statement).rowcount == 1
        session.commit()
        return session.get(Delivery, delivery_id, populate_existing=True) if claimed else None
    rows = session.scalars(statement.returning(Delivery)).all()
    session.commit()
    return rows[0] if rows else None


@dataclass
class Outgoing:
    """One attempt, ready to go: what to send and what it discloses."""

    delivery_id: int
    channel: str
    lease: datetime
    basis: str
    fields: list[str] = field(default_factory=list)
    client_id: int | None = None
    actor_id: int | None = None  # who disclosed: the staff member who made the referral
    actor_label: str = SYSTEM.label
    webhook: WebhookRequest | None = None
    mail: MailRequest | None = None
    result: SendResult | None = None  # decided without sending (inbox, misconfiguration)


def prepare(session: Session, delivery: Delivery, config: Config, now: datetime
            ) -> Outgoing | None:
    """Check the consent gate at send time and build the message; None when nothing may go."""
    # One query for what the checks and the message need, instead of a lazy load for each.
    referral = session.scalar(
        select(Referral).where(Referral.id == delivery.referral_id)
        .options(joinedload(Referral.partner), joinedload(Referral.case).joinedload(Case.client),
                 joinedload(Referral.consultation).joinedload(Consultation.client),
                 joinedload(Referral.consultation).selectinload(Consultation.topic_rows)))
    if referral.status == "awaiting_consent":
        delivery.state, delivery.leased_until = "held", None
        session.commit()
        return None
    if referral.status not in OPEN_STATUSES:
        delivery.state, delivery.leased_until = "cancelled", None
        delivery.last_error = f"referral is {referral.status}"
        session.commit()
        return None
    basis = consents.current_basis(session, referral, now)
    if basis is None:
        delivery.leased_until = None
        if referral.status == "requested":
            consents.hold(referral, SYSTEM, note="送付時点で有効な同意がないため保留")
            delivery.state = "held"
        else:
            delivery.state, delivery.last_error = "cancelled", "no legal basis any more"
        session.commit()
        return None
    referral.legal_basis = basis
    client = messages.client_of(referral)
    out = Outgoing(delivery.id, delivery.channel, delivery.leased_until, basis,
                   client_id=client.id if client else None)
    if referral.created_by_id is not None:
        out.actor_id = referral.created_by_id
        out.actor_label = session.scalar(select(User.name).where(
            User.id == referral.created_by_id)) or SYSTEM.label
    partner = referral.partner
    if delivery.channel == "inbox":
        # The partner inbox reads straight from the database: being stored is being delivered,
        # and what is disclosed is what the partner's view of it shows.
        out.fields = messages.inbox(referral, now)
        out.result = SendResult(ok=True)
    elif delivery.channel == "webhook":
        if not partner.webhook_active:
            out.result = SendResult(ok=False, permanent=True,
                                    error="webhook no longer configured or disabled")
        else:
            out.webhook, out.fields = messages.webhook(delivery, referral, config)
    elif delivery.channel == "email":
        if not partner.email:
            out.result = SendResult(ok=False, permanent=True, error="partner has no e-mail")
        else:
            out.mail, out.fields = messages.email(delivery, referral, config)
    else:
        out.result = SendResult(ok=False, permanent=True,
                                error=f"unknown channel {delivery.channel!r}")
    session.commit()
    return out


def dispatch(out: Outgoing, gateways: Gateways) -> SendResult:
    if out.result is not None:
        return out.result
    if out.webhook is not None:
        return gateways.webhook.post(out.webhook)
    return gateways.mail.send(out.mail)


def finish(session: Session, delivery_id: int, out: Outgoing, result: SendResult, *,
           started: datetime, duration_ms: int, config: Config,
           now: datetime | None = None) -> None:
    now = now or utcnow()
    delivery = session.get(Delivery, delivery_id, populate_existing=True, with_for_update=True)
    # Locked too: two channels of one referral finishing at once move its status once.
    referral = session.get(Referral, delivery.referral_id, populate_existing=True,
                           with_for_update=True)
    session.add(DeliveryAttempt(delivery_id=delivery.id, at=started, succeeded=result.ok,
                                duration_ms=duration_ms, status_code=result.status_code,
                                error=result.error))
    ours = delivery.state == "in_flight" and delivery.leased_until == out.lease
    if result.ok:
        if delivery.state != "delivered":
            delivery.state, delivery.delivered_at = "delivered", now
            delivery.last_error = delivery.leased_until = None
            _disclosed(session, delivery, referral, out, now)
            if referral.status in ("requested", "awaiting_consent"):
                lifecycle.move(referral, "sent", SYSTEM, note=f"delivered via {delivery.channel}")
    elif ours:
        # (Not ours: the lease ran out and another worker owns the row; it decides.)
        delivery.leased_until, delivery.last_error = None, result.error
        if result.gone:
            _disable_webhook(session, referral, config, now)
        if result.permanent or delivery.attempts > len(config.retry_delays):
            delivery.state = "failed"
            _channel_failed(session, referral, delivery, config)
        elif referral.status == "awaiting_consent":
            delivery.state = "held"
        else:
            delivery.state = "pending"
            delivery.next_attempt_at = now + timedelta(
                seconds=retry_delay(delivery.attempts, config.retry_delays, result.retry_after))
    session.commit()


def retry_delay(attempts: int, delays: tuple[int, ...], retry_after: float | None) -> float:
    delay = delays[min(attempts, len(delays)) - 1]
    # Jitter spreads the retries of a partner that was down for everyone at once.
    return max(delay * random.uniform(0.8, 1.2), retry_after or 0.0)


def _disclosed(session: Session, delivery: Delivery, referral: Referral, out: Outgoing,
               now: datetime) -> None:
    """§29: who gave which items to whom, on what basis; same transaction as the delivery."""
    session.add(Disclosure(
        at=now, referral_id=referral.id, delivery_id=delivery.id, client_id=out.client_id,
        partner_id=referral.partner_id, channel=delivery.channel, actor_id=out.actor_id,
        actor_label=out.actor_label, fields=out.fields, basis=out.basis))
    audit.record(session, SYSTEM, "disclose", "referral", referral.id, purpose="referral",
                 detail={"partner_id": referral.partner_id, "channel": delivery.channel,
                         "fields": out.fields, "basis": out.basis,
                         "client_id": out.client_id, "on_behalf_of": out.actor_label})


def _disable_webhook(session: Session, referral: Referral, config: Config, now: datetime) -> None:
    partner = referral.partner
    if partner.webhook_disabled_at is not None:
        return
    partner.webhook_disabled_at = now
    alerts.raise_alert(
        session, "webhook_disabled", config=config, role="admin", partner=partner,
        referral=referral,
        message=(f"連携機関 {partner.name}（{partner.code}）の Webhook が 410 Gone を返したため"
                 "停止しました。URL を確認し "
                 f"PATCH /partners/{partner.code} で設定し直してください。"))


def _channel_failed(session: Session, referral: Referral, delivery: Delivery,
                    config: Config) -> None:
    states = {d.state for d in referral.deliveries}
    if referral.status == "requested" and states <= {"failed", "cancelled"}:
        lifecycle.move(referral, "failed", SYSTEM, note="all delivery channels exhausted")
        owner_id = referral.case.owner_id
        alerts.raise_alert(
            session, "referral_failed", config=config, referral=referral,
            partner=referral.partner, user_id=owner_id,
            role=None if owner_id else "supervisor",
            message=(f"つなぎ No. {referral.id}（{referral.partner.name}）を届けられませんでした"
                     f"（{delivery.last_error}）。連絡方法を確認し、POST /referrals/{referral.id}"
                     "/retry で再送するか、電話等でつないでください。"))
    elif referral.status not in ("requested", "awaiting_consent"):
        alerts.raise_alert(
            session, "delivery_failed", config=config, role="admin", referral=referral,
            partner=referral.partner,
            message=(f"つなぎ No. {referral.id} は届きましたが、{delivery.channel} での送信は"
                     f"失敗しました（{delivery.last_error}）。{referral.partner.code} の設定を"
                     "確認してください。"))


def process(session: Session, delivery_id: int, config: Config, gateways: Gateways) -> str:
    """One delivery task: claim, check, send outside any transaction, record."""
    started = utcnow()
    delivery = claim(session, delivery_id, started, config.delivery_lease_seconds)
    if delivery is None:
        return "skipped"
    lease = delivery.leased_until
    try:
        out = prepare(session, delivery, config, started)
    except Exception as exc:  # a bug must not leave the row leased until the lease runs out
        log.exception("preparing delivery %s failed", delivery_id)
        session.rollback()
        out = Outgoing(delivery_id, delivery.channel, lease, "",
                       result=SendResult(ok=False, error=f"{exc.__class__.__name__}: {exc}"))
    if out is None:
        return "held"
    clock = time.monotonic()
    try:
        result = dispatch(out, gateways)
    except Exception as exc:  # a bug in one channel must not leave the row leased forever
        log.exception("delivery %s crashed", delivery_id)
        result = SendResult(ok=False, error=f"{exc.__class__.__name__}: {exc}")
    finish(session, delivery_id, out, result, started=started, config=config,
           duration_ms=int((time.monotonic() - clock) * 1000))
    return "delivered" if result.ok else "retry"


def sweep(session: Session, config: Config, now: datetime | None = None,
          limit: int = SWEEP_BATCH) -> list[int]:
    """Beat's job: recover stale leases, then hand every due row to the broker again."""
    now = now or utcnow()
    _expire_leases(session, config, now, limit)
    recent = now - timedelta(seconds=config.requeue_after_seconds)
    ids = list(session.scalars(
        select(Delivery.id)
        .where(Delivery.state == "pending", Delivery.next_attempt_at <= now,
               or_(Delivery.enqueued_at.is_(None), Delivery.enqueued_at < recent))
        .order_by(Delivery.next_attempt_at).limit(limit)))
    session.commit()
    sent = enqueue(ids)
    if sent:
        session.execute(update(Delivery).where(Delivery.id.in_(sent), Delivery.state == "pending")
                        .values(enqueued_at=now).execution_options(synchronize_session=False))
        session.commit()
    return sent


def _expire_leases(session: Session, config: Config, now: datetime, limit: int) -> None:
    query = (select(Delivery.id).where(Delivery.state == "in_flight", Delivery.leased_until < now)
             .order_by(Delivery.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    for delivery_id in list(session.scalars(query)):
        delivery = session.get(Delivery, delivery_id, populate_existing=True)
        claimed_at = delivery.leased_until - timedelta(seconds=config.delivery_lease_seconds)
        session.add(DeliveryAttempt(delivery_id=delivery.id, at=claimed_at,
                                    error="lease expired: the worker was lost mid-send"))
        delivery.leased_until = delivery.enqueued_at = None
        delivery.last_error = "lease expired"
        if delivery.attempts > len(config.retry_delays):
            delivery.state = "failed"
            _channel_failed(session, delivery.referral, delivery, config)
        else:
            delivery.state = "pending"
    session.commit()
