"""The coordinator's queue: next actions the community layer raises (迷子にさせない).

A watched person not visited within the area's interval, a visit that found something wrong,
an area whose meeting is overdue: each becomes one ``CommunityTask``. Due times follow the
counter's business calendar. Beat's sweep opens what is due; every task has a unique key and is
opened with a conditional UPDATE, so two sweeps, a rerun or a crash open each once and alert
the coordinator once.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, selectinload

from caseapp.config import Config
from caseapp.domain.community import TASK_LABELS, TaskKind, TaskStatus
from caseapp.models import Area, Client, CommunityTask, WatchEntry
from caseapp.models.types import utcnow
from caseapp.rules.calendar import TOKYO
from caseapp.services.casework import alerts
from caseapp.services.community import areas
from caseapp.services.core import audit, places
from caseapp.services.core.actors import Actor
from caseapp.services.core.errors import Conflict
from caseapp.services.core.lookup import get_or_404
from caseapp.services.core.pagination import Page, paginate

BATCH = 200
PENDING = (TaskStatus.SCHEDULED, TaskStatus.OPEN)


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def unvisited_key(watch_id: int, due_at: datetime) -> str:
    return f"{TaskKind.WATCH_UNVISITED}:w{watch_id}:{_stamp(due_at)}"


def _insert(session: Session, *, kind: str, key: str, area_id: int, due_at: datetime,
            status: str, now: datetime, watch_id: int | None = None,
            visit_id: int | None = None) -> int | None:
    """Add the task unless its key exists; its id if this call added it."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(CommunityTask).values(
        kind=kind, status=status, dedup_key=key, area_id=area_id, watch_id=watch_id,
        visit_id=visit_id, due_at=due_at, created_at=now,
        opened_at=now if status == TaskStatus.OPEN else None,
    ).on_conflict_do_nothing(index_elements=[CommunityTask.dedup_key])
    return session.scalar(stmt.returning(CommunityTask.id))


def schedule_attention(session: Session, *, watch: WatchEntry, due_at: datetime,
                       now: datetime, visit_id: int | None = None,
                       review_id: int | None = None) -> None:
    """A visit or a meeting's review found the person needing attention (or not reached)."""
    source = f"v{visit_id}" if visit_id is not None else f"r{review_id}"
    _insert(session, kind=TaskKind.WATCH_ATTENTION, key=f"{TaskKind.WATCH_ATTENTION}:{source}",
            area_id=watch.area_id, watch_id=watch.id, visit_id=visit_id, due_at=due_at,
            status=TaskStatus.SCHEDULED, now=now)


def close_pending(session: Session, *, kind: str, note: str, now: datetime,
                  watch_id: int | None = None, area_id: int | None = None,
                  status: str = TaskStatus.DONE) -> int:
    """Close what a new fact answered (a visit, a meeting held); a conditional UPDATE."""
    query = update(CommunityTask).where(CommunityTask.kind == kind,
                                        CommunityTask.status.in_(PENDING))
    if watch_id is not None:
        query = query.where(CommunityTask.watch_id == watch_id)
    if area_id is not None:
        query = query.where(CommunityTask.area_id == area_id)
    result = session.execute(query.values(status=status, closed_at=now, close_note=note)
                             .execution_options(synchronize_session=False))
    return result.rowcount


# --------------------------------------------------------------------------- the sweep


