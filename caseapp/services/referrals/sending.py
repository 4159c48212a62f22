"""Sending a referral through the outbox: the consent gate at send time, the message, and
what the result means for the referral (sent, failed, its owner alerted).

The rows and their claiming are caseapp.services.delivery.outbox; this module decides for the
rows a worker has claimed. A task makes two transactions: the claim with the consent check and
the message, then the attempt, disclosure and status. None is open while a channel talks to
the network: on SQLite that would hold the database's one write lock for up to the send
timeout. When the queue is deep a task claims several due rows at once (``process_many``),
so the two transactions are shared by the batch; a batch that fails is redone row by row.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from caseapp.config import Config
from caseapp.domain.vocab import OPEN_STATUSES, DeliveryChannel, DeliveryState, ReferralStatus
from caseapp.models import (
    Case,
    Client,
    Consultation,
    Delivery,
    DeliveryAttempt,
    Disclosure,
    Referral,
    ReferralEvent,
    User,
)
from caseapp.models.types import utcnow
from caseapp.services.casework import alerts, reminders
from caseapp.services.core import audit
from caseapp.services.core.actors import SYSTEM
from caseapp.services.delivery import messages, outbox, stop_notices
from caseapp.services.delivery.gateways import Gateways, MailRequest, SendResult, WebhookRequest
from caseapp.services.referrals import consent_gate, lifecycle

log = logging.getLogger(__name__)

SWEEP_BATCH = outbox.SWEEP_BATCH
# Rows one task may claim when more are due: enough to share the two commits. They are sent
# side by side, so each goes right after its consent check and a slow partner delays no other.
BATCH = outbox.BATCH
_senders: tuple[int, ThreadPoolExecutor] | None = None

__all__ = ["SendResult", "finish", "prepare", "process", "process_many", "sweep"]


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


def _referrals(session: Session, ids: set[int]) -> dict[int, Referral]:
    """One query (and a few IN loads) for what the checks and the messages of a batch need,
    instead of a lazy load for each. Not the history: a webhook does not carry it, and the
    batch writes the new history rows without loading the old."""
    found = session.scalars(_batch_referrals(), {"ids": list(ids)}).unique()
    return {r.id: r for r in found}


@functools.cache
def _batch_referrals():
    """Built once per process: its loader options cost more to build and key than to run."""
    client_rows = (selectinload(Client.consents), selectinload(Client.use_stops))
    return (
        select(Referral).where(Referral.id.in_(bindparam("ids", expanding=True)))
        .options(joinedload(Referral.partner),
                 joinedload(Referral.case).joinedload(Case.client).options(*client_rows),
                 joinedload(Referral.consultation).joinedload(Consultation.client)
                 .options(*client_rows),
                 joinedload(Referral.consultation).selectinload(Consultation.topic_rows)))


def _creators(session: Session, referrals) -> dict[int, str]:
    """The names of the staff who made these referrals (who disclosed), in one query."""
    ids = {r.created_by_id for r in referrals if r.created_by_id is not None}
    if not ids:
        return {}
    return dict(session.execute(select(User.id, User.name).where(User.id.in_(ids))).all())


def prepare(session: Session, delivery: Delivery, config: Config, now: datetime,
            referral: Referral | None = None, creators: dict[int, str] | None = None
            ) -> Outgoing | None:
    """Check the consent gate at send time and build the message; None when nothing may go.

    What it decides is written to the caller's transaction, which commits before the send.
    """
    if referral is None:
        referral = _referrals(session, {delivery.referral_id})[delivery.referral_id]
    if creators is None:
        creators = _creators(session, [referral])
    if delivery.event_type == stop_notices.EVENT:
        # Nothing personal in it, so no basis is needed: it tells the partner to stop using.
        out = Outgoing(delivery.id, delivery.channel, delivery.leased_until, basis="")
        out.webhook, out.mail, out.result = stop_notices.build(delivery, referral, config)
        return out
    if referral.status == ReferralStatus.AWAITING_CONSENT:
        delivery.state, delivery.leased_until = DeliveryState.HELD, None
        return None
    if referral.status not in OPEN_STATUSES:
        delivery.state, delivery.leased_until = DeliveryState.CANCELLED, None
        delivery.last_error = f"referral is {referral.status}"
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
        return None
    referral.legal_basis = basis
    client = messages.client_of(referral)
    out = Outgoing(delivery.id, delivery.channel, delivery.leased_until, basis,
                   client_id=client.id if client else None)
    if referral.created_by_id is not None:
        out.actor_id = referral.created_by_id
        out.actor_label = creators.get(referral.created_by_id) or SYSTEM.label
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
    return out


def dispatch(out: Outgoing, gateways: Gateways) -> SendResult:
    if out.result is not None:
        return out.result
    if out.webhook is not None:
        return gateways.webhook.post(out.webhook)
    return gateways.mail.send(out.mail)


@dataclass
class Sent:
    """One attempt made: what went, what came back, when and how long it took."""

    out: Outgoing
    result: SendResult
    at: datetime
    duration_ms: int


def finish(session: Session, delivery_id: int, out: Outgoing, result: SendResult, *,
           started: datetime, duration_ms: int, config: Config,
           now: datetime | None = None) -> None:
    finish_many(session, [Sent(out, result, started, duration_ms)], config, now=now)


def finish_many(session: Session, sent: list[Sent], config: Config, *,
                now: datetime | None = None) -> None:
    """Record attempts, disclosures and statuses of sent rows in one transaction.

    What every batch writes (attempts, delivered rows, disclosures, referrals moved to
    ``sent`` and their history rows) goes out as one Core statement per table; the loaded
    objects are given the same values without being marked changed, so what follows in the
    transaction reads them as written. The rare rest (a failure, a webhook gone, a referral
    whose every channel failed) goes through the objects.
    """
    now = now or utcnow()
    # Locked: two channels of one referral finishing at once move its status once. In the
    # order of the referrals, so two batches sharing referrals do not deadlock.
    locked = session.execute(_locked_batch(),
                             {"ids": [s.out.delivery_id for s in sent]}).all()
    rows = {delivery.id: (delivery, referral) for delivery, referral in locked}
    moved: dict[int, Referral] = {}
    written = _Written()
    # No flush per row: the statements of the batch go out together.
    with session.no_autoflush:
        for one in sent:
            delivery, referral = rows[one.out.delivery_id]
            _record(session, delivery, referral, one, config, now, moved, written)
        written.write(session, now)
        reminders.on_referrals_change(session, list(moved.values()), now=now)
    session.commit()


@functools.cache
def _locked_batch():
    return (
        select(Delivery, Referral).join(Referral, Delivery.referral_id == Referral.id)
        .where(Delivery.id.in_(bindparam("ids", expanding=True)))
        .order_by(Referral.id, Delivery.id)
        # Partner and case read in the same statement, not locked (as before, when they
        # were loaded apart): only the rows this transaction changes are.
        .options(joinedload(Referral.partner, innerjoin=True),
                 joinedload(Referral.case, innerjoin=True))
        .with_for_update(of=[Delivery, Referral])
        .execution_options(populate_existing=True))


@dataclass
class _Written:
    """The rows a batch writes with one statement per table."""

    attempts: list[dict] = field(default_factory=list)
    delivered: list[int] = field(default_factory=list)
    disclosures: list[dict] = field(default_factory=list)
    moves: list[dict] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)

    def write(self, session: Session, now: datetime) -> None:
        if self.delivered:
            session.execute(
                update(Delivery.__table__).where(Delivery.__table__.c.id.in_(self.delivered))
                .values(state=DeliveryState.DELIVERED, delivered_at=now, last_error=None,
                        leased_until=None))
        for table, rows in ((DeliveryAttempt.__table__, self.attempts),
                            (Disclosure.__table__, self.disclosures),
                            (ReferralEvent.__table__, self.events)):
            if rows:
                session.execute(insert(table), rows)
        # One UPDATE per set of columns moved (the milestones differ between referrals).
        shapes: dict[tuple, list[dict]] = {}
        for row in self.moves:
            shapes.setdefault(tuple(sorted(row)), []).append(row)
        table = Referral.__table__
        for columns, moves in shapes.items():
            names = [c for c in columns if c != "id"]
            session.execute(
                update(table).where(table.c.id == bindparam("b_id"))
                .values({c: bindparam(f"b_{c}") for c in names}),
                [{f"b_{k}": v for k, v in row.items()} for row in moves])


def _as_written(obj, **values) -> None:
    """Give a loaded object values a Core statement writes, without marking it changed."""
    for name, value in values.items():
        set_committed_value(obj, name, value)


def _record(session: Session, delivery: Delivery, referral: Referral, sent: Sent,
            config: Config, now: datetime, moved: dict[int, Referral],
            written: _Written) -> None:
    """One attempt's rows and what it means for the referral; ``moved`` collects the
    referrals whose status changed, for their reminders."""
    out, result = sent.out, sent.result
    written.attempts.append(dict(delivery_id=delivery.id, at=sent.at, succeeded=result.ok,
                                 duration_ms=sent.duration_ms, status_code=result.status_code,
                                 error=result.error))
    ours = delivery.state == DeliveryState.IN_FLIGHT and delivery.leased_until == out.lease
    if result.ok:
        if delivery.state != DeliveryState.DELIVERED:
            _as_written(delivery, state=DeliveryState.DELIVERED, delivered_at=now,
                        last_error=None, leased_until=None)
            written.delivered.append(delivery.id)
            # A notice that carries nothing personal discloses nothing and moves nothing on.
            if out.fields:
                _disclosed(session, delivery, referral, out, now, written)
            if out.fields and referral.status in (ReferralStatus.REQUESTED,
                                                  ReferralStatus.AWAITING_CONSENT):
                changes, event = lifecycle.step(referral, ReferralStatus.SENT, SYSTEM,
                                                note=f"delivered via {delivery.channel}", at=now)
                _as_written(referral, **changes)
                written.moves.append({"id": referral.id, **changes, "updated_at": now})
                written.events.append(event)
                moved[referral.id] = referral
    elif ours:
        # (Not ours: the lease ran out and another worker owns the row; it decides.)
        if result.gone:
            _disable_webhook(session, referral, config, now)
        state = outbox.after_failure(delivery, result.error, permanent=result.permanent,
                                     delays=config.retry_delays, now=now,
                                     retry_after=result.retry_after)
        if state == DeliveryState.FAILED and _channel_failed(session, referral, delivery,
                                                             config, chase=False):
            moved[referral.id] = referral
        elif referral.status == ReferralStatus.AWAITING_CONSENT:
            delivery.state = DeliveryState.HELD


def _disclosed(session: Session, delivery: Delivery, referral: Referral, out: Outgoing,
               now: datetime, written: _Written) -> None:
    """§29: who gave which items to whom, on what basis; same transaction as the delivery."""
    written.disclosures.append(dict(
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
                    config: Config, *, chase: bool = True) -> bool:
    """Alert whom it concerns; True if the referral itself failed (every channel has)."""
    states = {d.state for d in referral.deliveries}
    if (referral.status == ReferralStatus.REQUESTED
            and states <= {DeliveryState.FAILED, DeliveryState.CANCELLED}):
        lifecycle.move(referral, ReferralStatus.FAILED, SYSTEM,
                       note="all delivery channels exhausted", chase=chase)
        owner_id = referral.case.owner_id
        alerts.raise_alert(
            session, "referral_failed", config=config, referral=referral,
            partner=referral.partner, user_id=owner_id,
            role=None if owner_id else "supervisor",
            message=(f"つなぎ No. {referral.id}（{referral.partner.name}）を届けられませんでした"
                     f"（{delivery.last_error}）。連絡方法を確認し、POST /referrals/{referral.id}"
                     "/retry で再送するか、電話等でつないでください。"))
        return True
    elif referral.status not in (ReferralStatus.REQUESTED, ReferralStatus.AWAITING_CONSENT):
        alerts.raise_alert(
            session, "delivery_failed", config=config, role="admin", referral=referral,
            partner=referral.partner,
            message=(f"つなぎ No. {referral.id} は届きましたが、{delivery.channel} での送信は"
                     f"失敗しました（{delivery.last_error}）。{referral.partner.code} の設定を"
                     "確認してください。"))
    return False


def process(session: Session, delivery_id: int, config: Config, gateways: Gateways) -> str:
    """One row: claim, check, send outside any transaction, record."""
    return process_many(session, delivery_id, config, gateways, limit=1).get(delivery_id,
                                                                             "skipped")


def process_many(session: Session, hinted: int | list[int], config: Config,
                 gateways: Gateways, *, limit: int = BATCH) -> dict[int, str]:
    """One delivery task: the hinted rows and other due rows with them, ``limit`` in all.

    Returns each claimed row's outcome (held, delivered, retry). Claim and consent
    checks commit together; if anything in them fails, nothing of the batch is kept and the
    hinted rows are done one by one, as before batching, so a bug in one row costs its
    neighbours only a later turn.
    """
    started = utcnow()
    row_ids = [hinted] if isinstance(hinted, int) else list(hinted)
    try:
        if not outbox.any_due(session, started):
            session.rollback()
            return {}
        claimed = outbox.claim_due(session, row_ids, started,
                                   config.delivery_lease_seconds, limit)
        if not claimed:
            # The hint found its row taken (or not due): nothing was written.
            session.rollback()
            return {}
        referrals = _referrals(session, {d.referral_id for d in claimed})
        creators = _creators(session, referrals.values())
        prepared = [(d.id, prepare(session, d, config, started, referrals[d.referral_id],
                                   creators)) for d in claimed]
        session.commit()
    except Exception:
        session.rollback()
        log.exception("preparing a batch of deliveries failed; the hinted %s one by one", row_ids)
        return {row_id: _process_alone(session, row_id, config, gateways) for row_id in row_ids}
    outcomes = {row_id: "held" for row_id, out in prepared if out is None}
    ready = [out for _row_id, out in prepared if out is not None]
    if len(ready) > 1:
        sent = list(_sender().map(lambda out: _send(out, gateways), ready))
    else:
        sent = [_send(out, gateways) for out in ready]
    if sent:
        try:
            finish_many(session, sent, config)
        except Exception:
            session.rollback()
            log.warning("recording %d deliveries together failed; one by one", len(sent),
                        exc_info=True)
            _finish_each(session, sent, config)
    for one in sent:
        outcomes[one.out.delivery_id] = "delivered" if one.result.ok else "retry"
    return outcomes


def _sender() -> ThreadPoolExecutor:
    """Threads for a batch's sends, made in the process that uses them (not across a fork)."""
    global _senders
    if _senders is None or _senders[0] != os.getpid():
        _senders = (os.getpid(), ThreadPoolExecutor(BATCH, thread_name_prefix="delivery"))
    return _senders[1]


