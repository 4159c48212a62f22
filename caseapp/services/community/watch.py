"""The watch list (見守り): who is watched in a 小地域, on what basis, and each visit.

Staff see the whole entry. A community member sees their own 小地域's entries whose basis names
their role, and of each only what a neighbour needs: name, address, what to watch for and the
last visit. Never a consultation, income, debts or health record: those are not here to give.
Every read is audited, a member's as a staff member's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from caseapp.domain.community import (
    ATTENTION,
    BASIS_LABELS,
    ENDS_WATCH,
    VISIT_LABELS,
    AreaLevel,
    TaskKind,
    WatchBasis,
)
from caseapp.models import Client, Member, WatchEntry, WatchVisit
from caseapp.models.types import utcnow
from caseapp.rules.calendar import next_business_morning
from caseapp.services.community import areas, members, queue
from caseapp.services.core import audit, places
from caseapp.services.core.actors import Actor
from caseapp.services.core.errors import Conflict, Forbidden, Invalid
from caseapp.services.core.lookup import not_found
from caseapp.services.core.pagination import Page
from caseapp.services.core.results import ReadsThrough

# What a member is shown of a watched person, and all that a printed sheet carries.
MEMBER_FIELDS = ("name", "address", "watch_for", "last_visit")
# A visit may be entered a little ahead of the server's clock, not days ahead.
CLOCK_SKEW = timedelta(minutes=10)


@dataclass
class StaffRow(ReadsThrough):
    entry: WatchEntry
    name: str | None
    address: str | None
    area_code: str
    area_name: str
    basis_label: str
    last_visit_label: str | None
    visits: list = field(default_factory=list)


@dataclass
class MemberRow:
    """Exactly what a member sees; the answer's other fields are simply not there."""

    id: int
    area_code: str
    area_name: str
    name: str | None
    address: str | None
    watch_for: str
    last_visit_at: datetime | None
    last_visit_status: str | None
    last_visit_label: str | None


def visible_to_member(entry: WatchEntry, member: Member) -> bool:
    return (entry.area_id == member.area_id and entry.ended_at is None
            and member.role in (entry.basis_scope or []))


def staff_row(entry: WatchEntry, *, with_visits: bool = False) -> StaffRow:
    return StaffRow(entry, entry.client.name, entry.client.address, entry.area.code,
                    entry.area.name, BASIS_LABELS.get(entry.basis, entry.basis),
                    VISIT_LABELS.get(entry.last_visit_status),
                    list(entry.visits) if with_visits else [])


def member_row(entry: WatchEntry) -> MemberRow:
    return MemberRow(entry.id, entry.area.code, entry.area.name, entry.client.name,
                     entry.client.address, entry.watch_for, entry.last_visit_at,
                     entry.last_visit_status, VISIT_LABELS.get(entry.last_visit_status))


# --------------------------------------------------------------------------- writing


def create(session: Session, actor: Actor, data: dict, *, now: datetime | None = None
           ) -> StaffRow:
    now = now or utcnow()
    errors: dict[str, list[str]] = {}
    client = session.get(Client, data["client_id"])
    if client is None or client.merged_into_id is not None or client.anonymised_at is not None:
        errors["client_id"] = ["この相談者は登録されていません（統合・匿名化済みを含む）"]
    area = areas.by_code(session, data["area"])
    if area.level != AreaLevel.SMALL_AREA:
        errors["area"] = ["見守りリストは小地域ごとです（small_area のコードを指定してください）"]
    basis = data["basis"]
    scope = list(dict.fromkeys(basis["scope"]))
    detail = _basis_detail(basis, now, errors)
    watchers = list(dict.fromkeys(data.get("watchers") or []))
    found = {m.id: m for m in session.scalars(select(Member).where(Member.id.in_(watchers)))}
    for index, member_id in enumerate(watchers):
        member = found.get(member_id)
        if member is None or member.area_id != area.id:
            errors[f"watchers[{index}]"] = [f"委員 {member_id} はこの小地域の委員ではありません"]
        elif member.role not in scope:
            errors[f"watchers[{index}]"] = [
                f"委員 {member_id} の役割（{member.role}）は提供の範囲（scope）に含まれていません"]
    if errors:
        raise Invalid("入力内容に誤りがあります", errors=errors)
    if session.scalar(select(WatchEntry.id).where(WatchEntry.client_id == client.id,
                                                   WatchEntry.area_id == area.id,
                                                   WatchEntry.ended_at.is_(None))):
        raise Conflict("この方はこの小地域の見守りリストに登録済みです（already watched here）")
    entry = WatchEntry(client=client, area=area, watch_for=data["watch_for"],
                       basis=basis["kind"], basis_scope=scope, basis_detail=detail,
                       watchers=watchers, started_at=now, created_by_id=actor.user_id,
                       created_at=now)
    entry.visit_due_at = _visit_due(entry, now)
    session.add(entry)
    session.flush()
    audit.record(session, actor, "create", "watch_entry", entry.id,
                 detail={"client_id": client.id, "area": area.code, "basis": entry.basis,
                         "scope": scope})
    session.commit()
    return staff_row(entry)