def sweep(session: Session, now: datetime | None = None, *, config: Config | None = None,
          limit: int = BATCH) -> dict[str, int]:
    """Open every task that is due; safe to run any number of times, at once too."""
    now = now or utcnow()
    counts: Counter[str] = Counter()
    overdue = session.execute(
        select(WatchEntry.id, WatchEntry.area_id, WatchEntry.visit_due_at)
        .where(WatchEntry.ended_at.is_(None), WatchEntry.visit_due_at <= now,
               ~select(CommunityTask.id).where(
                   CommunityTask.kind == TaskKind.WATCH_UNVISITED,
                   CommunityTask.watch_id == WatchEntry.id,
                   CommunityTask.due_at == WatchEntry.visit_due_at).exists())
        .order_by(WatchEntry.visit_due_at).limit(limit)).all()
    for watch_id, area_id, due_at in overdue:
        task_id = _insert(session, kind=TaskKind.WATCH_UNVISITED,
                          key=unvisited_key(watch_id, due_at), area_id=area_id,
                          watch_id=watch_id, due_at=due_at, status=TaskStatus.OPEN, now=now)
        if task_id is not None:
            _alert(session, task_id, config)
            counts["watch_unvisited"] += 1
    late = session.execute(select(Area.id, Area.meeting_due_at)
                           .where(Area.meeting_due_at <= now,
                                  ~select(CommunityTask.id).where(
                                      CommunityTask.kind == TaskKind.MEETING_OVERDUE,
                                      CommunityTask.area_id == Area.id,
                                      CommunityTask.due_at == Area.meeting_due_at).exists())
                           .order_by(Area.meeting_due_at).limit(limit)).all()
    for area_id, due_at in late:
        task_id = _insert(session, kind=TaskKind.MEETING_OVERDUE,
                          key=f"{TaskKind.MEETING_OVERDUE}:a{area_id}:{_stamp(due_at)}",
                          area_id=area_id, due_at=due_at, status=TaskStatus.OPEN, now=now)
        if task_id is not None:
            _alert(session, task_id, config)
            counts["meeting_overdue"] += 1
    due = list(session.scalars(select(CommunityTask.id).where(
        CommunityTask.status == TaskStatus.SCHEDULED, CommunityTask.due_at <= now)
        .order_by(CommunityTask.due_at).limit(limit)))
    for task_id in due:
        opened = session.execute(
            update(CommunityTask).where(CommunityTask.id == task_id,
                                        CommunityTask.status == TaskStatus.SCHEDULED)
            .values(status=TaskStatus.OPEN, opened_at=now)
            .execution_options(synchronize_session=False))
        if opened.rowcount == 1:
            _alert(session, task_id, config)
            counts["opened"] += 1
    session.commit()
    return dict(counts)


def _alert(session: Session, task_id: int, config: Config | None) -> None:
    """To the area's coordinator, or the supervisors; ids and the area only, nothing personal."""
    task = session.get(CommunityTask, task_id)
    area = session.get(Area, task.area_id)
    due = task.due_at.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M")
    what = TASK_LABELS[task.kind]
    subject = f"見守り番号 {task.watch_id}" if task.watch_id else "会議"
    message = (f"【{what}】{area.name}: {subject}（期限 {due}）。"
               "コーディネーターの対応リストで確認してください。")
    coordinator = areas.coordinator_id(area)
    alerts.raise_alert(session, "community_task", message, config=config, user_id=coordinator,
                       role=None if coordinator else "supervisor")


# --------------------------------------------------------------------------- reading


def listing(session: Session, actor: Actor, *, status: str | None, kind: str | None,
            area_code: str | None, page: int, per_page: int) -> Page:
    query = select(CommunityTask).options(selectinload(CommunityTask.area))
    if status:
        query = query.where(CommunityTask.status == status)
    else:
        query = query.where(CommunityTask.status == TaskStatus.OPEN)
    if kind:
        query = query.where(CommunityTask.kind == kind)
    if area_code:
        area = areas.get_by_code(session, area_code)
        query = query.where(CommunityTask.area_id.in_(places.subtree_ids(session, area)))
    result = paginate(session, query.order_by(CommunityTask.due_at, CommunityTask.id),
                      page, per_page)
    audit.record(session, actor, "list", "community_task", None,
                 detail={"results": [t.id for t in result.items]})
    session.commit()
    return result


def people_of(session: Session, actor: Actor, tasks: list[CommunityTask]) -> dict[int, str]:
    """The watched person's name for each task about one, for the coordinator's screen
    (read as a list of the watch entries, audited)."""
    ids = sorted({t.watch_id for t in tasks if t.watch_id is not None})
    if not ids:
        return {}
    rows = session.execute(select(WatchEntry.id, WatchEntry.client_id, Client.name)
                           .join(Client, Client.id == WatchEntry.client_id)
                           .where(WatchEntry.id.in_(ids))).all()
    audit.record(session, actor, "list", "watch_entry", None,
                 detail={"results": [r.id for r in rows], "clients": [r.client_id for r in rows],
                         "purpose": "community_queue"})
    session.commit()
    return {r.id: r.name or "" for r in rows}


def close(session: Session, actor: Actor, task_id: int, note: str) -> CommunityTask:
    task = get_or_404(session, CommunityTask, task_id)
    if task.status not in PENDING:
        raise Conflict("この対応は完了済みです（task already closed）",
                       extra={"task_status": task.status})
    task.status, task.closed_at = TaskStatus.DONE, utcnow()
    task.closed_by_id, task.close_note = actor.user_id, note
    audit.record(session, actor, "update", "community_task", task.id, detail={"status": "done"})
    session.commit()
    return task
