"""Recording and withdrawing the legal basis for sharing: consents and support meetings (支援会議).

Recording a basis releases the referrals that waited for it, withdrawing one returns what was
not yet sent (the gate itself is caseapp.services.referrals.consent_gate). Each use case here
commits its own transaction.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from caseapp.domain.legal_basis import SUPPORT_MEETING_LAWS
from caseapp.domain.vocab import DeliveryState, LegalBasis, ReferralStatus
from caseapp.models import Case, Client, Consent, Partner, Referral, SupportMeeting
from caseapp.models.types import utcnow
from caseapp.rules.calendar import TOKYO, tokyo_isoformat
from caseapp.services.core import audit
from caseapp.services.core.actors import Actor
from caseapp.services.core.errors import Conflict, Invalid
from caseapp.services.core.lookup import get_or_404
from caseapp.services.core.results import ReadsThrough
from caseapp.services.referrals.consent_gate import (
    current_basis,
    hold,
    release,
    waiting_for_client,
)

# A tablet's clock a little ahead of the server's is not a consent from the future.
CLOCK_SKEW = timedelta(minutes=5)


@dataclass
class ConsentGiven(ReadsThrough):
    consent: Consent
    released_referrals: list[Referral]


@dataclass
class ConsentWithdrawn(ReadsThrough):
    consent: Consent
    returned_referrals: list[Referral]


@dataclass
class MeetingRecorded(ReadsThrough):
    meeting: SupportMeeting
    released_referrals: list[Referral]


def give(session: Session, actor: Actor, client_id: int, data: dict,
         now: datetime | None = None) -> ConsentGiven:
    """POST /clients/{id}/consents: record the consent, release what was waiting for it."""
    now = now or utcnow()
    client = get_or_404(session, Client, client_id)
    consent = record(session, actor, client, data, prefix="", now=now)
    released = release(session, actor, waiting_for_client(session, client), now,
                       note="同意の記録により送付")
    session.commit()
    return ConsentGiven(consent, released)


def withdraw(session: Session, actor: Actor, consent_id: int,
             now: datetime | None = None) -> ConsentWithdrawn:
    """POST /consents/{id}/withdraw: referrals not yet sent on it wait for consent again."""
    now = now or utcnow()
    consent = get_or_404(session, Consent, consent_id)
    if consent.withdrawn_at is not None:
        raise Conflict("この同意は既に撤回されています（this consent was withdrawn already）",
                       extra={"withdrawn_at": tokyo_isoformat(consent.withdrawn_at)})
    consent.withdrawn_at, consent.withdrawn_by_id = now, actor.user_id
    session.flush()
    returned = []
    relying = list(session.scalars(select(Referral).where(
        Referral.legal_basis == LegalBasis.CONSENT.on(consent.id)).order_by(Referral.id)))
    for referral in relying:
        other = current_basis(session, referral, now)
        if referral.status == ReferralStatus.REQUESTED:
            if other is not None:
                referral.legal_basis = other
            else:
                hold(referral, actor, note=f"同意 {consent.id} の撤回により送付を保留")
                returned.append(referral)
        elif other is None:
            # Sent already on one channel; what has not left yet stays here.
            for delivery in referral.deliveries:
                if delivery.state in (DeliveryState.PENDING, DeliveryState.HELD):
                    delivery.state = DeliveryState.CANCELLED
                    delivery.last_error = "consent withdrawn"
    audit.record(session, actor, "withdraw", "consent", consent.id,
                 detail={"client_id": consent.client_id,
                         "returned_referrals": [r.id for r in returned]})
    session.commit()
    return ConsentWithdrawn(consent, returned)


def record_support_meeting(session: Session, actor: Actor, case_id: int, data: dict,
                           now: datetime | None = None) -> MeetingRecorded:
    """A supervisor records that a 支援会議 was held with these members: sharing may proceed."""
    now = now or utcnow()
    case = get_or_404(session, Case, case_id)
    errors = {}
    if data["law"] not in SUPPORT_MEETING_LAWS:
        errors["law"] = [f"次のいずれかを指定してください: {', '.join(SUPPORT_MEETING_LAWS)}"]
    if data["meeting_date"] > now.astimezone(TOKYO).date():
        errors["meeting_date"] = ["開催済みの会議の日付を指定してください"]
    if errors:
        raise Invalid("支援会議の記録に誤りがあります（invalid support meeting）", errors=errors)
    _check_partner_codes(session, data["partners"], "partners")
    meeting = SupportMeeting(case_id=case.id, law=data["law"], meeting_date=data["meeting_date"],
                             partners=list(dict.fromkeys(data["partners"])),
                             note=data.get("note"), recorded_by_id=actor.user_id)
    session.add(meeting)
    session.flush()
    audit.record(session, actor, "create", "support_meeting", meeting.id,
                 detail={"case_id": case.id, "law": meeting.law, "partners": meeting.partners})
    waiting = [r for r in case.referrals if r.status == ReferralStatus.AWAITING_CONSENT]
    released = release(session, actor, waiting, now, note="支援会議の記録により送付")
    session.commit()
    return MeetingRecorded(meeting, released)


def _unknown_partner_codes(session: Session, codes) -> list[str]:
    if not codes:
        return []
    known = set(session.scalars(select(Partner.code).where(Partner.code.in_(list(codes)))))
    return [c for c in codes if c not in known]


def _check_partner_codes(session: Session, codes, field: str) -> None:
    unknown = _unknown_partner_codes(session, codes)
    if unknown:
        raise Invalid("登録されていない連携機関があります（unknown partner codes）",
                      errors={field: [f"登録されていない連携機関です: {', '.join(unknown)}"]})


def checked(session: Session, actor: Actor, data: dict, *, prefix: str = "consent.",
            now: datetime | None = None) -> dict:
    """The consent's column values once every problem with them is ruled out (422 else)."""
    now = now or utcnow()
    errors = {}
    if data["scope"] == "partners" and not data.get("partners"):
        errors[f"{prefix}partners"] = ["同意の対象機関を指定してください"]
    if data["given_at"] > now + CLOCK_SKEW:
        # A consent dated ahead would be recorded but cover nothing until then: refuse it.
        errors[f"{prefix}given_at"] = [
            "同意日時が未来になっています。同意を得た日時を指定してください"
            "（given_at is in the future）"]
    expires_at = data.get("expires_at")
    if expires_at is not None and expires_at <= data["given_at"]:
        errors[f"{prefix}expires_at"] = ["有効期限は同意日より後にしてください"]
    unknown = _unknown_partner_codes(session, data.get("partners") or [])
    if unknown:
        errors[f"{prefix}partners"] = [
            f"登録されていない連携機関です: {', '.join(unknown)}（unknown partner codes）"]
    if errors:
        raise Invalid("同意の記録に誤りがあります（invalid consent）", errors=errors)
    return dict(scope=data["scope"], partners=list(data.get("partners") or []),
                purposes=list(data.get("purposes") or []),
                covers_sensitive=bool(data.get("covers_sensitive")), method=data["method"],
                given_at=data["given_at"], expires_at=expires_at, recorded_by_id=actor.user_id)


def record(session: Session, actor: Actor, client: Client, data: dict, *,
           prefix: str = "consent.", now: datetime | None = None) -> Consent:
    consent = Consent(client=client, **checked(session, actor, data, prefix=prefix, now=now))
    session.add(consent)
    session.flush()
    audit.record(session, actor, "create", "consent", consent.id,
                 detail={"client_id": client.id, "scope": consent.scope})
    return consent
