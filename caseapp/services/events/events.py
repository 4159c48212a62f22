"""Consultation events (相談会, e.g. the night session 夜間相談会): the event and its queue."""

from dataclasses import dataclass, replace
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from caseapp.models import (
    Consultation,
    ConsultationTeam,
    ConsultationTeamPartner,
    Event,
    Partner,
    Referral,
)
from caseapp.rules.calendar import TOKYO
from caseapp.services.core import audit
from caseapp.services.core.actors import Actor
from caseapp.services.core.errors import Conflict, Invalid
from caseapp.services.core.lookup import get_or_404
from caseapp.services.core.pagination import Page, paginate
from caseapp.services.core.results import ReadsThrough

# One sitting: a typo in the end time (wrong day or month) is caught rather than stored.
MAX_LENGTH = timedelta(hours=24)
FIELDS = ("name", "date", "starts_at", "ends_at", "venue")


@dataclass
class EventDetails(ReadsThrough):
    """An event with the names and specialists of the partners present and its count."""

    event: Event
    partner_details: list[dict]
    consultation_count: int


def create(session: Session, actor: Actor, data: dict) -> EventDetails:
    event = Event(partners=[], specialists={})
    _apply(session, event, data, creating=True)
    session.add(event)
    session.flush()
    audit.record(session, actor, "create", "event", event.id,
                 detail={"partners": list(event.partners)})
    session.commit()
    return add_details(session, [event])[0]


def update(session: Session, actor: Actor, event_id: int, data: dict) -> EventDetails:
    event = get_or_404(session, Event, event_id)
    _apply(session, event, data, creating=False)
    audit.record(session, actor, "update", "event", event.id, detail={"fields": sorted(data)})
    session.commit()
    return add_details(session, [event])[0]


def get(session: Session, event_id: int) -> EventDetails:
    return add_details(session, [get_or_404(session, Event, event_id)])[0]


def listing(session: Session, *, page: int, per_page: int, since: date | None = None,
            until: date | None = None) -> Page:
    query = select(Event)
    if since is not None:
        query = query.where(Event.date >= since)
    if until is not None:
        query = query.where(Event.date <= until)
    result = paginate(session, query.order_by(Event.date.desc(), Event.id.desc()), page, per_page)
    return replace(result, items=add_details(session, result.items))


def consultation_counts(session: Session, event_ids: list[int]) -> dict[int, int]:
    if not event_ids:
        return {}
    rows = session.execute(select(Consultation.event_id, func.count())
                           .where(Consultation.event_id.in_(event_ids))
                           .group_by(Consultation.event_id))
    return dict(rows.all())


def queue(session: Session, actor: Actor, event_id: int, *, page: int, per_page: int
          ) -> Page:
    """The evening's consultations in the order they came in, with team and referrals."""
    event = get_or_404(session, Event, event_id)
    query = select(Consultation).where(Consultation.event_id == event.id)
    result = paginate(session, query.options(
        selectinload(Consultation.client), selectinload(Consultation.topic_rows),
        selectinload(Consultation.case),
        selectinload(Consultation.team).selectinload(ConsultationTeam.members)
        .selectinload(ConsultationTeamPartner.partner),
        selectinload(Consultation.referrals).selectinload(Referral.partner))
        .order_by(Consultation.received_at, Consultation.id), page, per_page)
    # The queue shows names: a read of personal data, so it is audited like a search.
    audit.record(session, actor, "list", "consultation", None,
                 detail={"event_id": event.id, "results": [c.id for c in result.items]})
    session.commit()
    return result


def queue_stamp(session: Session, event_id: int) -> str:
    """What changes when the queue board would: a walk-in, a team record, a referral moving.

    Counts and latest times only, no personal data, so a board can ask every few seconds
    without a read to audit; it reloads the queue (an audited read) when the stamp moves.
    """
    event = get_or_404(session, Event, event_id)
    of_event = Consultation.event_id == event.id
    arrivals = session.execute(select(func.count(), func.max(Consultation.id))
                               .where(of_event)).one()
    team = session.execute(
        select(func.count(), func.max(ConsultationTeam.recorded_at))
        .join(Consultation, Consultation.id == ConsultationTeam.consultation_id)
        .where(of_event)).one()
    referrals = session.execute(
        select(func.count(), func.max(Referral.updated_at), func.max(Referral.status_at))
        .join(Consultation, Consultation.id == Referral.consultation_id).where(of_event)).one()
    session.commit()
    parts = [*arrivals, *team, *referrals]
    return "-".join("0" if p is None else str(p.timestamp() if hasattr(p, "timestamp") else p)
                    for p in parts)


