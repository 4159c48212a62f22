"""A referral as staff see it (history, deliveries, attempts), and re-delivery after failure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from caseapp.models import Disclosure, Referral
from caseapp.models.types import utcnow
from caseapp.services.core import audit
from caseapp.services.core.actors import Actor
from caseapp.services.core.errors import Conflict
from caseapp.services.core.lookup import get_or_404
from caseapp.services.core.results import ReadsThrough
from caseapp.services.delivery import outbox
from caseapp.services.legal import consents
from caseapp.services.referrals import lifecycle


@dataclass
class ReferralDetail(ReadsThrough):
    """A referral and the disclosures its deliveries made."""

    referral: Referral
    disclosures: list[Disclosure]


def get(session: Session, actor: Actor, referral_id: int) -> ReferralDetail:
    referral = get_or_404(session, Referral, referral_id)
    audit.record(session, actor, "read", "referral", referral.id)
    return ReferralDetail(referral, list(session.scalars(
        select(Disclosure).where(Disclosure.referral_id == referral.id).order_by(Disclosure.id))))


def retry(session: Session, actor: Actor, referral_id: int,
          now: datetime | None = None) -> Referral:
    """Send a ``failed`` referral again on the partner's channels as configured now.

    Each channel keeps its delivery row and so its message id: a partner that did receive an
    earlier attempt sees the same ``webhook-id`` again, never a second referral.
    """
    now = now or utcnow()
    referral = get_or_404(session, Referral, referral_id)
    if referral.status != "failed":
        raise Conflict(f"only a failed referral can be retried (this one is {referral.status})",
                       extra={"referral_status": referral.status})
    basis = consents.current_basis(session, referral, now)
    if basis is None:
        referral.legal_basis = None
        lifecycle.move(referral, "awaiting_consent", actor,
                       note="再送を指示されましたが有効な同意がないため保留")
    else:
        referral.legal_basis = basis
        lifecycle.move(referral, "requested", actor, note="再送")
        lifecycle.add_deliveries(session, referral, now=now)
    audit.record(session, actor, "retry", "referral", referral.id,
                 detail={"status": referral.status})
    session.commit()
    outbox.enqueue([d.id for d in referral.deliveries if d.state == "pending"])
    return referral