def _basis_detail(basis: dict, now: datetime, errors: dict) -> dict:
    if basis["kind"] == WatchBasis.CONSENT:
        if not basis.get("method") or not basis.get("given_at"):
            errors["basis"] = ["同意による場合は method と given_at を指定してください"]
            return {}
        if basis["given_at"] > now + CLOCK_SKEW:
            errors["basis.given_at"] = ["同意の日時が未来になっています"]
        return {"method": basis["method"], "given_at": basis["given_at"].isoformat(),
                "note": basis.get("note") or ""}
    if not basis.get("provision") or not basis.get("provided_on"):
        errors["basis"] = ["名簿提供による場合は provision（名簿と提供の根拠）と provided_on を"
                           "指定してください"]
        return {}
    return {"provision": basis["provision"], "provided_on": basis["provided_on"].isoformat(),
            "note": basis.get("note") or ""}


def _visit_due(entry: WatchEntry, now: datetime) -> datetime:
    anchor = entry.last_visit_at or entry.started_at or now
    return next_business_morning(anchor + timedelta(days=areas.visit_interval_days(entry.area)))


def record_visit(session: Session, actor: Actor, watch_id: int, data: dict, *,
                 now: datetime | None = None) -> WatchVisit:
    now = now or utcnow()
    entry = _load(session, actor, watch_id, now)
    if entry.ended_at is not None:
        raise Conflict("この方の見守りは終了しています（watch ended）",
                       extra={"end_reason": entry.end_reason})
    visited_at, status = data["visited_at"], data["status"]
    if visited_at > now + CLOCK_SKEW:
        raise Invalid("訪問日時が未来になっています（visit in the future）",
                      errors={"visited_at": ["訪問日時が未来になっています"]})
    visit = WatchVisit(entry=entry, visited_at=visited_at, status=status,
                       note=data.get("note") or "", recorded_by_id=actor.user_id, created_at=now)
    session.add(visit)
    if entry.last_visit_at is None or visited_at >= entry.last_visit_at:
        entry.last_visit_at, entry.last_visit_status = visited_at, status
    session.flush()
    queue.close_pending(session, kind=TaskKind.WATCH_UNVISITED, watch_id=entry.id, now=now,
                        note="訪問の記録により解消")
    if status in ENDS_WATCH:
        entry.ended_at, entry.end_reason, entry.visit_due_at = now, status, None
    else:
        entry.visit_due_at = _visit_due(entry, now)
    if status in ATTENTION:
        queue.schedule_attention(session, watch=entry, visit_id=visit.id,
                                 due_at=next_business_morning(visited_at), now=now)
    audit.record(session, actor, "create", "watch_visit", visit.id,
                 detail={"watch_id": entry.id, "status": status})
    session.commit()
    return visit


def end_for_review(entry: WatchEntry, status: str, now: datetime) -> None:
    """A meeting found the person gone (moved, deceased): the watch ends there."""
    if status in ENDS_WATCH and entry.ended_at is None:
        entry.ended_at, entry.end_reason, entry.visit_due_at = now, status, None


# --------------------------------------------------------------------------- reading


def _load(session: Session, actor: Actor, watch_id: int, now: datetime) -> WatchEntry:
    entry = session.scalar(select(WatchEntry).options(
        selectinload(WatchEntry.client), selectinload(WatchEntry.area))
        .where(WatchEntry.id == watch_id))
    member = members.require(session, actor, now) if actor.role == members.ROLE else None
    # Another area's entry is not there for a member: 404, as for a partner.
    if entry is None or (member is not None and not visible_to_member(entry, member)):
        raise not_found("watch entry", watch_id)
    return entry


def get(session: Session, actor: Actor, watch_id: int) -> StaffRow | MemberRow:
    entry = _load(session, actor, watch_id, utcnow())
    audit.record(session, actor, "read", "watch_entry", entry.id,
                 detail={"client_id": entry.client_id})
    session.commit()
    if actor.role == members.ROLE:
        return member_row(entry)
    return staff_row(entry, with_visits=True)


def listing(session: Session, actor: Actor, *, area_code: str | None, active: bool, page: int,
            per_page: int) -> Page:
    member = members.require(session, actor) if actor.role == members.ROLE else None
    query = select(WatchEntry).options(selectinload(WatchEntry.client),
                                       selectinload(WatchEntry.area))
    if member is not None:
        if area_code and area_code != member.area.code:
            raise Forbidden("担当の小地域以外の見守りリストは見られません（not your area）")
        query = query.where(WatchEntry.area_id == member.area_id,
                            WatchEntry.ended_at.is_(None))
    elif area_code:
        area = areas.get_by_code(session, area_code)
        query = query.where(WatchEntry.area_id.in_(places.subtree_ids(session, area)))
    if active and member is None:
        query = query.where(WatchEntry.ended_at.is_(None))
    rows = list(session.scalars(query.order_by(WatchEntry.area_id, WatchEntry.id)))
    if member is not None:
        rows = [e for e in rows if visible_to_member(e, member)]
    total, start = len(rows), (page - 1) * per_page
    rows = rows[start:start + per_page]
    audit.record(session, actor, "list", "watch_entry", None,
                 detail={"area": area_code, "results": [e.id for e in rows],
                         "clients": [e.client_id for e in rows]})
    session.commit()
    items = [member_row(e) if member is not None else staff_row(e) for e in rows]
    return Page(items, total, page, per_page)


def active_in_area(session: Session, area_id: int) -> list[WatchEntry]:
    return list(session.scalars(select(WatchEntry).options(
        selectinload(WatchEntry.client), selectinload(WatchEntry.area))
        .where(WatchEntry.area_id == area_id, WatchEntry.ended_at.is_(None))
        .order_by(WatchEntry.id)))


__all__ = ["MEMBER_FIELDS", "MemberRow", "StaffRow", "active_in_area", "create",
           "end_for_review", "get", "listing", "record_visit", "visible_to_member"]
