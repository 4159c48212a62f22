"""利用停止 (個人情報保護法 §35): a supervisor stops, and later lifts, the use of a person's data.

While a stop is in force the consent gate finds no basis for the person (see
:func:`caseapp.domain.legal_basis.basis_for`), so no new referral or disclosure leaves:
referrals not yet sent wait in ``awaiting_consent`` with their outbox rows held and saying why,
and a send already queued is held again at send time. Partners already holding an open
referral are told, by a notice with nothing personal in it. The record itself stays readable
for the counter's own duty. Lifting the stop releases what waits, if a basis holds again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from caseapp.domain.legal_basis import stop_in_force
from caseapp.domain.vocab import OPEN_STATUSES, DeliveryState, ReferralStatus
from caseapp.models import Case, Client, Referral, UseStop
from caseapp.models.types import utcnow
from caseapp.services.clients.records import live_client
from caseapp.services.core import audit
from caseapp.services.core.actors import Actor
from caseapp.services.core.errors import Conflict, Invalid
from caseapp.services.core.results import ReadsThrough
from caseapp.services.delivery import stop_notices
from caseapp.services.referrals import consent_gate

# Statuses in which the partner already has the referral (and so the person's data).
_WITH_PARTNER = (ReferralStatus.SENT, ReferralStatus.RECEIVED, ReferralStatus.ACCEPTED,
                 ReferralStatus.IN_PROGRESS)


@dataclass
class UseStopped(ReadsThrough):
    """A stop (or its lifting) and the referrals it touched, by id."""

    use_stop: UseStop
    held_referrals: list[int] = field(default_factory=list)
    notified_referrals: list[int] = field(default_factory=list)
    released_referrals: list[int] = field(default_factory=list)


def _reason(text: str | None, field: str) -> str:
    text = (text or "").strip()
    if not text:
        raise Invalid("理由を入力してください（a reason is required）",
                      errors={field: ["理由を入力してください"]})
    return text


def open_referrals(session: Session, client: Client) -> list[Referral]:
    return list(session.scalars(
        select(Referral).join(Case, Referral.case_id == Case.id)
        .where(Case.client_id == client.id, Referral.status.in_(OPEN_STATUSES))
        .order_by(Referral.id)))


def stop(session: Session, actor: Actor, client_id: int, reason: str | None,
         now: datetime | None = None) -> UseStopped:
    """POST /clients/{id}/stop-use."""
    now = now or utcnow()
    client = live_client(session, client_id)
    reason = _reason(reason, "reason")
    current = stop_in_force(client)
    if current is not None:
        raise Conflict("この方の情報の利用は既に停止しています"
                       "（use of this person's data is stopped already）",
                       extra={"use_stop_id": current.id,
                              "stopped_at": current.stopped_at.isoformat()})
    row = UseStop(client=client, reason=reason, stopped_at=now, stopped_by_id=actor.user_id)
    session.add(row)
    session.flush()
    held, notified = [], []
    for referral in open_referrals(session, client):
        if referral.status == ReferralStatus.REQUESTED:
            consent_gate.hold(referral, actor, note=consent_gate.USE_STOPPED_NOTE)
            held.append(referral.id)
        elif referral.status == ReferralStatus.AWAITING_CONSENT:
            for delivery in referral.deliveries:
                if delivery.state == DeliveryState.HELD:
                    delivery.last_error = consent_gate.USE_STOPPED_NOTE
            held.append(referral.id)
        elif referral.status in _WITH_PARTNER:
            stop_notices.add(session, referral, now)
            notified.append(referral.id)
    # Ids only: the reason may name people and stays in its own row.
    audit.record(session, actor, "stop_use", "client", client.id, purpose="rights_35",
                 detail={"use_stop_id": row.id, "held_referrals": held,
                         "notified_referrals": notified})
    session.commit()
    return UseStopped(row, held_referrals=held, notified_referrals=notified)


def resume(session: Session, actor: Actor, client_id: int, reason: str | None,
           now: datetime | None = None) -> UseStopped:
    """POST /clients/{id}/resume-use: lift the stop; what waited leaves if a basis holds."""
    now = now or utcnow()
    client = live_client(session, client_id)
    reason = _reason(reason, "reason")
    current = stop_in_force(client)
    if current is None:
        raise Conflict("この方の情報の利用は停止されていません"
                       "（use of this person's data is not stopped）")
    current.lifted_at, current.lifted_by_id, current.lift_reason = now, actor.user_id, reason
    session.flush()
    waiting = consent_gate.waiting_for_client(session, client)
    released = consent_gate.release(session, actor, waiting, now, note="利用停止の解除により送付")
    for referral in waiting:
        for delivery in referral.deliveries:
            if (delivery.state == DeliveryState.HELD
                    and delivery.last_error == consent_gate.USE_STOPPED_NOTE):
                # still waiting, now for consent
                delivery.last_error = consent_gate.NO_BASIS_NOTE
    audit.record(session, actor, "resume_use", "client", client.id, purpose="rights_35",
                 detail={"use_stop_id": current.id,
                         "released_referrals": [r.id for r in released]})
    session.commit()
    return UseStopped(current, released_referrals=[r.id for r in released])
