"""Referrals (つなぎ) and their outbox rows."""

import secrets
from datetime import datetime

from flask import current_app, has_app_context
from sqlalchemy.orm import Session

from caseapp.models import Case, Consultation, Delivery, Partner, Referral, ReferralEvent
from caseapp.models.types import utcnow
from caseapp.services.actors import Actor


def create(session: Session, actor: Actor, *, case: Case, partner: Partner, reason: str,
           method: str, urgency: str, basis: str | None,
           consultation: Consultation | None = None, rule_id: str | None = None,
           now: datetime | None = None) -> Referral:
    status = "requested" if basis else "awaiting_consent"
    referral = Referral(case=case, consultation=consultation, partner=partner, reason=reason,
                        method=method, urgency=urgency, status=status, legal_basis=basis,
                        rule_id=rule_id, created_by_id=actor.user_id)
    session.add(referral)
    _log(referral, None, status, actor, note=reason, at=now)
    if status == "requested":
        add_deliveries(session, referral, now=now)
    return referral


def add_deliveries(session: Session, referral: Referral, now: datetime | None = None) -> None:
    """One outbox row per channel; an existing row (a re-release, a retry) is made due again.

    A row keeps its message id for life, so a partner never sees two ids for one referral.
    """
    existing = {(d.channel, d.event_type): d for d in referral.deliveries}
    for channel in referral.partner.channels(email_enabled=_smtp_configured()):
        row = existing.get((channel, "referral.requested"))
        if row is None:
            session.add(Delivery(referral=referral, channel=channel,
                                 message_id="msg_" + secrets.token_hex(16),
                                 next_attempt_at=now or utcnow()))
        elif row.state in ("pending", "held", "failed", "cancelled"):
            if row.state == "failed":
                row.attempts = 0  # a retry gets the whole schedule again
            row.state, row.next_attempt_at = "pending", now or utcnow()
            row.leased_until = row.enqueued_at = None


def _smtp_configured() -> bool:
    if not has_app_context():
        return True
    return bool(current_app.config["CASEAPP"].smtp_host)


def _log(referral: Referral, old: str | None, new: str, actor: Actor, *, note=None,
         at: datetime | None = None) -> None:
    referral.history.append(ReferralEvent(from_status=old, to_status=new, actor_id=actor.user_id,
                                          actor_label=actor.label, note=note, at=at or utcnow()))


def move(referral: Referral, new: str, actor: Actor, *, note: str | None = None) -> None:
    old = referral.status
    referral.status = new
    _log(referral, old, new, actor, note=note)
