"""利用停止 (個人情報保護法 §35): a supervisor stops, and later lifts, the use of a person's data.

While a stop is in force the consent gate finds no basis for the person (see
:func:`caseapp.services.legal.consents.basis_for`), so no new referral or disclosure leaves:
referrals not yet sent wait in ``awaiting_consent`` with their outbox rows held and saying why,
and a send already queued is held again at send time. Partners already holding an open
referral are told, by a notice with nothing personal in it. The record itself stays readable
for the counter's own duty. Lifting the stop releases what waits, if a basis holds again.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from caseapp.models import Case, Client, Referral, UseStop
from caseapp.models.referrals import OPEN_STATUSES
from caseapp.models.rights import stop_in_force
from caseapp.models.types import utcnow
from caseapp.services.core import audit
from caseapp.services.core.actors import Actor
from caseapp.services.core.errors import Conflict, Invalid, NotFound
from caseapp.services.delivery import outbox, stop_notices
from caseapp.services.legal import consents

# Statuses in which the partner already has the referral (and so the person's data).
_WITH_PARTNER = ("sent", "received", "accepted", "in_progress")


def _client(session: Session, client_id: int) -> Client:
    client = session.get(Client, client_id)
    if client is None:
        raise NotFound(f"client {client_id} not found")
    if client.merged_into_id is not None:
        raise NotFound(
            f"相談者 {client_id} は {client.merged_into_id} に統合されました / "
            f"client {client_id} was merged into {client.merged_into_id}",
            extra={"merged_into": client.merged_into_id})
    return client


def _reason(text: str | None, field: str) -> str:
    text = (text or "").strip()
    if not text:
        raise Invalid("a reason is required", errors={field: ["理由を入力してください"]})
    return text


def open_referrals(session: Session, client: Client) -> list[Referral]:
    return list(session.scalars(
        select(Referral).join(Case, Referral.case_id == Case.id)
        .where(Case.client_id == client.id, Referral.status.in_(OPEN_STATUSES))
        .order_by(Referral.id)))


def stop(session: Session, actor: Actor, client_id: int, reason: str | None,
         now: datetime | None = None) -> UseStop:
    """POST /clients/{id}/stop-use."""
    now = now or utcnow()
    client = _client(session, client_id)
    reason = _reason(reason, "reason")
    current = stop_in_force(client)
    if current is not None:
        raise Conflict("use of this person's data is stopped already",
                       extra={"use_stop_id": current.id,
                              "stopped_at": current.stopped_at.isoformat()})
    row = UseStop(client=client, reason=reason, stopped_at=now, stopped_by_id=actor.user_id)
    session.add(row)
    session.flush()
    held, notified, notices = [], [], []
    for referral in open_referrals(session, client):
        if referral.status == "requested":
            consents.hold(referral, actor, note=consents.USE_STOPPED_NOTE)
            held.append(referral.id)
        elif referral.status == "awaiting_consent":
            for delivery in referral.deliveries:
                if delivery.state == "held":
                    delivery.last_error = consents.USE_STOPPED_NOTE
            held.append(referral.id)
        elif referral.status in _WITH_PARTNER:
            notices += stop_notices.add(session, referral, now)
            notified.append(referral.id)
    # Ids only: the reason may name people and stays in its own row.
    audit.record(session, actor, "stop_use", "client", client.id, purpose="rights_35",
                 detail={"use_stop_id": row.id, "held_referrals": held,
                         "notified_referrals": notified})
    session.commit()
    outbox.enqueue([d.id for d in notices])
    row.held_referrals, row.notified_referrals = held, notified
    return row


def resume(session: Session, actor: Actor, client_id: int, reason: str | None,
           now: datetime | None = None) -> UseStop:
    """POST /clients/{id}/resume-use: lift the stop; what waited leaves if a basis holds."""
    now = now or utcnow()
    client = _client(session, client_id)
    reason = _reason(reason, "reason")
    current = stop_in_force(client)
    if current is None:
        raise Conflict("use of this person's data is not stopped")
    current.lifted_at, current.lifted_by_id, current.lift_reason = now, actor.user_id, reason
    session.flush()
    waiting = consents.waiting_for_client(session, client)
    released = consents.release(session, actor, waiting, now, note="利用停止の解除により送付")
    for referral in waiting:
        for delivery in referral.deliveries:
            if delivery.state == "held" and delivery.last_error == consents.USE_STOPPED_NOTE:
                delivery.last_error = consents.NO_BASIS_NOTE  # still waiting, now for consent
    audit.record(session, actor, "resume_use", "client", client.id, purpose="rights_35",
                 detail={"use_stop_id": current.id,
                         "released_referrals": [r.id for r in released]})
    session.commit()
    outbox.enqueue([d.id for r in released for d in r.deliveries if d.state == "pending"])
    current.held_referrals, current.notified_referrals = [], []
    current.released_referrals = [r.id for r in released]
    return current
