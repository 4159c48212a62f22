"""Sending a referral through the outbox: the consent gate at send time, the message, and
what the result means for the referral (sent, failed, its owner alerted).

The rows and their claiming are caseapp.services.delivery.outbox; this module decides for one
claimed row. Claim, prepare, send and finish are separate steps, and no transaction is open
while a channel talks to the network: on SQLite that would hold the database's one write lock
for up to the send timeout.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from caseapp.config import Config
from caseapp.domain.vocab import OPEN_STATUSES, DeliveryChannel, DeliveryState, ReferralStatus
from caseapp.models import (
    Case,
    Consultation,
    Delivery,
    DeliveryAttempt,
    Disclosure,
    Referral,
    User,
)
from caseapp.models.types import utcnow
from caseapp.services.casework import alerts
from caseapp.services.core import audit
from caseapp.services.core.actors import SYSTEM
from caseapp.services.delivery import messages, outbox, stop_notices
from caseapp.services.delivery.gateways import Gateways, MailRequest, SendResult, WebhookRequest
from caseapp.services.referrals import consent_gate, lifecycle

log = logging.getLogger(__name__)

SWEEP_BATCH = outbox.SWEEP_BATCH

__all__ = ["SendResult", "finish", "prepare", "process", "sweep"]


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
    if delivery.event_type == stop_notices.EVENT:
        # Nothing personal in it, so no basis is needed: it tells the partner to stop using.
        out = Outgoing(delivery.id, delivery.channel, delivery.leased_until, basis="")
        out.webhook, out.mail, out.result = stop_notices.build(delivery, referral, config)
        session.commit()
        return out
    if referral.status == ReferralStatus.AWAITING_CONSENT:
        delivery.state, delivery.leased_until = DeliveryState.HELD, None
        session.commit()
        return None
    if referral.status not in OPEN_STATUSES:
        delivery.state, delivery.leased_until = DeliveryState.CANCELLED, None
        delivery.last_error = f"referral is {referral.status}"
        session.commit()
        return None
    basis = consent_gate.current_basis(session, referral, now)
    if basis is None:
        delivery.leased_until = None
        if referral.status == ReferralStatus.REQUESTED:
            note = consent_gate.hold_note(referral)
            consent_gate.hold(referral, SYSTEM, note=note)
            delivery.state, delivery.last_error = DeliveryState.HELD, note
        else:
            delivery.state = DeliveryState.CANCELLED
            delivery.last_error = "no legal basis any more"
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
    if delivery.channel == DeliveryChannel.INBOX:
        # The partner inbox reads straight from the database: being stored is being delivered,
        # and what is disclosed is what the partner's view of it shows.
        out.fields = messages.inbox(referral, now)
        out.result = SendResult(ok=True)
    elif delivery.channel == DeliveryChannel.WEBHOOK:
        if not partner.webhook_active:
            out.result = SendResult(ok=False, permanent=True,
                                    error="webhook no longer configured or disabled")
        else:
            out.webhook, out.fields = messages.webhook(delivery, referral, config)
    elif delivery.channel == DeliveryChannel.EMAIL:
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
    ours = delivery.state == DeliveryState.IN_FLIGHT and delivery.leased_until == out.lease
    if result.ok:
        if delivery.state != DeliveryState.DELIVERED:
            delivery.state, delivery.delivered_at = DeliveryState.DELIVERED, now
            delivery.last_error = delivery.leased_until = None
            # A notice that carries nothing personal discloses nothing and moves nothing on.
            if out.fields:
                _disclosed(session, delivery, referral, out, now)
            if out.fields and referral.status in (ReferralStatus.REQUESTED,
                                                  ReferralStatus.AWAITING_CONSENT):
                lifecycle.move(referral, ReferralStatus.SENT, SYSTEM,
                               note=f"delivered via {delivery.channel}")
    elif ours:
        # (Not ours: the lease ran out and another worker owns the row; it decides.)
        if result.gone:
            _disable_webhook(session, referral, config, now)
        state = outbox.after_failure(delivery, result.error, permanent=result.permanent,
                                     delays=config.retry_delays, now=now,
                                     retry_after=result.retry_after)
        if state == DeliveryState.FAILED:
            _channel_failed(session, referral, delivery, config)
        elif referral.status == ReferralStatus.AWAITING_CONSENT:
            delivery.state = DeliveryState.HELD
    session.commit()


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
    if (referral.status == ReferralStatus.REQUESTED
            and states <= {DeliveryState.FAILED, DeliveryState.CANCELLED}):
        lifecycle.move(referral, ReferralStatus.FAILED, SYSTEM,
                       note="all delivery channels exhausted")
        owner_id = referral.case.owner_id
        alerts.raise_alert(
            session, "referral_failed", config=config, referral=referral,
            partner=referral.partner, user_id=owner_id,
            role=None if owner_id else "supervisor",
            message=(f"つなぎ No. {referral.id}（{referral.partner.name}）を届けられませんでした"
                     f"（{delivery.last_error}）。連絡方法を確認し、POST /referrals/{referral.id}"
                     "/retry で再送するか、電話等でつないでください。"))
    elif referral.status not in (ReferralStatus.REQUESTED, ReferralStatus.AWAITING_CONSENT):
        alerts.raise_alert(
            session, "delivery_failed", config=config, role="admin", referral=referral,
            partner=referral.partner,
            message=(f"つなぎ No. {referral.id} は届きましたが、{delivery.channel} での送信は"
                     f"失敗しました（{delivery.last_error}）。{referral.partner.code} の設定を"
                     "確認してください。"))


def process(session: Session, delivery_id: int, config: Config, gateways: Gateways) -> str:
    """One delivery task: claim, check, send outside any transaction, record."""
    started = utcnow()
    delivery = outbox.claim(session, delivery_id, started, config.delivery_lease_seconds)
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
    return outbox.sweep_deliveries(session, now, timedelta(seconds=config.requeue_after_seconds),
                                   limit)


def _expire_leases(session: Session, config: Config, now: datetime, limit: int) -> None:
    for delivery_id in outbox.stale_ids(session, Delivery, now, limit):
        delivery = session.get(Delivery, delivery_id, populate_existing=True)
        claimed_at = delivery.leased_until - timedelta(seconds=config.delivery_lease_seconds)
        session.add(DeliveryAttempt(delivery_id=delivery.id, at=claimed_at,
                                    error="lease expired: the worker was lost mid-send"))
        delivery.leased_until = delivery.enqueued_at = None
        delivery.last_error = "lease expired"
        if delivery.attempts > len(config.retry_delays):
            delivery.state = DeliveryState.FAILED
            _channel_failed(session, delivery.referral, delivery, config)
        else:
            delivery.state = DeliveryState.PENDING
    session.commit()
