"""What a merge would move, said before it happens: the console's confirmation step.

Counts the rows that point at the duplicate, table by table, the way the merge re-points
them, and the details the survivor would take over. Nothing is written but the audit.
"""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caseapp.services.clients import records
from caseapp.services.clients.merge import FILLABLE, client_references
from caseapp.services.core import audit
from caseapp.services.core.actors import Actor
from caseapp.services.core.errors import Invalid

# What each re-pointed table holds, as a counter worker says it.
TABLE_NAMES = {"consultations": "相談", "cases": "ケース", "consents": "同意",
               "stop_use_requests": "利用停止の請求", "disclosures": "提供記録"}


def preview(session: Session, actor: Actor, survivor_id: int, duplicate_id: int) -> dict:
    if survivor_id == duplicate_id:
        raise Invalid("同じ相談者どうしは統合できません（a client cannot be merged into itself）",
                      errors={"duplicate_id": ["同じ相談者どうしは統合できません"]})
    survivor = records.live_client(session, survivor_id)
    duplicate = records.live_client(session, duplicate_id)
    moves: dict[str, int] = {}
    for table, fk in client_references():
        count = session.scalar(select(func.count()).select_from(table)
                               .where(fk.parent == duplicate.id))
        if count:
            name = TABLE_NAMES.get(table.name, table.name)
            moves[name] = moves.get(name, 0) + count
    filled = {f: getattr(duplicate, f) for f in FILLABLE
              if getattr(survivor, f) is None and getattr(duplicate, f) is not None}
    reasons, _score = records.match(survivor, duplicate)
    audit.record(session, actor, "read", "client", duplicate.id, purpose="merge.preview")
    audit.record(session, actor, "read", "client", survivor.id, purpose="merge.preview")
    session.commit()
    return {"survivor": survivor, "duplicate": duplicate, "moves": moves, "filled": filled,
            "household": duplicate.membership, "reasons": reasons}
