"""Referrals (つなぎ): created, moved from status to status, and given their outbox rows.

None of these commit: they are steps of the caller's use case.
"""

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from caseapp.domain.vocab import ReferralStatus
from caseapp.domain.workflow import ACK_PENDING
from caseapp.models import Case, Consultation, Partner, Referral, ReferralEvent
from caseapp.models.referrals import MILESTONES
from caseapp.models.types import utcnow
from caseapp.rules.calendar import add_business_days
from caseapp.services.casework import reminders
from caseapp.services.core.actors import Actor
from caseapp.services.delivery import outbox


def create(session: Session, actor: Actor, *, case: Case, partner: Partner, reason: str,
           method: str, urgency: str, basis: str | None,
           consultation: Consultation | None = None, rule_id: str | None = None,
           now: datetime | None = None) -> Referral:
    values, first = opening(actor, partner, reason=reason, method=method, urgency=urgency,
                            basis=basis, rule_id=rule_id, now=now or utcnow())
    referral = Referral(case=case, consultation=consultation, partner=partner, **values)
    session.add(referral)
    referral.history.append(ReferralEvent(**first))
    if referral.status == ReferralStatus.REQUESTED:
        add_deliveries(session, referral, now=now)
    return referral


def opening(actor: Actor, partner: Partner, *, reason: str, method: str, urgency: str,
            basis: str | None, rule_id: str | None, now: datetime) -> tuple[dict, dict]:
    """A new referral's column values and those of its first history row.

    Requested when it has a legal basis, else awaiting consent (its outbox rows come later).
    """
    status = ReferralStatus.REQUESTED if basis else ReferralStatus.AWAITING_CONSENT
    values = dict(reason=reason, method=method, urgency=urgency, status=status,
                  legal_basis=basis, rule_id=rule_id, created_by_id=actor.user_id,
                  created_at=now, status_at=now, ack_due_at=_ack_due(partner, status, now))
    if status in MILESTONES:
        values[f"{status}_at"] = now
    first = dict(from_status=None, to_status=status, actor_id=actor.user_id,
                 actor_label=actor.label, note=reason, at=now)
    return values, first


def add_deliveries(session: Session, referral: Referral, now: datetime | None = None) -> None:
    """The referral's outbox rows, one per channel; handed to the broker after commit."""
    outbox.add_deliveries(session, referral, email_enabled=outbox.email_enabled(),
                          now=now or utcnow())


def step(referral: Referral, new: str, actor: Actor, *, note: str | None,
         at: datetime) -> tuple[dict, dict]:
    """What ``move`` (without its reminders) changes, for a caller that writes the rows
    itself (the worker's batch): the referral's new column values and its history row."""
    changes = {"status": new, "status_at": at,
               "ack_due_at": _ack_due(referral.partner, new, at)}
    if new in MILESTONES and getattr(referral, f"{new}_at") is None:
        changes[f"{new}_at"] = at
    event = dict(referral_id=referral.id, from_status=referral.status, to_status=new,
                 actor_id=actor.user_id, actor_label=actor.label, note=note, at=at)
    return changes, event


def _ack_due(partner: Partner, status: str, at: datetime) -> datetime | None:
    if status not in ACK_PENDING:
        return None
    return add_business_days(at, partner.ack_sla_days).astimezone(UTC)


def move(referral: Referral, new: str, actor: Actor, *, note: str | None = None,
         at: datetime | None = None, chase: bool = True) -> None:
    """``chase=False``: the caller calls ``reminders.on_referrals_change`` for its batch."""
    old = referral.status
    changes, event = step(referral, new, actor, note=note, at=at or utcnow())
    del event["referral_id"]  # set from the relationship (the referral may be new)
    for name, value in changes.items():
        setattr(referral, name, value)
    referral.history.append(ReferralEvent(**event))
    if new != old and chase:
        # Schedules what the new status waits for and withdraws what it answered.
        reminders.on_referral_change(referral)