def _send(out: Outgoing, gateways: Gateways) -> Sent:
    at, clock = utcnow(), time.monotonic()
    try:
        result = dispatch(out, gateways)
    except Exception as exc:  # a bug in one channel must not leave the row leased forever
        log.exception("delivery %s crashed", out.delivery_id)
        result = SendResult(ok=False, error=f"{exc.__class__.__name__}: {exc}")
    return Sent(out, result, at, int((time.monotonic() - clock) * 1000))


def _finish_each(session: Session, sent: list[Sent], config: Config) -> None:
    for one in sent:
        try:
            finish_many(session, [one], config)
        except Exception:  # left in flight: the lease runs out and the sweeper retries it
            session.rollback()
            log.exception("recording delivery %s failed", one.out.delivery_id)


def _process_alone(session: Session, delivery_id: int, config: Config,
                   gateways: Gateways) -> str:
    """The hinted row in separate steps, so a failing check is recorded as a failed attempt."""
    started = utcnow()
    delivery = outbox.claim(session, delivery_id, started, config.delivery_lease_seconds)
    if delivery is None:
        return "skipped"
    lease = delivery.leased_until
    try:
        out = prepare(session, delivery, config, started)
        session.commit()
    except Exception as exc:  # a bug must not leave the row leased until the lease runs out
        log.exception("preparing delivery %s failed", delivery_id)
        session.rollback()
        out = Outgoing(delivery_id, delivery.channel, lease, "",
                       result=SendResult(ok=False, error=f"{exc.__class__.__name__}: {exc}"))
    if out is None:
        return "held"
    sent = _send(out, gateways)
    finish_many(session, [sent], config)
    return "delivered" if sent.result.ok else "retry"


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
