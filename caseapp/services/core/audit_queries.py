from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from caseapp.models import AuditEntry
from caseapp.services.core import audit
from caseapp.services.core.actors import Actor
from caseapp.services.core.pagination import Page, paginate


def search(session: Session, actor: Actor, filters: dict) -> Page:
    query = select(AuditEntry)
    if filters.get("resource"):
        query = query.where(AuditEntry.resource_type == filters["resource"])
    if filters.get("resource_id"):
        query = query.where(AuditEntry.resource_id == filters["resource_id"])
    if filters.get("person"):
        # Entries about one person (相談者): reads and changes of the client record itself.
        query = query.where(AuditEntry.resource_type == "client",
                            AuditEntry.resource_id == str(filters["person"]))
    if filters.get("actor"):
        who = filters["actor"]
        query = query.where(or_(AuditEntry.actor_label == who,
                                AuditEntry.actor_id == (int(who) if who.isdigit() else -1)))
    if filters.get("outcome"):
        query = query.where(AuditEntry.outcome == filters["outcome"])
    if filters.get("at_from"):
        query = query.where(AuditEntry.at >= filters["at_from"])
    if filters.get("at_to"):
        query = query.where(AuditEntry.at < filters["at_to"])
    result = paginate(session, query.order_by(AuditEntry.id.desc()),
                      filters["page"], filters["per_page"])
    # Reading the log is itself a read of who saw whose data.
    audit.record(session, actor, "list", "audit", None,
                 detail={k: str(v) for k, v in filters.items() if k not in ("page", "per_page")})
    session.commit()
    return result
