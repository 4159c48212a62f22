"""Small-area meetings: Hidaka's 小地域ネットワーク会議, Nakatosa's 小地域ケア会議.

The sheet laid on the table carries the area's watched people and its plan, and only those
people whose basis lets every member present see them; printing it is a disclosure and is
logged as one per person. A need found at the table goes to the counter through the ordinary
intake, routed by the rules like any other consultation, in the same transaction as the review
that links it back to the meeting and the person.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from caseapp.domain.community import (
    ATTENTION,
    EVALUATION_LABELS,
    MEETING_LABELS,
    MEMBER_ROLE_LABELS,
    VISIT_LABELS,
    AreaLevel,
    MeetingKind,
    MemberRole,
    TaskKind,
    in_term,
    visible_to_roles,
)
from caseapp.domain.vocab import ConsultationChannel
from caseapp.jp.wareki import format_wareki
from caseapp.models import (
    Area,
    Meeting,
    MeetingReview,
    Member,
    PlanEvaluation,
    PlanItem,
    WatchDisclosure,
    WatchEntry,
)
from caseapp.models.types import utcnow
from caseapp.rules.calendar import TOKYO, next_business_morning
from caseapp.services.community import areas, members, queue, watch
from caseapp.services.core import audit
from caseapp.services.core.actors import Actor
from caseapp.services.core.errors import Conflict, Invalid
from caseapp.services.core.lookup import get_or_404, not_found
from caseapp.services.core.results import ReadsThrough
from caseapp.services.intake import consultations as intake

STAFF_ROLE = "staff"  # 社協・役場 at the table: they may see what the counter may
STAFF_LABEL = "職員"


@dataclass
class MeetingDetails(ReadsThrough):
    meeting: Meeting
    kind_label: str
    area_code: str
    area_name: str
    reviews: list = field(default_factory=list)
    evaluations: list = field(default_factory=list)


def details(meeting: Meeting, *, full: bool) -> MeetingDetails:
    return MeetingDetails(meeting, MEETING_LABELS[meeting.kind], meeting.area.code,
                          meeting.area.name, list(meeting.reviews) if full else [],
                          list(meeting.evaluations) if full else [])


def create(session: Session, actor: Actor, data: dict) -> MeetingDetails:
    area = areas.by_code(session, data["area"])
    errors: dict[str, list[str]] = {}
    if area.level != AreaLevel.SMALL_AREA:
        errors["area"] = ["会議は小地域ごとに記録します（small_area のコードを指定してください）"]
    attendees = _attendees(session, area, data["held_on"], data.get("attendees") or [], errors)
    if errors:
        raise Invalid("入力内容に誤りがあります", errors=errors)
    now = utcnow()
    meeting = Meeting(kind=data["kind"], area=area, held_on=data["held_on"], attendees=attendees,
                      note=data.get("note") or "", created_by_id=actor.user_id, created_at=now)
    session.add(meeting)
    session.flush()
    areas.refresh_meeting_due(session, area)
    queue.close_pending(session, kind=TaskKind.MEETING_OVERDUE, area_id=area.id, now=now,
                        note="会議の開催により解消")
    audit.record(session, actor, "create", "community_meeting", meeting.id,
                 detail={"area": area.code, "kind": meeting.kind,
                         "attendees": len(attendees)})
    session.commit()
    return details(meeting, full=True)


def _attendees(session: Session, area: Area, held_on: date, given: list[dict],
               errors: dict) -> list[dict]:
    ids = [a["member_id"] for a in given if a.get("member_id") is not None]
    found = {m.id: m for m in session.scalars(select(Member).where(Member.id.in_(ids)))}
    out: list[dict] = []
    for index, entry in enumerate(given):
        where = f"attendees[{index}]"
        if entry.get("member_id") is not None:
            member = found.get(entry["member_id"])
            if member is None or member.area_id != area.id:
                errors[where] = [f"委員 {entry['member_id']} はこの小地域の委員ではありません"]
            elif not in_term(member.term_from, member.term_to, held_on):
                errors[where] = [f"委員 {member.id} は開催日に任期外です"]
            else:
                out.append({"member_id": member.id, "name": member.name, "role": member.role})
            continue
        if not entry.get("name") or not entry.get("role"):
            errors[where] = ["委員は member_id で、それ以外の出席者は name と role で"
                             "指定してください"]
            continue
        out.append({"member_id": None, "name": entry["name"], "role": entry["role"]})
    return out


def _load(session: Session, actor: Actor, meeting_id: int) -> Meeting:
    meeting = session.scalar(select(Meeting).options(selectinload(Meeting.area))
                             .where(Meeting.id == meeting_id))
    if meeting is None:
        raise not_found("meeting", meeting_id)
    if actor.role == members.ROLE:
        member = members.require(session, actor)
        # Only a member who sat at this table sees it; for anyone else it is not there.
        if member.area_id != meeting.area_id or member.id not in _member_ids(meeting):
            raise not_found("meeting", meeting_id)
    return meeting


def _member_ids(meeting: Meeting) -> set[int]:
    return {a["member_id"] for a in meeting.attendees or [] if a.get("member_id")}


def get(session: Session, actor: Actor, meeting_id: int) -> MeetingDetails:
    meeting = _load(session, actor, meeting_id)
    audit.record(session, actor, "read", "community_meeting", meeting.id)
    session.commit()
    return details(meeting, full=actor.role != members.ROLE)


def in_area(session: Session, actor: Actor, area_code: str) -> list[MeetingDetails]:
    """An area's meetings, newest first (staff: a member reads only the ones they attended)."""
    area = areas.get_by_code(session, area_code)
    rows = list(session.scalars(select(Meeting).options(selectinload(Meeting.area))
                                .where(Meeting.area_id == area.id)
                                .order_by(Meeting.held_on.desc(), Meeting.id.desc())))
    if actor.role == members.ROLE:
        member = members.require(session, actor)
        rows = [m for m in rows if member.id in _member_ids(m)]
    audit.record(session, actor, "list", "community_meeting", None,
                 detail={"area": area.code, "results": [m.id for m in rows]})
    session.commit()
    return [details(m, full=False) for m in rows]


