"""Closing the loop: status moves checked against the workflow, and the staff side of it.

``transition`` is the one door for a checked status change (partner inbox, acknowledgement
links, staff cancel); it adds no commit so callers keep their transaction. The staff use cases
here (listing, manual referral, cancel, marking a rejection handled) own theirs.
"""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import case as when
from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from caseapp.domain import vocab, workflow
from caseapp.domain.vocab import (
    NEEDS_REROUTING,
    OPEN_STATUSES,
    CaseStatus,
    DeliveryState,
    LegalBasis,
    ReferralStatus,
    Urgency,
)
from caseapp.models import Case, Consultation, Delivery, Partner, Referral, SupportMeeting
from caseapp.models.types import utcnow
from caseapp.rules.calendar import TOKYO, tokyo_isoformat
from caseapp.services.core import audit
from caseapp.services.core.actors import Actor
from caseapp.services.core.errors import Conflict, Forbidden, Invalid
from caseapp.services.core.lookup import get_or_404
from caseapp.services.core.pagination import Page, paginate
from caseapp.services.referrals import consent_gate, life_safety, lifecycle

# The exceptions to consent staff may declare for a manual referral.
EXCEPTIONS = tuple(basis.value for basis in vocab.EXCEPTIONS)

__all__ = ["EXCEPTIONS", "NEEDS_REROUTING", "cancel", "create_manual", "is_overdue", "listing",
           "mark_handled", "transition"]


def _conflict(referral_id: int, current: str, decision: workflow.Decision) -> Conflict:
    return Conflict(decision.reason, extra={"referral_id": referral_id, "current_status": current,
                                            "allowed": list(decision.allowed)})


def transition(session: Session, referral: Referral, new: str, actor: Actor, *,
               note: str | None = None, reason: str | None = None, outcome: str | None = None,
               now: datetime | None = None) -> Referral:
    """Move a referral one step if the workflow lets this actor do it; else Conflict (409)."""
    now = now or utcnow()
    current = referral.status
    decision = workflow.check(current, new, actor.role)
    if not decision.ok:
        raise _conflict(referral.id, current, decision)
    required = workflow.REQUIRED.get(new)
    if required == "reason" and not (reason or "").strip():
        raise Invalid(f"この変更（{new}）には理由が必要です"
                      f"（{new} needs a reason）", errors={"reason": ["理由を入力してください"]})
    if required == "outcome" and outcome not in workflow.OUTCOMES:
        raise Invalid("完了にするには結果が必要です"
                      "（completed needs an outcome）", errors={"outcome": [
            f"結果を次から選んでください: {', '.join(workflow.OUTCOMES)}"]})
    # Compare-and-set: of two concurrent moves from the same status only one finds it; the
    # other is told what happened instead of writing a second, contradictory history entry.
    moved = session.execute(
        update(Referral).where(Referral.id == referral.id, Referral.status == current)
        .values(status=new).execution_options(synchronize_session=False))
    if moved.rowcount != 1:
        session.rollback()
        fresh = session.scalar(select(Referral.status).where(Referral.id == referral.id))
        raise _conflict(referral.id, fresh, workflow.check(fresh, new, actor.role))
    history_note = reason if required == "reason" else note
    if required == "reason" and note:
        history_note = f"{reason}\n{note}"
    lifecycle.move(referral, new, actor, note=history_note, at=now)
    if required == "reason":
        referral.status_reason = reason
    if new == ReferralStatus.COMPLETED:
        referral.outcome, referral.outcome_note = outcome, note
    if new in (ReferralStatus.CANCELLED, ReferralStatus.REJECTED):
        # Nothing more goes out for a closed referral (a partner may decline before every
        # channel has delivered); a send already in flight finishes.
        session.execute(update(Delivery)
                        .where(Delivery.referral_id == referral.id,
                               Delivery.state == DeliveryState.PENDING)
                        .values(state=DeliveryState.CANCELLED, leased_until=None)
                        .execution_options(synchronize_session=False))
    return referral


