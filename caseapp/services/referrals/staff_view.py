"""A referral as staff see it (history, deliveries, attempts), and re-delivery after failure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from caseapp.domain.vocab import ReferralStatus
from caseapp.models import Disclosure, Referral
from caseapp.models.types import utcnow
from caseapp.services.core import audit
from caseapp.services.core.actors import Actor
from caseapp.services.core.errors import Conflict
from caseapp.services.core.lookup import get_or_404
from caseapp.services.core.results import ReadsThrough
from caseapp.services.referrals import consent_gate, lifecycle


@dataclass
class ReferralDetail(ReadsThrough):
    """A referral and the disclosures its deliveries made."""

    referral: Referral
    disclosures: list[Disclosure]


def get(session: Session, actor: Actor, referral_id: int) -> ReferralDetail:
    detail = _read(session, actor, get_or_404(session, Referral, referral_id))
    session.commit()
    return detail


def _read(session: Session, actor: Actor, referral: Referral) -> ReferralDetail:
    audit.record(session, actor, "read", "referral", referral.id)
    return ReferralDetail(referral, list(session.scalars(
        select(Disclosure).where(Disclosure.referral_id == referral.id).order_by(Disclosure.id))))


def retry(session: Session, actor: Actor, referral_id: int,
          now: datetime | None = None) -> ReferralDetail:
    """Send a ``failed`` referral again on the partner's channels as configured now.

    Each channel keeps its delivery row and so its message id: a partner that did receive an
    earlier attempt sees the same ``webhook-id`` again, never a second referral. Answers the
    referral as ``get`` does (the read is audited too).
    """
    now = now or utcnow()
    referral = get_or_404(session, Referral, referral_id)
    if referral.status != ReferralStatus.FAILED:
        raise Conflict("再送できるのは届かなかったつなぎだけです。"
                       f"このつなぎは {referral.status} です"
                       f"（only a failed referral can be retried (this one is {referral.status})）",
                       extra={"referral_status": referral.status})
    basis = consent_gate.current_basis(session, referral, now)
    if basis is None:
        referral.legal_basis = None
        lifecycle.move(referral, ReferralStatus.AWAITING_CONSENT, actor,
                       note="再送を指示されましたが有効な同意がないため保留")
    else:
        referral.legal_basis = basis
        lifecycle.move(referral, ReferralStatus.REQUESTED, actor, note="再送")
        lifecycle.add_deliveries(session, referral, now=now)
    audit.record(session, actor, "retry", "referral", referral.id,
                 detail={"status": referral.status})
    detail = _read(session, actor, referral)
    session.commit()
    return detail
