"""Community members: a ``users`` row of role ``member`` with a 小地域 and a term."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from caseapp.domain.community import AreaLevel, MemberRole, in_term
from caseapp.models import Member, User
from caseapp.models.types import utcnow
from caseapp.rules.calendar import TOKYO
from caseapp.services.community import areas
from caseapp.services.core import audit, auth
from caseapp.services.core.actors import SYSTEM, Actor
from caseapp.services.core.errors import Forbidden, Invalid
from caseapp.services.core.pagination import Page, paginate

ROLE = "member"


@dataclass
class CreatedMember:
    member: Member
    token: str


def create(session: Session, name: str, role: str, area_code: str, *,
           term_from: date | None = None, term_to: date | None = None,
           actor: Actor = SYSTEM) -> CreatedMember:
    """A member and the user they sign in as; the token is shown now or never."""
    errors: dict[str, list[str]] = {}
    if role not in tuple(MemberRole):
        errors["role"] = [f"役割は {', '.join(MemberRole)} のいずれかです"]
    area = areas.by_code(session, area_code)
    if area.level != AreaLevel.SMALL_AREA:
        errors["area"] = ["委員が担当するのは小地域です（small_area のコードを指定してください）"]
    term_from = term_from or utcnow().astimezone(TOKYO).date()
    if term_to is not None and term_to < term_from:
        errors["term_to"] = ["任期の終わりは始まりより後にしてください"]
    login = f"member:{area.code}:{name}"
    if session.scalar(select(User).where(User.name == login)):
        errors["name"] = ["同じ小地域に同じ名前の委員が登録されています"]
    if errors:
        raise Invalid("入力内容に誤りがあります", errors=errors)
    town = areas.municipality_of(area)
    user = User(name=login, role=ROLE, municipality_id=town.id if town else None)
    member = Member(user=user, name=name, role=role, area=area, term_from=term_from,
                    term_to=term_to)
    session.add(member)
    token = auth.issue_token(session, user)
    session.flush()
    audit.record(session, actor, "create", "community_member", member.id,
                 detail={"area": area.code, "role": role})
    session.commit()
    return CreatedMember(member, token)


def of_actor(session: Session, actor: Actor) -> Member | None:
    if actor.role != ROLE or actor.user_id is None:
        return None
    return session.scalar(select(Member).options(selectinload(Member.area))
                          .where(Member.user_id == actor.user_id))


def today(now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(TOKYO).date()


def term_refusal(session: Session, user_id: int, now: datetime | None = None) -> str | None:
    """Why a member may not act now (no record, term not begun or ended), or None."""
    member = session.scalar(select(Member).where(Member.user_id == user_id))
    if member is None:
        return "委員として登録されていません（not a community member）"
    if not in_term(member.term_from, member.term_to, today(now)):
        return "委員の任期外のため利用できません（outside the member's term）"
    return None


def require(session: Session, actor: Actor, now: datetime | None = None) -> Member:
    """The acting member, checked again inside the use case: the term may end mid-request."""
    member = of_actor(session, actor)
    if member is None or not in_term(member.term_from, member.term_to, today(now)):
        raise Forbidden("委員の任期外のため利用できません（outside the member's term）")
    return member


def listing(session: Session, actor: Actor, *, area_code: str | None, page: int,
            per_page: int) -> Page:
    query = select(Member).options(selectinload(Member.area))
    if area_code:
        query = query.where(Member.area_id == areas.get_by_code(session, area_code).id)
    result = paginate(session, query.order_by(Member.area_id, Member.id), page, per_page)
    audit.record(session, actor, "list", "community_member", None,
                 detail={"results": [m.id for m in result.items]})
    session.commit()
    return result


def visible_area_ids(session: Session, actor: Actor) -> set[int] | None:
    """None for staff (every area); for a member, their 小地域 and the areas above it."""
    if actor.role != ROLE:
        return None
    member = require(session, actor)
    return {a.id for a in areas.ancestors(member.area)}