def is_overdue(referral: Referral, now: datetime) -> bool:
    return (referral.status in workflow.ACK_PENDING and referral.ack_due_at is not None
            and referral.ack_due_at < now)


def listing(session: Session, actor: Actor, *, statuses=None, partner: str | None = None,
            case_id: int | None = None, overdue: bool | None = None, open_before=None,
            page: int = 1, per_page: int = 50, now: datetime | None = None) -> Page:
    """Staff view of the loop: who has what, what is overdue, what came back."""
    now = now or utcnow()
    query = select(Referral)
    if statuses:
        query = query.where(Referral.status.in_(statuses))
    if partner:
        query = (query.join(Partner, Partner.id == Referral.partner_id)
                 .where(Partner.code == partner))
    if case_id is not None:
        query = query.where(Referral.case_id == case_id)
    overdue_clause = (Referral.status.in_(workflow.ACK_PENDING) & (Referral.ack_due_at < now))
    if overdue is True:
        query = query.where(overdue_clause)
    elif overdue is False:
        query = query.where(~overdue_clause | Referral.ack_due_at.is_(None))
    if open_before is not None:
        cutoff = datetime.combine(open_before, time(), TOKYO)
        query = query.where(Referral.status.in_(OPEN_STATUSES), Referral.created_at < cutoff)
    first = when((Referral.urgency == Urgency.EMERGENCY, 0), else_=1)
    result = paginate(session, query.options(selectinload(Referral.partner))
                      .order_by(first, Referral.ack_due_at.asc().nulls_last(),
                                Referral.id.desc()), page, per_page)
    audit.record(session, actor, "list", "referral", None,
                 detail={"results": [r.id for r in result.items],
                         "filters": {"status": list(statuses or []), "partner": partner,
                                     "overdue": overdue, "case_id": case_id,
                                     "open_before": str(open_before) if open_before else None}})
    session.commit()
    return result


def create_manual(session: Session, actor: Actor, data: dict,
                  now: datetime | None = None) -> Referral:
    """A referral staff make by hand; the legal basis is found exactly as at intake."""
    now = now or utcnow()
    case = session.get(Case, data["case_id"])
    if case is None:
        raise Invalid("このケースは登録されていません"
                      "（unknown case）", errors={"case_id": ["このケースは登録されていません"]})
    partner = session.scalar(select(Partner).where(Partner.code == data["partner"]))
    if partner is None or not partner.active:
        raise Invalid("有効な連携機関ではありません（unknown or inactive partner）",
                      errors={"partner": ["有効な連携機関のコードを指定してください"]})
    if case.status != CaseStatus.OPEN:
        raise Conflict("ケースは終了しています。紹介する前にケースを再開してください"
                       "（the case is closed; reopen it before referring）",
                       extra={"case_id": case.id, "case_status": case.status})
    consultation = _consultation(session, case, data.get("consultation_id"))
    existing = session.scalar(select(Referral.id).where(
        Referral.case_id == case.id, Referral.partner_id == partner.id,
        Referral.status.in_(OPEN_STATUSES)).limit(1))
    if existing is not None:
        raise Conflict(f"このケースには {partner.code} へのつなぎ No. {existing} がまだ進行中です"
                       f"（referral {existing} to {partner.code} is still open for this case）",
                       extra={"referral_id": existing})
    sensitive = bool(consultation) and consent_gate.is_sensitive(consultation.topics,
                                                                 consultation.facts)
    exception = data.get("exception")
    basis = consent_gate.basis_for(case.client, partner.code, now, sensitive=sensitive,
                                   decision_basis=exception)
    if exception == LegalBasis.SUPPORT_MEETING:
        # The meeting's record is the basis: named now, so the referral can leave at once.
        basis = _meeting_basis(session, case, partner, data.get("meeting_id"))
    elif exception == LegalBasis.LIFE_SAFETY:
        if not (data.get("exception_reason") or "").strip():
            raise Invalid("生命・身体の保護を根拠にするときは理由を書いてください"
                          "（life_safety needs a written reason）", errors={"exception_reason": [
                "生命・身体の保護（life_safety）を根拠にするときは理由を書いてください"]})
        life_safety.check_allowed_for(case.client)
    urgency = data.get("urgency") or (consultation.urgency if consultation else Urgency.NORMAL)
    referral = lifecycle.create(session, actor, case=case, partner=partner,
                                reason=data["reason"], method=data["method"], urgency=urgency,
                                basis=basis, consultation=consultation, rule_id="manual", now=now)
    if basis == LegalBasis.LIFE_SAFETY:
        life_safety.ask_review(session, actor, referral, data["exception_reason"], now)
    session.flush()
    audit.record(session, actor, "create", "referral", referral.id,
                 detail={"case_id": case.id, "partner": partner.code, "basis": basis,
                         "exception": exception})
    session.commit()
    return referral