def add_details(session: Session, items: list[Event]) -> list[EventDetails]:
    """Partner names, specialists and consultation counts for a page of events, in two queries."""
    codes = {code for event in items for code in event.partners or []}
    names = dict(session.execute(select(Partner.code, Partner.name)
                                 .where(Partner.code.in_(codes))).all()) if codes else {}
    counts = consultation_counts(session, [event.id for event in items])
    return [EventDetails(event,
                         [{"code": code, "name": names.get(code),
                           "specialists": (event.specialists or {}).get(code, [])}
                          for code in event.partners or []],
                         counts.get(event.id, 0))
            for event in items]


def _apply(session: Session, event: Event, data: dict, *, creating: bool) -> None:
    """Validate the whole event as it would be after the change; report every problem at once."""
    values = {key: data[key] if key in data else getattr(event, key) for key in FIELDS}
    errors: dict[str, list[str]] = {}
    starts_at, ends_at = values["starts_at"], values["ends_at"]
    if values["date"] is None and starts_at is not None:
        values["date"] = starts_at.astimezone(TOKYO).date()
    if values["date"] is None:
        errors["date"] = ["開催日（date）または開始時刻（starts_at）を指定してください"]
    elif starts_at is not None and starts_at.astimezone(TOKYO).date() != values["date"]:
        errors["starts_at"] = [f"開始時刻は開催日 {values['date'].isoformat()}（日本時間）の"
                               "時刻にしてください"]
    if starts_at is not None and ends_at is not None:
        if ends_at <= starts_at:
            errors.setdefault("ends_at", []).append("終了時刻は開始時刻より後にしてください")
        elif ends_at - starts_at > MAX_LENGTH:
            errors.setdefault("ends_at", []).append("相談会は24時間以内にしてください")
    if creating and not values["name"]:
        errors["name"] = ["名称を入力してください"]

    partners = specialists = None
    if "partners" in data:
        partners, specialists = _partners(session, data["partners"], errors)
        if not creating:
            _keep_team_partners(session, event, partners, errors)
    if errors:
        raise Invalid("入力内容に誤りがあります", errors=errors)
    for key, value in values.items():
        setattr(event, key, value)
    if partners is not None:
        event.partners, event.specialists = partners, specialists


def _partners(session: Session, entries: list[dict], errors: dict) -> tuple[list, dict]:
    """Codes in the order given, duplicates merged; unknown or inactive codes are named."""
    codes = [entry["code"] for entry in entries]
    known = {p.code: p for p in session.scalars(select(Partner).where(Partner.code.in_(codes)))}
    partners: list[str] = []
    specialists: dict[str, list[str]] = {}
    for index, entry in enumerate(entries):
        code = entry["code"]
        partner = known.get(code)
        if partner is None:
            errors[f"partners[{index}]"] = [f"連携機関 {code} は登録されていません"]
            continue
        if not partner.active:
            errors[f"partners[{index}]"] = [f"連携機関 {code} は現在無効です"]
            continue
        if code not in partners:
            partners.append(code)
        for who in entry.get("specialists") or []:
            if who not in specialists.setdefault(code, []):
                specialists[code].append(who)
    return partners, {code: names for code, names in specialists.items() if names}


def _keep_team_partners(session: Session, event: Event, partners: list[str],
                        errors: dict) -> None:
    """A partner that already sat on a team this evening cannot be removed from the event."""
    used = set(session.scalars(
        select(Partner.code).distinct()
        .join(ConsultationTeamPartner, ConsultationTeamPartner.partner_id == Partner.id)
        .join(ConsultationTeam, ConsultationTeam.id == ConsultationTeamPartner.team_id)
        .join(Consultation, Consultation.id == ConsultationTeam.consultation_id)
        .where(Consultation.event_id == event.id)))
    missing = sorted(used - set(partners))
    if missing:
        errors["partners"] = [f"{code} はこの相談会のチーム対応に記録されているため外せません"
                              for code in missing]


def require_event(consultation: Consultation) -> Event:
    if consultation.event is None:
        raise Conflict("この相談は相談会で受け付けたものではありません（not taken at an event）",
                       extra={"consultation_id": consultation.id})
    return consultation.event


__all__ = ["add_details", "consultation_counts", "create", "get", "listing", "queue",
           "queue_stamp", "require_event", "update"]
