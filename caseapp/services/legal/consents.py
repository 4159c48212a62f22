"""The legal basis for sharing a client's data with a partner, and the gate built on it.

A referral leaves only with a basis that holds *when it is sent*: a consent covering that
partner now, the life-and-safety exception, or a supervisor-recorded support meeting (支援会議).
Without one it waits in ``awaiting_consent`` with its outbox rows ``held``; recording a basis
releases it, withdrawing one returns what was not yet sent.
"""

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from caseapp.models import Case, Client, Consent, Partner, Referral, SupportMeeting
from caseapp.models.types import utcnow
from caseapp.rules.calendar import TOKYO, tokyo_isoformat
from caseapp.services.core import audit
from caseapp.services.core.actors import Actor
from caseapp.services.core.errors import Conflict, Invalid, NotFound
from caseapp.services.referrals import lifecycle

LIFE_SAFETY = "life_safety"  # 個人情報保護法 §27(1)(ii)
ANONYMOUS = "anonymous"  # nothing identifies a person, so nothing personal is disclosed
CONSENT = "consent:"
SUPPORT_MEETING = "support_meeting:"
# The laws under which a support meeting lets its members share without consent.
SUPPORT_MEETING_LAWS = {
    "seikatsu_konkyu_9": "生活困窮者自立支援法 第9条（支援会議）",
    "shakai_fukushi_106_6": "社会福祉法 第106条の6（支援会議）",
}

# Topics and facts that make a consultation 要配慮個人情報 (health, disability, criminal record,
# abuse): sharing them needs a consent that says it covers sensitive data.
SENSITIVE_TOPICS = frozenset({"health_disability", "dv_abuse"})
SENSITIVE_FACTS = ("disability_certificate", "criminal_proceedings", "reduced_cognitive_capacity")

# A tablet's clock a little ahead of the server's is not a consent from the future.
CLOCK_SKEW = timedelta(minutes=5)


def is_sensitive(topics, facts: dict) -> bool:
    return bool(SENSITIVE_TOPICS.intersection(topics)) or any(facts.get(k) for k in SENSITIVE_FACTS)


def basis_for(client: Client | None, partner_code: str, at: datetime, *, sensitive: bool,
              decision_basis: str | None = None, meetings=()) -> str | None:
    if decision_basis == LIFE_SAFETY:
        return LIFE_SAFETY
    if client is None:
        return ANONYMOUS
    for consent in client.consents:
        if consent.covers(partner_code, at) and (consent.covers_sensitive or not sensitive):
            return f"{CONSENT}{consent.id}"
    for meeting in meetings:
        if meeting.covers(partner_code):
            return f"{SUPPORT_MEETING}{meeting.id}"
    return None


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
    basis = referral.legal_basis or ""
    code = referral.partner.code
    if basis == LIFE_SAFETY:
        return True
    if basis == ANONYMOUS:
        return _client_of(referral) is None
    if basis.startswith(CONSENT):
        consent = session.get(Consent, _id(basis))
        return (consent is not None and consent.covers(code, at)
                and (consent.covers_sensitive or not _sensitive(referral)))
    if basis.startswith(SUPPORT_MEETING):
        meeting = session.get(SupportMeeting, _id(basis))
        return meeting is not None and meeting.case_id == referral.case_id and meeting.covers(code)
    return False


def _id(basis: str) -> int:
    try:
        return int(basis.split(":", 1)[1])
    except (IndexError, ValueError):
        return 0


def current_basis(session: Session, referral: Referral, at: datetime) -> str | None:
    """The referral's basis if it still holds, else another one that does, else None."""
    if referral.legal_basis and basis_holds(session, referral, at):
        return referral.legal_basis
    return basis_for(_client_of(referral), referral.partner.code, at,
                     sensitive=_sensitive(referral),
                     meetings=meetings_for(session, referral.case))


def release(session: Session, actor: Actor, waiting, at: datetime, note: str) -> list[Referral]:
    """Move each waiting referral that now has a basis to ``requested`` with its outbox rows."""
    released = []
    for referral in waiting:
        if referral.status != "awaiting_consent":
            continue
        basis = current_basis(session, referral, at)
        if basis is None:
            continue
        referral.legal_basis = basis
        lifecycle.move(referral, "requested", actor, note=f"{note} ({basis})")
        lifecycle.add_deliveries(session, referral, now=at)
        released.append(referral)
    return released


def waiting_for_client(session: Session, client: Client) -> list[Referral]:
    return list(session.scalars(
        select(Referral).join(Case, Referral.case_id == Case.id)
        .where(Case.client_id == client.id, Referral.status == "awaiting_consent")
        .order_by(Referral.id)))


def hold(referral: Referral, actor: Actor, note: str) -> None:
    """Back to ``awaiting_consent``: nothing of it leaves until a basis is recorded again."""
    referral.legal_basis = None
    lifecycle.move(referral, "awaiting_consent", actor, note=note)
    for delivery in referral.deliveries:
        if delivery.state == "pending":
            delivery.state, delivery.enqueued_at = "held", None


