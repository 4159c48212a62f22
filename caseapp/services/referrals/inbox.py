"""The partner's side of the loop: its own referrals only, only the fields it needs.

Ownership is part of every query, not a check after loading: another partner's referral is
indistinguishable from one that does not exist (404), and every such attempt is audited.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import case, select
from sqlalchemy.orm import Session, selectinload

from caseapp.domain import partner_view, workflow
from caseapp.domain.vocab import ReferralStatus, Urgency
from caseapp.models import Case, Client, Consultation, Partner, Referral, User
from caseapp.models.types import utcnow
from caseapp.services.core import audit
from caseapp.services.core.actors import Actor
from caseapp.services.core.errors import DomainError, Invalid
from caseapp.services.core.lookup import not_found
from caseapp.services.core.pagination import Page, paginate
from caseapp.services.referrals import loop

PURPOSE = "partner_inbox"
# Not yet acknowledged: what a partner has still to open.
NEW_STATUSES = (ReferralStatus.REQUESTED, ReferralStatus.SENT)
NOTE_MAX = 2000

_LOAD = (
    selectinload(Referral.partner),
    selectinload(Referral.case).selectinload(Case.client).selectinload(Client.consents),
    selectinload(Referral.consultation).selectinload(Consultation.topic_rows),
)


def _visible(partner_id: int | None):
    return select(Referral).where(
        Referral.partner_id == (partner_id if partner_id is not None else -1),
        Referral.status.in_(partner_view.VISIBLE_STATUSES),
        Referral.legal_basis.is_not(None))


def _own(session: Session, actor: Actor, referral_id: int, action: str) -> Referral:
    referral = session.scalar(_visible(actor.partner_id).where(Referral.id == referral_id)
                              .options(*_LOAD))
    if referral is None:
        # Probing for ids is worth knowing about; the row commits even though we answer 404.
        audit.record(session, actor, action, "referral", referral_id, purpose=PURPOSE,
                     outcome="denied", detail={"partner_id": actor.partner_id})
        session.commit()
        raise not_found("referral", referral_id)
    return referral


def _roles(session: Session, referral: Referral) -> dict[int, str]:
    ids = {e.actor_id for e in referral.history if e.actor_id is not None}
    if not ids:
        return {}
    return dict(session.execute(select(User.id, User.role).where(User.id.in_(ids))).all())


def _overdue_clause(now: datetime):
    return Referral.status.in_(workflow.ACK_PENDING) & (Referral.ack_due_at < now)


def attention(view: dict, now: datetime) -> str | None:
    """``overdue`` when the partner's answer is past due, ``new`` when not yet acknowledged."""
    due = view.get("ack_due_at")
    if view["status"] in workflow.ACK_PENDING and due is not None and due < now:
        return "overdue"
    return "new" if view["status"] in NEW_STATUSES else None


def partner_name(session: Session, actor: Actor) -> str | None:
    """The name of the partner the actor works for (shown on its pages)."""
    if actor.partner_id is None:
        return None
    return session.scalar(select(Partner.name).where(Partner.id == actor.partner_id))


def listing(session: Session, actor: Actor, *, statuses=None,
            updated_since: datetime | None = None, page: int = 1, per_page: int = 50,
            attention_first: bool = False, now: datetime | None = None) -> Page:
    """The partner's referrals, newest first; with ``attention_first`` overdue ones, then
    those not yet acknowledged, lead."""
    now = now or utcnow()
    query = _visible(actor.partner_id)
    if statuses:
        query = query.where(Referral.status.in_(statuses))
    if updated_since is not None:
        query = query.where(Referral.updated_at >= updated_since)
    # A person in danger first: the partner sees an emergency before the rest of its queue.
    order = [case((Referral.urgency == Urgency.EMERGENCY, 0), else_=1), Referral.id.desc()]
    if attention_first:
        order.insert(1, case((_overdue_clause(now), 0),
                             (Referral.status.in_(NEW_STATUSES), 1), else_=2))
    rows = paginate(session, query.options(*_LOAD).order_by(*order), page, per_page)
    views, items = [], set()
    for referral in rows.items:
        view, disclosed = partner_view.build(referral, detail=False, now=now)
        views.append(view)
        items.update(disclosed)
    audit.record(session, actor, "list", "referral", None, purpose=PURPOSE,
                 detail={"partner_id": actor.partner_id, "results": [r.id for r in rows.items],
                         "items": sorted(items)})
    session.commit()
    return replace(rows, items=views)


def get(session: Session, actor: Actor, referral_id: int, now: datetime | None = None) -> dict:
    now = now or utcnow()
    referral = _own(session, actor, referral_id, "read")
    return _disclose(session, actor, referral, "read", now)


def _disclose(session: Session, actor: Actor, referral: Referral, action: str,
              now: datetime) -> dict:
    view, disclosed = partner_view.build(referral, detail=True, now=now,
                                         roles=_roles(session, referral))
    # 個人情報保護法 §29: who received which items, on what basis.
    audit.record(session, actor, action, "referral", referral.id, purpose=PURPOSE,
                 detail={"partner_id": actor.partner_id, "items": disclosed,
                         "basis": referral.legal_basis})
    session.commit()
    return view


def set_status(session: Session, actor: Actor, referral_id: int, data: dict,
               now: datetime | None = None) -> dict:
    now = now or utcnow()
    referral = _own(session, actor, referral_id, "update")
    if len(data.get("note") or "") > NOTE_MAX:  # the API's schema stops it earlier
        raise Invalid(f"メモは {NOTE_MAX} 文字以内にしてください"
                      "（note too long）", errors={"note": [f"{NOTE_MAX} 文字以内にしてください"]})
    try:
        loop.transition(session, referral, data["status"], actor, note=data.get("note"),
                        reason=data.get("reason"), outcome=data.get("outcome"), now=now)
    except DomainError as exc:
        session.rollback()
        audit.record(session, actor, "update", "referral", referral_id, purpose=PURPOSE,
                     outcome="refused", detail={"status": data["status"], "why": exc.detail})
        session.commit()
        raise
    session.flush()
    return _disclose(session, actor, referral, "update", now)
