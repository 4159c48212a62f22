"""Households (世帯): clients living together, each with a relationship (続柄).

Each public function is one use case and commits its transaction.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from caseapp.models import Client, Household, HouseholdMember
from caseapp.models.households import RELATIONSHIPS
from caseapp.services.core import audit
from caseapp.services.core.actors import Actor
from caseapp.services.core.errors import Conflict, Invalid, NotFound
from caseapp.services.core.lookup import get_or_404


def create(session: Session, actor: Actor, data: dict) -> Household:
    members = data.get("members") or []
    # Everything is checked before anything is added, so a refusal leaves no trace.
    clients, seen = [], set()
    for index, member in enumerate(members):
        field = f"members[{index}].client_id"
        if member["client_id"] in seen:
            raise Invalid("同じ相談者が2回指定されています（a client is listed twice）",
                          errors={field: ["同じ相談者が2回指定されています"]})
        seen.add(member["client_id"])
        clients.append(_joinable(session, None, member["client_id"], member["relationship"],
                                 field=field))
    _one_head([m["relationship"] for m in members], "members")
    household = Household(name=data.get("name"), address=data.get("address"),
                          note=data.get("note"), created_by_id=actor.user_id)
    for client, member in zip(clients, members, strict=True):
        household.members.append(HouseholdMember(
            client=client, relationship=member["relationship"], added_by_id=actor.user_id))
    session.add(household)
    _flush(session)
    audit.record(session, actor, "create", "household", household.id,
                 detail={"members": [m.client_id for m in household.members]})
    session.commit()
    return household


def get(session: Session, actor: Actor, household_id: int) -> Household:
    household = get_or_404(session, Household, household_id)
    session.expire(household, ["members", "cases"])  # read afresh: cases link themselves
    audit.record(session, actor, "read", "household", household.id)
    session.commit()
    return household


def update(session: Session, actor: Actor, household_id: int, changes: dict) -> Household:
    household = get_or_404(session, Household, household_id)
    for key in ("name", "address", "note"):
        if key in changes:
            setattr(household, key, changes[key])
    audit.record(session, actor, "update", "household", household.id,
                 detail={"fields": sorted(changes)})
    session.commit()
    return household


def add_member(session: Session, actor: Actor, household_id: int, client_id: int,
               relationship: str) -> Household:
    household = get_or_404(session, Household, household_id)
    client = _joinable(session, household, client_id, relationship, field="client_id")
    _one_head([*(m.relationship for m in household.members), relationship], "relationship")
    household.members.append(HouseholdMember(client=client, relationship=relationship,
                                             added_by_id=actor.user_id))
    _flush(session)
    audit.record(session, actor, "add_member", "household", household.id,
                 detail={"client_id": client_id, "relationship": relationship})
    session.commit()
    return household


def change_member(session: Session, actor: Actor, household_id: int, client_id: int,
                  relationship: str) -> Household:
    household = get_or_404(session, Household, household_id)
    member = _member(household, client_id)
    _one_head([relationship if m is member else m.relationship for m in household.members],
              "relationship")
    member.relationship = relationship
    audit.record(session, actor, "change_member", "household", household.id,
                 detail={"client_id": client_id, "relationship": relationship})
    session.commit()
    return household


def remove_member(session: Session, actor: Actor, household_id: int, client_id: int
                  ) -> Household:
    household = get_or_404(session, Household, household_id)
    member = _member(household, client_id)
    client = member.client
    household.members.remove(member)
    audit.record(session, actor, "remove_member", "household", household.id,
                 detail={"client_id": client_id})
    session.flush()
    session.expire(client, ["membership"])
    session.commit()
    return household


def _member(household: Household, client_id: int) -> HouseholdMember:
    for member in household.members:
        if member.client_id == client_id:
            return member
    raise NotFound(f"相談者 No. {client_id} は世帯 No. {household.id} の一員ではありません"
                   f"（client {client_id} is not a member of household {household.id}）")


def _joinable(session: Session, household: Household | None, client_id: int,
              relationship: str, *, field: str) -> Client:
    """The client, if it may join ``household`` (None: a household being created)."""
    if relationship not in RELATIONSHIPS:  # the schema checks too; services stand alone
        raise Invalid("続柄が正しくありません"
                      "（unknown relationship）", errors={field: ["続柄が正しくありません"]})
    client = session.get(Client, client_id)
    if client is None or client.merged_into_id is not None:
        message = ("この相談者は登録されていません" if client is None
                   else f"この相談者は {client.merged_into_id} に統合されています")
        raise Invalid("この相談者は指定できません（unknown client）", errors={field: [message]})
    current = client.membership
    if current is not None:
        if household is not None and current.household_id == household.id:
            raise Conflict(f"相談者 No. {client_id} は既にこの世帯の一員です"
                           f"（client {client_id} is already a member of this household）",
                           errors={field: ["既にこの世帯の一員です"]})
        raise Conflict(
            f"相談者 {client_id} は既に世帯 {current.household_id} に属しています。"
            "先にその世帯から外してください（the client already belongs to household "
            f"{current.household_id}）", errors={field: ["既に別の世帯に属しています"]},
            extra={"household_id": current.household_id})
    return client


def _one_head(relationships: list[str], field: str) -> None:
    if relationships.count("head") > 1:
        raise Invalid("世帯主は1人だけ指定できます（a household has one head）",
                      errors={field: ["世帯主は1人だけ指定できます"]})


def _flush(session: Session) -> None:
    try:
        session.flush()
    except IntegrityError as exc:
        # Two counters adding the same person at once: the unique client_id decides.
        session.rollback()
        raise Conflict("相談者は既に別の世帯に属しています / the client already belongs to "
                       "a household") from exc
