"""An area's 地域福祉活動計画 実施計画: items with a target and an owner, and their evaluations."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from caseapp.domain.community import EVALUATION_LABELS, MEETING_LABELS
from caseapp.models import Area, PlanEvaluation, PlanItem
from caseapp.models.types import utcnow
from caseapp.services.community import areas, members
from caseapp.services.core import audit
from caseapp.services.core.actors import Actor
from caseapp.services.core.lookup import not_found


@dataclass
class Plan:
    area: Area
    items: list[PlanItem]


def _area(session: Session, actor: Actor, code: str) -> Area:
    area = areas.get_by_code(session, code)
    if actor.role == members.ROLE and members.require(session, actor).area_id != area.id:
        raise not_found("area", code)
    return area


def add_item(session: Session, actor: Actor, code: str, data: dict) -> PlanItem:
    area = _area(session, actor, code)
    item = PlanItem(area_id=area.id, title=data["title"], target=data.get("target") or "",
                    owner=data.get("owner") or "", fiscal_year=data.get("fiscal_year"),
                    created_at=utcnow())
    session.add(item)
    session.flush()
    audit.record(session, actor, "create", "plan_item", item.id, detail={"area": area.code})
    session.commit()
    return item


def get(session: Session, actor: Actor, code: str) -> Plan:
    area = _area(session, actor, code)
    items = list(session.scalars(
        select(PlanItem).options(selectinload(PlanItem.evaluations)
                                 .selectinload(PlanEvaluation.meeting))
        .where(PlanItem.area_id == area.id).order_by(PlanItem.id)))
    audit.record(session, actor, "read", "plan", area.code)
    session.commit()
    return Plan(area, items)


def to_csv(plan: Plan) -> str:
    """The plan and each evaluation, one line each, for Excel (UTF-8 with BOM)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["地域コード", "地域", "項目番号", "項目", "目標", "担当", "年度",
                     "会議番号", "会議", "開催日", "評価", "評価コード", "メモ"])
    for item in plan.items:
        head = [plan.area.code, plan.area.name, item.id, item.title, item.target, item.owner,
                item.fiscal_year or ""]
        if not item.evaluations:
            writer.writerow([*head, "", "", "", "", "", ""])
        for e in sorted(item.evaluations, key=lambda e: (e.meeting.held_on, e.id)):
            writer.writerow([*head, e.meeting_id, MEETING_LABELS[e.meeting.kind],
                             e.meeting.held_on.isoformat(), EVALUATION_LABELS[e.rating],
                             e.rating, e.note])
    return "\ufeff" + out.getvalue()
