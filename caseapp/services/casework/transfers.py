"""移管: a person who moves home takes their case to the new municipality, with their consent.

The client, their cases, consultations and referrals move; the handover row stays visible to
both municipalities, and the audit log says who moved what. Open referrals must be closed or
cancelled first: a partner of the old town's network would otherwise lose sight of them.
"""

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from caseapp.domain.community import AreaLevel
from caseapp.models import Area, Case, CaseTransfer, Client, Consultation, Referral
from caseapp.models.referrals import OPEN_STATUSES
from caseapp.models.types import utcnow
from caseapp.services.core import audit, scope
from caseapp.services.core.actors import Actor
from caseapp.services.core.errors import Conflict, Invalid
from caseapp.services.core.lookup import get_or_404
from caseapp.services.core.pagination import Page, paginate


def transfer(session: Session, actor: Actor, case_id: int, data: dict,
             now: datetime | None = None) -> CaseTransfer:
    case = get_or_404(session, Case, case_id)
    target = session.execute(
        select(Area).where(Area.code == data["to"], Area.level == AreaLevel.MUNICIPALITY)
        .execution_options(**{scope.UNSCOPED: True})).scalar()
    if target is None:
        raise Invalid("unknown municipality", errors={"to": [
            f"市町村 {data['to']} は登録されていません"]})
    if target.id == case.municipality_id:
        raise Invalid("already there", errors={"to": ["すでにこの市町村のケースです"]})
    client = case.client
    cases = list(client.cases) if client is not None else [case]
    still_open = [r.id for c in cases for r in c.referrals if r.status in OPEN_STATUSES]
    if still_open:
        raise Conflict("open referrals: close or cancel them before the handover",
                       extra={"referral_ids": still_open})
    source = case.municipality_id
    old = session.get(Area, source)
    case_ids = [c.id for c in cases]
    # Row-level security lets this transaction write rows of both municipalities.
    scope.allow(session, (source, target.id))
    record = CaseTransfer(case_id=case.id, client_id=client.id if client else None,
                          from_municipality_id=source, to_municipality_id=target.id,
                          from_code=old.code, from_name=old.name, to_code=target.code,
                          to_name=target.name,
                          consent_method=data["consent"]["method"],
                          consent_given_at=data["consent"]["given_at"],
                          note=data.get("note") or "", by_id=actor.user_id,
                          by_label=actor.label, at=now or utcnow())
    session.add(record)
    session.flush()
    moves = [update(Case).where(Case.id.in_(case_ids)),
             update(Consultation).where(Consultation.case_id.in_(case_ids)),
             update(Referral).where(Referral.case_id.in_(case_ids))]
    if client is not None:
        moves.append(update(Client).where(Client.id == client.id))
        # Home moved: the old 地区/小地域 no longer places the person.
        session.execute(update(Client).where(Client.id == client.id).values(area_id=None))
    for statement in moves:
        session.execute(statement.values(municipality_id=target.id)
                        .execution_options(synchronize_session=False))
    if case.household_id is not None:
        session.execute(update(Case).where(Case.id.in_(case_ids)).values(household_id=None)
                        .execution_options(synchronize_session=False))
    audit.record(session, actor, "transfer", "case", case.id,
                 detail={"transfer_id": record.id, "cases": case_ids,
                         "client_id": record.client_id, "from": source, "to": target.id,
                         "consent_method": record.consent_method})
    session.commit()
    return record


def listing(session: Session, actor: Actor, *, page: int, per_page: int) -> Page:
    """Handovers into and out of the actor's municipality, newest first."""
    query = select(CaseTransfer).order_by(CaseTransfer.id.desc())  # scoped: both ends see it
    found = paginate(session, query, page=page, per_page=per_page)
    audit.record(session, actor, "read", "case_transfer", None,
                 detail={"ids": [t.id for t in found.items]})
    session.commit()
    return found

