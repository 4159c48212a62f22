"""The audit log: appended in the same transaction as the access, hash-chained.

Entries wait in the session until commit; the ``before_commit`` hook then chains and inserts
them. Chaining last keeps the lock that serialises the chain (PostgreSQL advisory lock; SQLite
writers are serial already) to the end of the transaction, after every row lock, so it is held
briefly and always taken in the same order.
"""

import hashlib
import json
from collections.abc import Iterator

from sqlalchemy import event, insert, select, text
from sqlalchemy.orm import Session, scoped_session

from caseapp.models import AuditEntry
from caseapp.models.types import utcnow
from caseapp.services.core.actors import Actor

GENESIS = "0" * 64
_PENDING = "caseapp.audit.pending"
_CHAIN_LOCK = 7_310_001  # any constant: the key of the advisory lock that orders the chain
_COLUMNS = tuple(c.key for c in AuditEntry.__table__.columns if c.key != "id")


def record(session: Session, actor: Actor, action: str, resource_type: str,
           resource_id: object = None, *, purpose: str | None = None,
           outcome: str = "success", detail: dict | None = None) -> AuditEntry:
    """Add an audit row to the caller's transaction: it commits or rolls back with the access."""
    entry = AuditEntry(
        at=utcnow(), actor_id=actor.user_id, actor_label=actor.label, actor_role=actor.role,
        action=action, resource_type=resource_type,
        resource_id=None if resource_id is None else str(resource_id),
        purpose=purpose, outcome=outcome, source_ip=actor.source_ip, detail=detail or {},
    )
    if isinstance(session, scoped_session):
        session = session()
    if not session.in_transaction():
        session.begin()  # so a rollback, even before any SQL, discards the pending entry
    session.info.setdefault(_PENDING, []).append(entry)
    return entry


def digest(entry: AuditEntry, prev_hash: str) -> str:
    content = {
        "at": entry.at.isoformat(), "actor_id": entry.actor_id, "actor_label": entry.actor_label,
        "actor_role": entry.actor_role, "action": entry.action,
        "resource_type": entry.resource_type, "resource_id": entry.resource_id,
        "purpose": entry.purpose, "outcome": entry.outcome, "source_ip": entry.source_ip,
        "detail": entry.detail or {}, "note": entry.note, "prev": prev_hash,
    }
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# Core on the table: a global read (unscoped), and no ORM statement to build for it.
_LAST_HASH = (select(AuditEntry.__table__.c.hash).order_by(AuditEntry.__table__.c.id.desc())
              .limit(1).execution_options(caseapp_unscoped=True))


def _seal(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHAIN_LOCK})
    previous = session.scalar(_LAST_HASH)
    previous = previous or GENESIS
    rows = []
    for entry in pending:
        entry.prev_hash = previous
        entry.hash = previous = digest(entry, previous)
        rows.append({column: getattr(entry, column) for column in _COLUMNS})
    # One Core INSERT for the lot: the entries are never read back, and a unit-of-work flush
    # of them cost more than the chain itself.
    session.execute(insert(AuditEntry.__table__), rows)


def _discard(session: Session, *_args) -> None:
    session.info.pop(_PENDING, None)


def install(session_class) -> None:
    if not event.contains(session_class, "before_commit", _seal):
        event.listen(session_class, "before_commit", _seal)
        event.listen(session_class, "after_soft_rollback", _discard)


def verify(session: Session, batch: int = 5000) -> tuple[int, int | None]:
    """Walk the chain in order; return (entries checked, id of the first broken one or None)."""
    previous, checked = GENESIS, 0
    for entry in _ordered(session, batch):
        if entry.prev_hash != previous or entry.hash != digest(entry, previous):
            return checked, entry.id
        previous, checked = entry.hash, checked + 1
    return checked, None


def _ordered(session: Session, batch: int) -> Iterator[AuditEntry]:
    last_id = 0
    while True:
        rows = list(session.scalars(select(AuditEntry).where(AuditEntry.id > last_id)
                                    .order_by(AuditEntry.id).limit(batch)))
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id
        session.expunge_all()