def _meeting_basis(session: Session, case: Case, partner: Partner,
                   meeting_id: int | None) -> str:
    if meeting_id is None:
        raise Invalid("支援会議を根拠にするときは会議の記録を指定してください"
                      "（support_meeting needs meeting_id）", errors={"meeting_id": [
            "支援会議（support_meeting）を根拠にするときは、記録した支援会議の id を指定して"
            "ください（POST /cases/{id}/support-meeting で記録）"]})
    meeting = session.get(SupportMeeting, meeting_id)
    if meeting is None or meeting.case_id != case.id:
        raise Invalid("このケースの支援会議の記録ではありません"
                      "（meeting not recorded for this case）", errors={"meeting_id": [
            "このケースの支援会議の記録ではありません"]})
    if not meeting.covers(partner.code):
        raise Invalid(f"この支援会議の構成員に {partner.code} が含まれていません"
                      "（partner not a member of the meeting）", errors={"meeting_id": [
            f"この支援会議の構成員に {partner.code} が含まれていません"]})
    return LegalBasis.SUPPORT_MEETING.on(meeting.id)


def _consultation(session: Session, case: Case, consultation_id: int | None):
    if consultation_id is not None:
        consultation = session.get(Consultation, consultation_id)
        if consultation is None or consultation.case_id != case.id:
            raise Invalid("このケースの相談ではありません（consultation not in this case）",
                          errors={"consultation_id": ["このケースの相談ではありません"]})
        return consultation
    # The latest consultation is what the partner is being asked to help with.
    return session.scalar(select(Consultation).where(Consultation.case_id == case.id)
                          .order_by(Consultation.received_at.desc(), Consultation.id.desc())
                          .limit(1))


def cancel(session: Session, actor: Actor, referral_id: int, reason: str,
           now: datetime | None = None) -> Referral:
    referral = get_or_404(session, Referral, referral_id)
    transition(session, referral, ReferralStatus.CANCELLED, actor, reason=reason, now=now)
    audit.record(session, actor, "cancel", "referral", referral.id)
    session.commit()
    return referral


def mark_handled(session: Session, actor: Actor, referral_id: int, note: str,
                 now: datetime | None = None) -> Referral:
    """The owner has dealt with a rejection or failure without a new referral (e.g. declined)."""
    referral = get_or_404(session, Referral, referral_id)
    if referral.status not in NEEDS_REROUTING:
        raise Conflict("対応済みにできるのは断られたか届かなかったつなぎだけです。"
                       f"このつなぎは {referral.status} です"
                       f"（only a rejected or failed referral is handled, not {referral.status}）",
                       extra={"current_status": referral.status})
    if referral.handled_at is not None and referral.handled_at >= referral.status_at:
        raise Conflict("既に対応済みになっています（already marked handled）",
                       extra={"handled_at": tokyo_isoformat(referral.handled_at)})
    if referral.case.owner_id != actor.user_id and actor.role not in ("supervisor", "admin"):
        raise Forbidden("対応済みにできるのはケースの担当者か管理職だけです"
                        "（only the case owner or a supervisor can mark this handled）")
    referral.handled_at, referral.handled_by_id = now or utcnow(), actor.user_id
    referral.handled_note = note
    audit.record(session, actor, "handled", "referral", referral.id)
    session.commit()
    return referral