# --------------------------------------------------------------------------- the sheet


def attendee_roles(meeting: Meeting) -> list[str]:
    """The community roles at the table; staff are not counted (they may see it anyway)."""
    return [a["role"] for a in meeting.attendees or [] if a["role"] in tuple(MemberRole)]


def role_label(role: str) -> str:
    return STAFF_LABEL if role == STAFF_ROLE else MEMBER_ROLE_LABELS.get(role, role)


def sheet(session: Session, actor: Actor, meeting_id: int) -> dict:
    """What the printed sheet carries; each person on it is recorded as disclosed."""
    meeting = _load(session, actor, meeting_id)
    roles = attendee_roles(meeting)
    entries = watch.active_in_area(session, meeting.area_id)
    shown = [e for e in entries if visible_to_roles(e.basis_scope or [], roles)]
    recipients = [f"{a['name']}（{role_label(a['role'])}）" for a in meeting.attendees or []]
    now = utcnow()
    for entry in shown:
        session.add(WatchDisclosure(
            at=now, meeting_id=meeting.id, watch_id=entry.id, client_id=entry.client_id,
            actor_id=actor.user_id, actor_label=actor.label, recipients=recipients,
            fields=list(watch.MEMBER_FIELDS), basis=entry.basis))
    items = plan_items(session, meeting.area_id)
    audit.record(session, actor, "print", "community_meeting", meeting.id,
                 detail={"format": "pdf", "watch_ids": [e.id for e in shown],
                         "withheld": len(entries) - len(shown)})
    session.commit()
    area = meeting.area
    return {
        "title": f"{MEETING_LABELS[meeting.kind]}　{area.name}",
        "municipality": (areas.municipality_of(area).name if areas.municipality_of(area)
                         else ""),
        "held_on": format_wareki(meeting.held_on), "kind": meeting.kind,
        "attendees": recipients,
        "people": [{"name": e.client.name or "", "address": e.client.address or "",
                    "watch_for": e.watch_for,
                    "last_visit": _last_visit(e)} for e in shown],
        "withheld": len(entries) - len(shown),
        "plan": [{"title": i.title, "target": i.target, "owner": i.owner,
                  "last": EVALUATION_LABELS.get(i.evaluations[-1].rating)
                  if i.evaluations else None} for i in items],
        "printed_at": now.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M"),
        "printed_by": actor.label,
    }


def _last_visit(entry: WatchEntry) -> str:
    if entry.last_visit_at is None:
        return "未訪問"
    day = entry.last_visit_at.astimezone(TOKYO).strftime("%Y-%m-%d")
    return f"{day} {VISIT_LABELS.get(entry.last_visit_status, entry.last_visit_status)}"


