"""Referrals (つなぎ) and their outbox rows."""

import secrets
from datetime import datetime

from sqlalchemy.orm import Session

from caseapp.models import Case, Consultation, Delivery, Partner, Referral, ReferralEvent
from caseapp.models.types import utcnow
from caseapp.services import reminders
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
    """One outbox row per channel; an existing row (a re-release) is made due again."""
    existing = {(d.channel, d.event_type): d for d in referral.deliveries}
    for channel in referral.partner.channels():
        row = existing.get((channel, "referral.requested"))
        if row is None:
            session.add(Delivery(referral=referral, channel=channel,
                                 message_id="msg_" + secrets.token_hex(16),
                                 next_attempt_at=now or utcnow()))
        elif row.state != "delivered":
            row.state, row.next_attempt_at, row.leased_until = "pending", now or utcnow(), None


def _log(referral: Referral, old: str | None, new: str, actor: Actor, *, note=None,
         at: datetime | None = None) -> None:
    referral.history.append(ReferralEvent(from_status=old, to_status=new, actor_id=actor.user_id,
                                          actor_label=actor.label, note=note, at=at or utcnow()))


def move(referral: Referral, new: str, actor: Actor, *, note: str | None = None) -> None:
    old = referral.status
    referral.status = new
    _log(referral, old, new, actor, note=note)
    if new != old:
        # Schedules what the new status waits for and withdraws what it answered.
        reminders.on_referral_change(referral)
