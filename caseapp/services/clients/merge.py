"""名寄せ: merging two records of one person, only when staff say so.

The survivor keeps its id. The other record stays as a row (so old ids, audit entries and
printed documents still resolve) with ``merged_into_id`` pointing at the survivor; it no
longer appears in search or duplicate proposals, and reading it answers 404 naming the
survivor. Everything that referred to it moves to the survivor in the same transaction.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from caseapp.extensions import db
from caseapp.models import Client
from caseapp.models.types import utcnow
from caseapp.services.clients import records
from caseapp.services.core import audit
from caseapp.services.core.actors import Actor
from caseapp.services.core.errors import Conflict, Invalid
from caseapp.services.core.lookup import not_found

#: Fields the survivor takes from the merged record when it has none of its own. A value the
#: survivor already has is never overwritten: staff correct it afterwards with PATCH.
FILLABLE = ("name_kana", "birth_date", "sex", "phone", "postal_code", "address", "district",
            "small_area")
# Tables handled by hand rather than by the generic re-pointing below.
_SPECIAL = {"clients", "client_bigrams", "household_members"}


def merge(session: Session, actor: Actor, survivor_id: int, duplicate_id: int, *,
          reason: str | None = None) -> Client:
    if survivor_id == duplicate_id:
        raise Invalid("同じ相談者どうしは統合できません（a client cannot be merged into itself）",
                      errors={"duplicate_id": ["同じ相談者どうしは統合できません"]})
    # Lock both rows in id order, so two opposite merges (A←B and B←A) cannot both succeed.
    rows = {c.id: c for c in session.scalars(
        select(Client).where(Client.id.in_((survivor_id, duplicate_id)))
        .order_by(Client.id).with_for_update()
        .execution_options(populate_existing=True))}
    survivor, duplicate = rows.get(survivor_id), rows.get(duplicate_id)
    if survivor is None:
        raise not_found("client", survivor_id)
    if duplicate is None:
        raise Invalid("統合する相談者は登録されていません（unknown duplicate）",
                      errors={"duplicate_id": ["この相談者は登録されていません"]})
    for client in (survivor, duplicate):
        if client.merged_into_id is not None:
            raise Conflict(
                f"相談者 {client.id} は既に {client.merged_into_id} に統合されています / "
                f"client {client.id} was already merged into {client.merged_into_id}",
                extra={"merged_into": client.merged_into_id})

    household = _move_membership(session, survivor, duplicate)
    filled = [f for f in FILLABLE
              if getattr(survivor, f) is None and getattr(duplicate, f) is not None]
    session.flush()
    moved = _repoint(session, duplicate.id, survivor.id)
    # The bulk UPDATEs bypassed the ORM: reload whatever the session holds.
    session.expire_all()

    for field in filled:
        setattr(survivor, field, getattr(duplicate, field))
    records.set_keys(survivor)
    duplicate.merged_into_id = survivor.id
    duplicate.merged_at = utcnow()
    duplicate.bigrams.clear()  # out of search for good

    detail = {"survivor": survivor.id, "merged": duplicate.id, "moved": moved,
              "filled": filled, "household": household, "reason": reason}
    audit.record(session, actor, "merge", "client", survivor.id, detail=detail)
    audit.record(session, actor, "merged_into", "client", duplicate.id, detail=detail)
    try:
        session.flush()
    except IntegrityError as exc:
        # A table added later may allow one row per client; refuse rather than lose data.
        session.rollback()
        raise Conflict("統合できませんでした（関連データが重複します） / "
                       "records linked to both clients conflict; resolve them first") from exc
    session.commit()
    return survivor


def _move_membership(session: Session, survivor: Client, duplicate: Client) -> str | None:
    mine, theirs = survivor.membership, duplicate.membership
    if theirs is None:
        return None
    if mine is None:
        theirs.client = survivor
        return f"moved:{theirs.household_id}"
    if mine.household_id != theirs.household_id:
        raise Conflict(
            f"2人は別の世帯（{mine.household_id} と {theirs.household_id}）に属しています。"
            "先に一方の世帯から外してください / the two records belong to different "
            "households; remove one membership first",
            errors={"duplicate_id": ["別の世帯に属しています"]})
    session.delete(theirs)
    return f"kept:{mine.household_id}"


def client_references():
    """(table, foreign key) for every column pointing at ``clients.id`` that a merge moves,
    tables added later included."""
    for table in db.metadata.sorted_tables:
        if table.name in _SPECIAL:
            continue
        for fk in table.foreign_keys:
            if fk.column.table.name == "clients":
                yield table, fk


def _repoint(session: Session, old: int, new: int) -> dict[str, int]:
    """Point every foreign key to ``clients.id`` (consultations, cases, consents, and any
    table added later) from the merged record to the survivor; count rows per table."""
    moved: dict[str, int] = {}
    for table, fk in client_references():
        result = session.execute(update(table).where(fk.parent == old)
                                 .values({fk.parent.name: new}))
        if result.rowcount:
            moved[f"{table.name}.{fk.parent.name}"] = result.rowcount
    # Records merged into the duplicate earlier now point straight at the survivor.
    result = session.execute(update(Client).where(Client.merged_into_id == old)
                             .values(merged_into_id=new)
                             .execution_options(synchronize_session=False))
    if result.rowcount:
        moved["clients.merged_into_id"] = result.rowcount
    return moved
