"""Cases (支援ケース): every open case has an owner and a dated next step."""

from datetime import datetime

from sqlalchemy import case as when
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased, selectinload

from caseapp.domain.vocab import NEEDS_REROUTING, CaseStatus, ReferralStatus
from caseapp.models import Case, Client, Household, Referral, User
from caseapp.models.types import utcnow
from caseapp.permissions import STAFF_ROLES
from caseapp.services.casework import emergencies, reminders
from caseapp.services.core import audit, places
from caseapp.services.core.actors import Actor
from caseapp.services.core.errors import Invalid
from caseapp.services.core.lookup import get_or_404
from caseapp.services.core.pagination import paginate


def open_case(session: Session, client: Client | None) -> Case | None:
    """The client's latest open case, if it has one."""
    if client is None or client.id is None:
        return None
    return session.scalar(select(Case).where(Case.client_id == client.id,
                                             Case.status == CaseStatus.OPEN)
                          .order_by(Case.id.desc()).limit(1))


def home_area_of(session: Session, actor: Actor):
    """The 地区 or 小地域 whose center the staff user works at, or None."""
    user = session.get(User, actor.user_id) if actor.user_id is not None else None
    return user.area if user is not None else None


def in_home_area(session: Session, area) -> object:
    """True for a case whose person lives in ``area`` (or an area below it)."""
    return Case.client_id.in_(select(Client.id).where(
        Client.area_id.in_(places.subtree_ids(session, area))))


def home_first(session: Session, area) -> list:
    """Ordering that puts cases of the worker's own 地区 first; nothing for anyone else."""
    return [] if area is None else [when((in_home_area(session, area), 0), else_=1)]


# What a case's answer shows, loaded in the read's own transaction: no second one (and no
# second round of the scope's setting) for lazy loads while the answer is written.
SHOWN = (selectinload(Case.emergencies), selectinload(Case.consultations),
         selectinload(Case.referrals).joinedload(Referral.partner), selectinload(Case.transfers))


def get(session: Session, actor: Actor, case_id: int) -> Case:
    case = get_or_404(session, Case, case_id, options=SHOWN)
    audit.record(session, actor, "read", "case", case.id)
    session.commit()
    return case


def update(session: Session, actor: Actor, case_id: int, changes: dict) -> Case:
    case = get_or_404(session, Case, case_id)
    if "owner_id" in changes:
        owner_id = changes["owner_id"]
        owner = session.get(User, owner_id) if owner_id is not None else None
        if owner_id is not None and (owner is None or owner.role not in STAFF_ROLES
                                     or not owner.active):
            raise Invalid("担当者は有効な職員を指定してください"
                          "（owner must be an active staff user）",
                          errors={"owner_id": ["担当者は有効な職員を指定してください"]})
        case.owner_id = owner_id
    if "household_id" in changes:
        _check_household(session, case, changes["household_id"])
        case.household_id = changes["household_id"]
    for key in ("next_action", "next_action_at"):
        if key in changes:
            setattr(case, key, changes[key])
    if "status" in changes and changes["status"] != case.status:
        case.status = changes["status"]
        case.closed_at = utcnow() if case.status == CaseStatus.CLOSED else None
    if case.status == CaseStatus.OPEN and (case.owner_id is None or case.next_action_at is None):
        # 迷子にさせない: an open case may not be left without an owner and a date.
        raise Invalid("対応中のケースには担当者と次の対応日が必要です"
                      "（an open case needs an owner and a next action date）",
                      errors={key: ["未設定にはできません"]
                              for key in ("owner_id", "next_action_at")
                              if getattr(case, key) is None})
    reminders.on_case_change(session, case)
    audit.record(session, actor, "update", "case", case.id, detail={"fields": sorted(changes)})
    session.commit()
    return case


DEAD_END = NEEDS_REROUTING


def needs_rerouting():
    """A rejected or failed referral of the case that nobody has dealt with yet.

    Handled means: a newer referral on the same case, made at or after the rejection or
    failure and not itself a dead end, or staff marked it handled
    (POST /referrals/{id}/handled).
    """
    back, newer = aliased(Referral), aliased(Referral)
    rerouted = select(newer.id).where(newer.case_id == back.case_id, newer.id != back.id,
                                      newer.created_at >= back.status_at,
                                      newer.status.not_in((*DEAD_END, ReferralStatus.CANCELLED))
                                      ).exists()
    # A handling older than the current status (e.g. a retried referral that failed again)
    # does not count.
    handled = back.handled_at >= back.status_at
    # Driven from the few dead-end referrals, not probed once per open case.
    return Case.id.in_(select(back.case_id).where(back.status.in_(DEAD_END),
                                                  ~func.coalesce(handled, False), ~rerouted))


def _check_household(session: Session, case: Case, household_id: int | None) -> None:
    if household_id is None:
        return
    household = session.get(Household, household_id)
    if household is None:
        raise Invalid("この世帯は登録されていません（unknown household）",
                      errors={"household_id": ["この世帯は登録されていません"]})
    if case.client_id is not None and all(m.client_id != case.client_id
                                          for m in household.members):
        raise Invalid("このケースの相談者はこの世帯に属していません"
                      "（the case's client is not in that household）",
                      errors={"household_id": ["このケースの相談者はこの世帯に属していません"]})


def lost_query(now: datetime):
    """Open cases with no owner, no or an overdue next action, or a dead-end referral."""
    return select(Case).where(
        Case.status == CaseStatus.OPEN,
        or_(Case.owner_id.is_(None), Case.next_action_at.is_(None), Case.next_action_at < now,
            needs_rerouting()),
    )


def listing(session: Session, actor: Actor, *, lost: bool, status: str | None, page: int,
            per_page: int, now: datetime | None = None):
    query = lost_query(now or utcnow()) if lost else select(Case)
    if status:
        query = query.where(Case.status == status)
    # An open case with a person in danger comes before everything else.
    first = when((emergencies.in_emergency(), 0), else_=1)
    home = home_first(session, home_area_of(session, actor))  # then a hub worker's own 地区
    result = paginate(session, query.order_by(first, *home,
                                              Case.next_action_at.asc().nulls_first(), Case.id),
                      page, per_page)
    audit.record(session, actor, "list", "case", None,
                 detail={"lost": lost, "results": [c.id for c in result.items]})
    session.commit()
    return result