def give(session: Session, actor: Actor, client_id: int, data: dict,
         now: datetime | None = None) -> tuple[Consent, list[Referral]]:
    """POST /clients/{id}/consents: record the consent, release what was waiting for it."""
    now = now or utcnow()
    client = session.get(Client, client_id)
    if client is None:
        raise NotFound(f"client {client_id} not found")
    consent = record(session, actor, client, data, prefix="", now=now)
    released = release(session, actor, waiting_for_client(session, client), now,
                       note="同意の記録により送付")
    session.commit()
    return consent, released


def withdraw(session: Session, actor: Actor, consent_id: int,
             now: datetime | None = None) -> tuple[Consent, list[Referral]]:
    """POST /consents/{id}/withdraw: referrals not yet sent on it wait for consent again."""
    now = now or utcnow()
    consent = session.get(Consent, consent_id)
    if consent is None:
        raise NotFound(f"consent {consent_id} not found")
    if consent.withdrawn_at is not None:
        raise Conflict("this consent was withdrawn already",
                       extra={"withdrawn_at": tokyo_isoformat(consent.withdrawn_at)})
    consent.withdrawn_at, consent.withdrawn_by_id = now, actor.user_id
    session.flush()
    returned = []
    relying = list(session.scalars(select(Referral).where(
        Referral.legal_basis == f"{CONSENT}{consent.id}").order_by(Referral.id)))
    for referral in relying:
        other = current_basis(session, referral, now)
        if referral.status == "requested":
            if other is not None:
                referral.legal_basis = other
            else:
                hold(referral, actor, note=f"同意 {consent.id} の撤回により送付を保留")
                returned.append(referral)
        elif other is None:
            # Sent already on one channel; what has not left yet stays here.
            for delivery in referral.deliveries:
                if delivery.state in ("pending", "held"):
                    delivery.state, delivery.last_error = "cancelled", "consent withdrawn"
    audit.record(session, actor, "withdraw", "consent", consent.id,
                 detail={"client_id": consent.client_id,
                         "returned_referrals": [r.id for r in returned]})
    session.commit()
    return consent, returned


def record_support_meeting(session: Session, actor: Actor, case_id: int, data: dict,
                           now: datetime | None = None) -> tuple[SupportMeeting, list[Referral]]:
    """A supervisor records that a 支援会議 was held with these members: sharing may proceed."""
    now = now or utcnow()
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound(f"case {case_id} not found")
    errors = {}
    if data["law"] not in SUPPORT_MEETING_LAWS:
        errors["law"] = [f"次のいずれかを指定してください: {', '.join(SUPPORT_MEETING_LAWS)}"]
    if data["meeting_date"] > now.astimezone(TOKYO).date():
        errors["meeting_date"] = ["開催済みの会議の日付を指定してください"]
    if errors:
        raise Invalid("invalid support meeting", errors=errors)
    _check_partner_codes(session, data["partners"], "partners")
    meeting = SupportMeeting(case_id=case.id, law=data["law"], meeting_date=data["meeting_date"],
                             partners=list(dict.fromkeys(data["partners"])),
                             note=data.get("note"), recorded_by_id=actor.user_id)
    session.add(meeting)
    session.flush()
    audit.record(session, actor, "create", "support_meeting", meeting.id,
                 detail={"case_id": case.id, "law": meeting.law, "partners": meeting.partners})
    waiting = [r for r in case.referrals if r.status == "awaiting_consent"]
    released = release(session, actor, waiting, now, note="支援会議の記録により送付")
    session.commit()
    return meeting, released


def _unknown_partner_codes(session: Session, codes) -> list[str]:
    known = set(session.scalars(select(Partner.code).where(Partner.code.in_(list(codes)))))
    return [c for c in codes if c not in known]


def _check_partner_codes(session: Session, codes, field: str) -> None:
    unknown = _unknown_partner_codes(session, codes)
    if unknown:
        raise Invalid("unknown partner codes",
                      errors={field: [f"登録されていない連携機関です: {', '.join(unknown)}"]})


def record(session: Session, actor: Actor, client: Client, data: dict, *,
           prefix: str = "consent.", now: datetime | None = None) -> Consent:
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
        raise Invalid("invalid consent", errors=errors)
    consent = Consent(
        client=client, scope=data["scope"], partners=list(data.get("partners") or []),
        purposes=list(data.get("purposes") or []),
        covers_sensitive=bool(data.get("covers_sensitive")), method=data["method"],
        given_at=data["given_at"], expires_at=expires_at, recorded_by_id=actor.user_id,
    )
    session.add(consent)
    session.flush()
    audit.record(session, actor, "create", "consent", consent.id,
                 detail={"client_id": client.id, "scope": consent.scope})
    return consent
