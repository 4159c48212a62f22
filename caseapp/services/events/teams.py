"""On-the-spot teams (その場のチーム対応): which partners handled a consultation, and what next.

``referred`` and ``follow_up`` leave something that is chased afterwards — a referral per team
partner, or a dated next action on the case — so nothing decided that evening is lost.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from caseapp.domain.vocab import OPEN_STATUSES, CaseStatus, ReferralStatus, TeamOutcome
from caseapp.models import (
    Case,
    Consultation,
    ConsultationTeam,
    ConsultationTeamPartner,
    Partner,
    Referral,
)
from caseapp.models.types import utcnow
from caseapp.rules.calendar import add_business_days
from caseapp.services.core import audit
from caseapp.services.core.actors import Actor
from caseapp.services.core.errors import Conflict, Invalid, NotFound
from caseapp.services.core.lookup import get_or_404
from caseapp.services.core.results import ReadsThrough
from caseapp.services.events import events
from caseapp.services.referrals import consent_gate, lifecycle

FOLLOW_UP_BUSINESS_DAYS = 2
CONSENT_BUSINESS_DAYS = 1
DEFAULT_METHOD = "intro_letter"


def team_rule_id(event_id: int) -> str:
    """Marks the referrals a team made, so the report can tell them from routing's."""
    return f"event:{event_id}:team"


@dataclass
class TeamResult(ReadsThrough):
    team: ConsultationTeam
    created: bool
    new_referrals: list[Referral] = field(default_factory=list)

    @property
    def new_referral_ids(self) -> list[int]:
        return [r.id for r in self.new_referrals]


def record(session: Session, actor: Actor, consultation_id: int, data: dict, *,
           now: datetime | None = None) -> TeamResult:
    now = now or utcnow()
    consultation = _lock(session, consultation_id)
    event = events.require_event(consultation)
    members = _members(session, event, data["partners"])
    if data.get("follow_up_at") is not None and data["follow_up_at"] <= now:
        raise Invalid("フォローアップ日時が過ぎています（follow_up_at is in the past）",
                      errors={"follow_up_at": ["フォローアップ日時は未来の日時にしてください"]})

    try:
        team, created, previous, new_referrals = _write(session, actor, consultation, event,
                                                        members, data, now)
    except IntegrityError as exc:
        # Two staff saved the same team at once (SQLite has no row lock): the first one wins.
        session.rollback()
        raise Conflict("このチーム記録は同時に更新されました。もう一度読み込んでください") from exc
    audit.record(session, actor, "create" if created else "update", "consultation_team",
                 consultation.id, detail={
                     "event_id": event.id, "partners": [p.code for p in members],
                     "outcome": team.outcome, "referrals": [r.id for r in new_referrals],
                     "previous": previous})
    session.commit()
    return TeamResult(team, created, new_referrals)


def _write(session: Session, actor: Actor, consultation: Consultation, event, members, data,
           now: datetime):
    outcome, note = data["outcome"], data.get("note") or ""
    team = consultation.team
    created = team is None
    previous = None if created else {"partners": team.partners, "outcome": team.outcome,
                                     "note": team.note}
    if created:
        team = ConsultationTeam(consultation=consultation)
        session.add(team)
    else:
        team.members.clear()
        session.flush()  # the old rows go before the new ones meet the unique constraint
    team.outcome, team.note = outcome, note
    team.recorded_by_id, team.recorded_at = actor.user_id, now
    team.members.extend(ConsultationTeamPartner(partner=p, position=i)
                        for i, p in enumerate(members))

    new_referrals: list[Referral] = []
    if outcome == TeamOutcome.REFERRED:
        new_referrals = _refer(session, actor, consultation, event, members, note,
                               data.get("method") or DEFAULT_METHOD, now)
    elif outcome == TeamOutcome.FOLLOW_UP:
        _follow_up(consultation.case, actor, event, note, data.get("follow_up_at"), now)
    session.flush()
    return team, created, previous, new_referrals


def get(session: Session, actor: Actor, consultation_id: int) -> TeamResult:
    consultation = get_or_404(session, Consultation, consultation_id)
    if consultation.team is None:
        raise NotFound(f"相談 No. {consultation_id} には相談会の対応記録がありません"
                       f"（consultation {consultation_id} has no team record）")
    audit.record(session, actor, "read", "consultation_team", consultation.id)
    session.commit()
    return TeamResult(consultation.team, created=False)


