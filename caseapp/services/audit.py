from sqlalchemy.orm import Session

from caseapp.models import AuditEntry
from caseapp.services.actors import Actor


def record(session: Session, actor: Actor, action: str, resource_type: str,
           resource_id: object = None, *, purpose: str | None = None,
           outcome: str = "success", detail: dict | None = None) -> AuditEntry:
    """Add an audit row to the caller's transaction: it commits or rolls back with the access."""
    entry = AuditEntry(
        actor_id=actor.user_id, actor_label=actor.label, actor_role=actor.role,
        action=action, resource_type=resource_type,
        resource_id=None if resource_id is None else str(resource_id),
        purpose=purpose, outcome=outcome, source_ip=actor.source_ip, detail=detail or {},
    )
    session.add(entry)
    return entry
