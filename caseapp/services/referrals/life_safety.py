"""Sharing without consent to protect life or body (個人情報保護法 §27(1)(ii)), reviewed after.

Staff rest a waiting referral on ``life_safety`` in one call with a written reason: it leaves
at once (its outbox rows reach the broker when the call commits), the disclosure log records
the basis, and a supervisor is asked to review the decision afterwards (a review row and an
alert). docs/emergency.md.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from caseapp.domain.legal_basis import stop_in_force
from caseapp.domain.vocab import LegalBasis, ReferralStatus, SafetyReviewOutcome
from caseapp.models import Referral, SafetyReview
from caseapp.models.types import utcnow
from caseapp.services.casework import alerts
from caseapp.services.core import audit
from caseapp.services.core.actors import Actor
from caseapp.services.core.errors import Conflict
from caseapp.services.core.lookup import get_or_404
from caseapp.services.referrals import lifecycle, staff_view

LAW = "個人情報保護法 第27条第1項第2号（人の生命・身体の保護のため、本人の同意を得ることが困難）"


def _client_of(referral: Referral):
    if referral.consultation is not None and referral.consultation.client is not None:
        return referral.consultation.client
    return referral.case.client


def ask_review(session: Session, actor: Actor, referral: Referral, reason: str,
               now: datetime) -> SafetyReview:
    """The review row and the supervisors' alert; a step of the caller's use case."""
    # The reason may name the person: the alert (and its e-mail copy) carries only numbers.
    alert = alerts.raise_alert(
        session, "life_safety_review", config=alerts.current_config(), role="supervisor",
        referral=referral, partner=referral.partner,
        message=(f"つなぎ No. {referral.id}（{referral.partner.name}）を、生命・身体の保護のため"
                 f"本人の同意を得ずに送付しました（{LAW}）。職員が記録した理由を確認し、"
                 f"POST /api/v1/referrals/{referral.id}/life-safety/review で事後確認を記録して"
                 "ください。このメールには相談者の個人情報は含まれていません。"))
    review = SafetyReview(referral=referral, reason=reason, invoked_by_id=actor.user_id,
                          invoked_by_label=actor.label, invoked_at=now, alert=alert)
    session.add(review)
    return review


def check_allowed_for(client) -> None:
    if stop_in_force(client) is not None:
        # 利用停止 (§35) outranks every basis until a supervisor lifts it (docs/emergency.md).
        raise Conflict("この方の情報は利用停止中のため送付できません。"
                       "先に管理職が利用停止を解除してください"
                       "（use of this person's data is stopped; a supervisor must lift "
                       "the stop first）",
                       extra={"client_id": client.id})


def invoke(session: Session, actor: Actor, referral_id: int, reason: str,
           now: datetime | None = None) -> staff_view.ReferralDetail:
    """POST /referrals/{id}/life-safety: send a waiting referral now on life_safety."""
    now = now or utcnow()
    referral = get_or_404(session, Referral, referral_id)
    if referral.status != ReferralStatus.AWAITING_CONSENT:
        raise Conflict(
            "生命・身体の保護を根拠に送付できるのは同意待ちのつなぎだけです。"
            f"このつなぎは {referral.status} です（only a referral awaiting consent is sent on "
            f"life_safety (this one is {referral.status})）",
            extra={"referral_id": referral.id, "current_status": referral.status})
    check_allowed_for(_client_of(referral))
    referral.legal_basis = LegalBasis.LIFE_SAFETY
    lifecycle.move(referral, ReferralStatus.REQUESTED, actor, at=now,
                   note=f"生命・身体の保護のため同意を得ずに送付（{LAW}）: {reason}")
    lifecycle.add_deliveries(session, referral, now=now)
    asked = ask_review(session, actor, referral, reason, now)
    session.flush()
    audit.record(session, actor, "life_safety", "referral", referral.id,
                 detail={"basis": LegalBasis.LIFE_SAFETY, "review_id": asked.id})
    session.commit()
    return staff_view.get(session, actor, referral.id)


def review(session: Session, actor: Actor, referral_id: int, outcome: str, note: str,
           now: datetime | None = None) -> staff_view.ReferralDetail:
    """A supervisor's review, afterwards, of the referral's latest life_safety decision."""
    now = now or utcnow()
    referral = get_or_404(session, Referral, referral_id)
    row = session.scalar(select(SafetyReview).where(SafetyReview.referral_id == referral.id)
                         .order_by(SafetyReview.id.desc()).limit(1))
    if row is None:
        raise Conflict("生命・身体の保護を根拠に送付したつなぎではありません"
                       "（this referral was not sent on life_safety）",
                       extra={"referral_id": referral.id})
    if row.reviewed_at is not None:
        raise Conflict("事後確認は記録済みです（already reviewed）",
                       extra={"referral_id": referral.id, "outcome": row.outcome})
    row.reviewed_at, row.reviewed_by_id, row.reviewed_by_label = now, actor.user_id, actor.label
    row.outcome, row.note = SafetyReviewOutcome(outcome), note
    if row.alert is not None and row.alert.read_at is None:
        row.alert.read_at, row.alert.read_by_id = now, actor.user_id
    audit.record(session, actor, "review", "referral", referral.id,
                 detail={"review_id": row.id, "outcome": row.outcome})
    session.commit()
    return staff_view.get(session, actor, referral.id)