def _lock(session: Session, consultation_id: int) -> Consultation:
    # PostgreSQL: the row lock makes a second save wait and then see the first one's team.
    return get_or_404(session, Consultation, consultation_id, with_for_update=True)


def _members(session: Session, event, codes: list[str]) -> list[Partner]:
    codes = list(dict.fromkeys(codes))
    known = {p.code: p for p in session.scalars(select(Partner).where(Partner.code.in_(codes)))}
    present = set(event.partners or [])
    errors: dict[str, list[str]] = {}
    for index, code in enumerate(codes):
        if code not in known:
            errors[f"partners[{index}]"] = [f"連携機関 {code} は登録されていません"]
        elif code not in present:
            errors[f"partners[{index}]"] = [f"連携機関 {code} はこの相談会（{event.name}）に"
                                            "参加していません"]
        elif not known[code].active:
            errors[f"partners[{index}]"] = [f"連携機関 {code} は現在無効です"]
    if errors:
        named = ", ".join(code for i, code in enumerate(codes) if f"partners[{i}]" in errors)
        raise Invalid(f"相談会 No. {event.id} に参加していない連携機関です: {named}"
                      f"（partners not present at event {event.id}: {named}）", errors=errors)
    return [known[code] for code in codes]


def _refer(session: Session, actor: Actor, consultation: Consultation, event, members,
           note: str, method: str, now: datetime) -> list[Referral]:
    """A referral to each team partner the case is not already waiting on."""
    case = consultation.case
    # A failed referral is retried by staff, not doubled here.
    waiting_on = {r.partner_id for r in case.referrals
                  if r.status in (*OPEN_STATUSES, ReferralStatus.FAILED)}
    sensitive = consent_gate.is_sensitive(consultation.topics, consultation.facts)
    reason = f"{event.name}（{event.date.isoformat()}）のチーム対応でつなぐことになりました"
    if note:
        reason += f"：{note}"
    made = []
    for partner in members:
        if partner.id in waiting_on:
            continue
        basis = consent_gate.basis_for(consultation.client, partner.code, now, sensitive=sensitive)
        made.append(lifecycle.create(session, actor, case=case, partner=partner, reason=reason,
                                     method=method, urgency=consultation.urgency, basis=basis,
                                     consultation=consultation, rule_id=team_rule_id(event.id),
                                     now=now))
    _reopen(case, actor)
    if any(r.status == ReferralStatus.AWAITING_CONSENT for r in made):
        _bring_forward(case, add_business_days(now, CONSENT_BUSINESS_DAYS),
                       "情報共有の同意を取得し、つなぎを送る")
    elif case.next_action_at is None:
        _bring_forward(case, add_business_days(now, FOLLOW_UP_BUSINESS_DAYS),
                       "つなぎ先の受理と本人の状況を確認する")
    return made


def _follow_up(case: Case, actor: Actor, event, note: str, follow_up_at: datetime | None,
               now: datetime) -> None:
    _reopen(case, actor)
    text = f"{event.name}（{event.date.isoformat()}）の継続対応"
    if note:
        text += f"：{note}"
    due = follow_up_at or add_business_days(now, FOLLOW_UP_BUSINESS_DAYS)
    if not _bring_forward(case, due, text) and text not in (case.next_action or ""):
        # An earlier step is already due: keep its date, add this one to what is to be done.
        case.next_action = f"{case.next_action}／{text}" if case.next_action else text


def _bring_forward(case: Case, due: datetime, text: str) -> bool:
    """Set the next action unless an earlier one is already planned; never postpone a date."""
    if case.next_action_at is not None and case.next_action_at <= due:
        return False
    case.next_action_at, case.next_action = due.astimezone(UTC), text
    return True


def _reopen(case: Case, actor: Actor) -> None:
    # 迷子にさせない: work decided at the event needs an open case with an owner.
    if case.status != CaseStatus.OPEN:
        case.status, case.closed_at = CaseStatus.OPEN, None
    if case.owner_id is None:
        case.owner_id = actor.user_id
