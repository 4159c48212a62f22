"""The consent gate: a referral leaves only on a legal basis that holds when it is sent.

A basis is a consent covering the partner now, the life-and-safety exception, or a recorded
support meeting (支援会議). Without one a referral waits in ``awaiting_consent`` with its outbox
rows ``held``; ``release`` lets it go once a basis exists, ``hold`` stops what was not yet
sent. The use cases that record or withdraw a basis are caseapp.services.legal.consents.
"""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from caseapp.domain import legal_basis
from caseapp.domain.legal_basis import basis_for, is_sensitive, stop_in_force
from caseapp.domain.vocab import DeliveryState, LegalBasis, ReferralStatus
from caseapp.models import Case, Client, Consent, Referral, SupportMeeting
from caseapp.services.core.actors import Actor
from caseapp.services.referrals import lifecycle

__all__ = ["NO_BASIS_NOTE", "USE_STOPPED_NOTE", "basis_for", "basis_holds", "current_basis",
           "hold", "hold_note", "is_sensitive", "meetings_for", "release", "waiting_for_client",
           "waiting_reason"]

USE_STOPPED_NOTE = ("利用停止（個人情報保護法 第35条）のため送付を保留 / "
                    "held: use of the data stopped")
NO_BASIS_NOTE = "送付時点で有効な同意がないため保留"


def meetings_for(session: Session, case: Case | None) -> list[SupportMeeting]:
    if case is None or case.id is None:
        return []
    return list(session.scalars(select(SupportMeeting).where(SupportMeeting.case_id == case.id)
                                .order_by(SupportMeeting.id)))


def _client_of(referral: Referral) -> Client | None:
    if referral.consultation is not None and referral.consultation.client is not None:
        return referral.consultation.client
    return referral.case.client


def _sensitive(referral: Referral) -> bool:
    consultations = ([referral.consultation] if referral.consultation is not None
                     else referral.case.consultations)
    return any(is_sensitive(c.topics, c.facts or {}) for c in consultations)


def basis_holds(session: Session, referral: Referral, at: datetime) -> bool:
    """Whether the basis the referral was released on is still good at ``at``."""
    kind, record_id = LegalBasis.parse(referral.legal_basis)
    code = referral.partner.code
    if kind == LegalBasis.LIFE_SAFETY:
        return True
    if kind == LegalBasis.ANONYMOUS:
        return _client_of(referral) is None
    if record_id is None:
        # A consent or meeting named without its record (declared, not yet recorded).
        return False
    if kind == LegalBasis.CONSENT:
        consent = session.get(Consent, record_id)
        return (consent is not None and consent.covers(code, at)
                and (consent.covers_sensitive or not _sensitive(referral)))
    if kind == LegalBasis.SUPPORT_MEETING:
        meeting = session.get(SupportMeeting, record_id)
        return meeting is not None and meeting.case_id == referral.case_id and meeting.covers(code)
    return False


def current_basis(session: Session, referral: Referral, at: datetime) -> str | None:
    """The referral's basis if it still holds, else another one that does, else None."""
    if stop_in_force(_client_of(referral)) is not None:
        return None
    if referral.legal_basis and basis_holds(session, referral, at):
        return referral.legal_basis
    return basis_for(_client_of(referral), referral.partner.code, at,
                     sensitive=_sensitive(referral),
                     meetings=meetings_for(session, referral.case))


def release(session: Session, actor: Actor, waiting, at: datetime, note: str) -> list[Referral]:
    """Move each waiting referral that now has a basis to ``requested`` with its outbox rows."""
    released = []
    for referral in waiting:
        if referral.status != ReferralStatus.AWAITING_CONSENT:
            continue
        basis = current_basis(session, referral, at)
        if basis is None:
            continue
        referral.legal_basis = basis
        lifecycle.move(referral, ReferralStatus.REQUESTED, actor, note=f"{note} ({basis})")
        lifecycle.add_deliveries(session, referral, now=at)
        for delivery in referral.deliveries:
            if delivery.state == DeliveryState.PENDING:
                delivery.last_error = None  # the reason it was held no longer applies
        released.append(referral)
    return released


def waiting_for_client(session: Session, client: Client) -> list[Referral]:
    return list(session.scalars(
        select(Referral).join(Case, Referral.case_id == Case.id)
        .where(Case.client_id == client.id,
               Referral.status == ReferralStatus.AWAITING_CONSENT)
        .order_by(Referral.id)))


def hold(referral: Referral, actor: Actor, note: str) -> None:
    """Back to ``awaiting_consent``: nothing of it leaves until a basis is recorded again.

    Each held outbox row keeps ``note`` as the reason it waits.
    """
    referral.legal_basis = None
    lifecycle.move(referral, ReferralStatus.AWAITING_CONSENT, actor, note=note)
    for delivery in referral.deliveries:
        if delivery.state == DeliveryState.PENDING:
            delivery.state, delivery.enqueued_at = DeliveryState.HELD, None
            delivery.last_error = note


def waiting_reason(referral: Referral, at: datetime) -> dict | None:
    """``{code, message}`` saying why a referral waits in awaiting_consent; else None."""
    if referral.status != ReferralStatus.AWAITING_CONSENT:
        return None
    session = object_session(referral)
    found = legal_basis.waiting_reason(
        _client_of(referral), referral.partner.code, at, sensitive=_sensitive(referral),
        meetings=meetings_for(session, referral.case) if session is not None else (),
        declared=referral.legal_basis)
    if found is None:
        # A basis exists now but the referral was not released yet (e.g. recorded elsewhere).
        found = ("basis_available", "送付できる根拠があります。次の処理で送付されます。")
    return {"code": found[0], "message": found[1]}


def hold_note(referral: Referral) -> str:
    """Why a referral found without a basis at send time is held."""
    if stop_in_force(_client_of(referral)) is not None:
        return USE_STOPPED_NOTE
    return NO_BASIS_NOTE
