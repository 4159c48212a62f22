"""名寄せ proposals for a person being typed at the counter, before anything is stored."""

from sqlalchemy.orm import Session

from caseapp.jp.names import search_key
from caseapp.models import Client
from caseapp.services.clients import records
from caseapp.services.core import audit
from caseapp.services.core.actors import Actor
from caseapp.services.core.errors import Invalid


def for_details(session: Session, actor: Actor, data: dict, limit: int = 5) -> list[dict]:
    """Stored clients that may be this person, with the reasons; nothing is written but the
    audit of the read (it shows other people's records)."""
    try:
        fields = records.clean(data)
    except Invalid:
        return []  # the form shows those problems itself
    if not fields.get("name") and not fields.get("phone"):
        return []
    probe = Client(**fields)
    probe.search_key = search_key(probe.name or "")
    probe.kana_key = search_key(probe.name_kana) if probe.name_kana else None
    found = records.possible_duplicates(session, probe, limit=limit)
    if found:
        audit.record(session, actor, "duplicates", "client", None,
                     detail={"results": [d["client_id"] for d in found], "purpose": "intake"})
    session.commit()
    return found
