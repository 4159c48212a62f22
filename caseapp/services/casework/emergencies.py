"""The emergency protocol: a person in danger is acted on within the hour.

When routing finds danger to life or body (a rule of urgency ``emergency`` fired, or staff set
it), intake records which rules and which words set it off, alerts every supervisor at once
(an alert row, and an e-mail carrying no personal data when SMTP is configured), and makes the
case's next action due within the hour rather than on a business day. docs/emergency.md.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from caseapp.domain.vocab import CaseStatus, LegalBasis
from caseapp.models import Case, Consultation, Emergency, SafetyReview
from caseapp.rules import Danger
from caseapp.rules.calendar import TOKYO
from caseapp.services.casework import alerts
from caseapp.services.core.actors import Actor

ACT_WITHIN = timedelta(hours=1)
NEXT_ACTION = ("【緊急】本人の安全を確認し、つなぎ先（福祉保健所・自立相談支援機関など）と"
               "直ちに対応する")


def action_due(now: datetime) -> datetime:
    return now + ACT_WITHIN


def start(session: Session, actor: Actor, consultation: Consultation, dangers: list[Danger],
          now: datetime) -> Emergency:
    """Record the emergency and alert the supervisors; a step of intake (no commit).

    The consultation, its case and its referrals must have ids (flushed).
    """
    due = action_due(now)
    words = list(dict.fromkeys(w for d in dangers for w in d.words))
    rule_ids = [d.rule_id for d in dangers] or ["urgency"]
    # Numbers and rule ids only: the e-mail copy of an alert must carry nothing personal.
    alert = alerts.raise_alert(
        session, "emergency", config=alerts.current_config(), role="supervisor",
        message=(f"【緊急】ケース #{consultation.case_id}（相談 No. {consultation.id}）で生命・"
                 f"身体の危険や今夜の居場所がないことをうかがわせる相談を受け付けました"
                 f"（ルール: {', '.join(rule_ids)}）。"
                 f"{due.astimezone(TOKYO):%m月%d日 %H:%M} までに本人の安全の確認と対応を"
                 "指示してください。内容はシステムで確認してください"
                 "（このメールには相談者の個人情報は含まれていません）。"))
    session.flush()
    emergency = Emergency(consultation=consultation, case_id=consultation.case_id,
                          dangers=[d.to_dict() for d in dangers], words=words,
                          alert_id=alert.id, action_due_at=due, detected_at=now)
    session.add(emergency)
    for referral in consultation.referrals:
        if referral.legal_basis == LegalBasis.LIFE_SAFETY:
            # Sent without consent by a rule: a supervisor reviews it afterwards too.
            session.add(SafetyReview(referral=referral, reason=f"ルール {referral.rule_id}: "
                                     f"{referral.reason}", invoked_by_id=actor.user_id,
                                     invoked_by_label=actor.label, invoked_at=now,
                                     alert_id=alert.id))
    return emergency


def schedule(case: Case, now: datetime) -> None:
    """The case's next action: within the hour, whatever was planned before."""
    due = action_due(now)
    if case.next_action_at is None or due < case.next_action_at:
        case.next_action_at = due
    case.next_action = NEXT_ACTION


def in_emergency():
    """SQL: an open case with a consultation that set off the protocol."""
    return (Case.status == CaseStatus.OPEN) & exists(
        select(Emergency.id).where(Emergency.case_id == Case.id))


def of_case(session: Session, case_id: int) -> Emergency | None:
    """The latest emergency of a case."""
    return session.scalar(select(Emergency).where(Emergency.case_id == case_id)
                          .order_by(Emergency.id.desc()).limit(1))