def plan_items(session: Session, area_id: int) -> list[PlanItem]:
    return list(session.scalars(select(PlanItem).options(selectinload(PlanItem.evaluations))
                                .where(PlanItem.area_id == area_id, PlanItem.active.is_(True))
                                .order_by(PlanItem.id)))


# --------------------------------------------------------------------------- reviews


@dataclass
class ReviewResult(ReadsThrough):
    review: MeetingReview
    routed_to: list[str] = field(default_factory=list)


def review(session: Session, actor: Actor, meeting_id: int, data: dict) -> ReviewResult:
    meeting = get_or_404(session, Meeting, meeting_id)
    entry = session.get(WatchEntry, data["watch_id"])
    if entry is None or entry.area_id != meeting.area_id:
        raise Invalid("この会議の小地域の見守り対象者ではありません（not watched in this area）",
                      errors={"watch_id": ["この会議の小地域の見守り対象者ではありません"]})
    if session.scalar(select(MeetingReview.id).where(MeetingReview.meeting_id == meeting.id,
                                                      MeetingReview.watch_id == entry.id)):
        raise Conflict("この方はこの会議で確認済みです（already reviewed at this meeting）")
    now = utcnow()
    row = MeetingReview(meeting_id=meeting.id, watch_id=entry.id, status=data["status"],
                        note=data.get("note") or "", recorded_by_id=actor.user_id,
                        created_at=now)
    session.add(row)
    watch.end_for_review(entry, data["status"], now)
    if data["status"] in ATTENTION:  # as a visit would: the coordinator acts next business day
        session.flush()
        queue.schedule_attention(session, watch=entry, review_id=row.id,
                                 due_at=next_business_morning(now), now=now)
    need = data.get("need")
    audit.record(session, actor, "create", "meeting_review", None,
                 detail={"meeting_id": meeting.id, "watch_id": entry.id,
                         "need": need is not None})
    if need is None:
        session.commit()
        return ReviewResult(row)
    label = MEETING_LABELS[meeting.kind]
    summary = (f"【{label}（{meeting.area.name}、{meeting.held_on.isoformat()}）で把握】"
               f"{need['summary']}")
    result = intake.record(session, actor, {
        "client_id": entry.client_id, "channel": ConsultationChannel.OUTREACH,
        "topics": need["topics"], "summary": summary,
        "urgency": need.get("urgency") or "normal", "facts": {}},
        now=now, link=lambda consultation: setattr(row, "consultation", consultation))
    return ReviewResult(row, [r.partner.code for r in result.consultation.referrals])


# --------------------------------------------------------------------------- evaluations


def evaluate(session: Session, actor: Actor, meeting_id: int, rows: list[dict]
             ) -> list[PlanEvaluation]:
    meeting = get_or_404(session, Meeting, meeting_id)
    if meeting.kind != MeetingKind.NETWORK_ACTIVITY:
        raise Conflict("計画の評価は地域福祉活動ネットワーク会議（network_activity）で記録します")
    ids = [r["item_id"] for r in rows]
    items = {i.id: i for i in session.scalars(select(PlanItem).where(PlanItem.id.in_(ids)))}
    errors = {f"evaluations[{n}].item_id": ["この小地域の計画の項目ではありません"]
              for n, r in enumerate(rows)
              if r["item_id"] not in items or items[r["item_id"]].area_id != meeting.area_id}
    if errors:
        raise Invalid("入力内容に誤りがあります", errors=errors)
    existing = {e.item_id: e for e in session.scalars(
        select(PlanEvaluation).where(PlanEvaluation.meeting_id == meeting.id))}
    out = []
    for r in rows:
        evaluation = existing.get(r["item_id"])
        if evaluation is None:  # a second posting for an item corrects the first
            evaluation = PlanEvaluation(item_id=r["item_id"], meeting_id=meeting.id,
                                        created_at=utcnow())
            session.add(evaluation)
            existing[r["item_id"]] = evaluation
        evaluation.rating, evaluation.note = r["rating"], r.get("note") or ""
        out.append(evaluation)
    audit.record(session, actor, "update", "plan_evaluation", None,
                 detail={"meeting_id": meeting.id, "items": ids})
    session.commit()
    return out

