"""ホーム's queue: what a counter worker has to do now, emergencies first.

Next actions due today (Tokyo) or overdue on the worker's own or unowned cases, cases that are
lost (no owner, no or an overdue next step, a dead-end referral), referrals waiting for
consent, the worker's unread alerts and their latest open cases. Reading it is audited as a
list of cases.
"""

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from caseapp.domain.vocab import CaseStatus, ReferralStatus, Urgency
from caseapp.models import Case, Consultation, Referral
from caseapp.models.types import utcnow
from caseapp.rules.calendar import TOKYO
from caseapp.services.casework import alerts, cases
from caseapp.services.core import audit
from caseapp.services.core.actors import Actor

LIMIT = 50
RECENT = 10


@dataclass
class Queue:
    now: datetime
    due: list[Case] = field(default_factory=list)
    lost: list[Case] = field(default_factory=list)
    awaiting_consent: list[Referral] = field(default_factory=list)
    alerts: list = field(default_factory=list)
    recent: list[Case] = field(default_factory=list)  # the worker's open cases, newest first
    emergencies: set[int] = field(default_factory=set)  # case ids
    home_area: object = None  # the 地区 or 小地域 whose center the worker works at
    home: set[int] = field(default_factory=set)  # ids of cases of people living there
    alert_cases: dict[int, int] = field(default_factory=dict)  # referral id -> case id

    def overdue(self, case: Case) -> bool:
        return case.next_action_at is not None and case.next_action_at < self.now


def _emergency():
    return exists().where(Consultation.case_id == Case.id,
                          Consultation.urgency == Urgency.EMERGENCY)


def end_of_today(now: datetime) -> datetime:
    today = now.astimezone(TOKYO).date()
    return datetime.combine(today + timedelta(days=1), time(0), TOKYO)


def for_actor(session: Session, actor: Actor, now: datetime | None = None) -> Queue:
    now = now or utcnow()
    queue = Queue(now=now)
    emergency_first = _emergency().desc()
    # Hub staff see the cases of their own 地区 next, after any emergency.
    queue.home_area = cases.home_area_of(session, actor)
    home = cases.home_first(session, queue.home_area)
    mine = or_(Case.owner_id == actor.user_id, Case.owner_id.is_(None))
    queue.due = list(session.scalars(
        select(Case).where(Case.status == CaseStatus.OPEN, mine,
                           Case.next_action_at.is_not(None),
                           Case.next_action_at < end_of_today(now))
        .order_by(emergency_first, *home, Case.next_action_at, Case.id).limit(LIMIT)))
    due_ids = {c.id for c in queue.due}
    queue.lost = [c for c in session.scalars(
        cases.lost_query(now).order_by(emergency_first, *home,
                                       Case.next_action_at.asc().nulls_first(),
                                       Case.id).limit(LIMIT)) if c.id not in due_ids]
    queue.awaiting_consent = list(session.scalars(
        select(Referral).join(Case, Case.id == Referral.case_id)
        .where(Referral.status == ReferralStatus.AWAITING_CONSENT, mine)
        .order_by(emergency_first, *home, Referral.created_at, Referral.id).limit(LIMIT)))
    queue.alerts = alerts.listing(session, actor, unread=True, page=1, per_page=LIMIT).items
    queue.recent = list(session.scalars(
        select(Case).where(Case.status == CaseStatus.OPEN, Case.owner_id == actor.user_id)
        .order_by(Case.created_at.desc(), Case.id.desc()).limit(RECENT)))
    referral_ids = {a.referral_id for a in queue.alerts if a.referral_id is not None}
    if referral_ids:
        queue.alert_cases = dict(session.execute(
            select(Referral.id, Referral.case_id).where(Referral.id.in_(referral_ids))).all())
    case_ids = (due_ids | {c.id for c in queue.lost} | {c.id for c in queue.recent}
                | {r.case_id for r in queue.awaiting_consent})
    if case_ids:
        queue.emergencies = set(session.scalars(
            select(Consultation.case_id).where(Consultation.case_id.in_(case_ids),
                                               Consultation.urgency == Urgency.EMERGENCY)))
    if case_ids and queue.home_area is not None:
        queue.home = set(session.scalars(select(Case.id).where(
            Case.id.in_(case_ids), cases.in_home_area(session, queue.home_area))))
    audit.record(session, actor, "list", "case", None,
                 detail={"queue": True, "results": sorted(case_ids)})
    session.commit()
    return queue
