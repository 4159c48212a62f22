"""The legal basis for sharing a client's data with a partner."""

from datetime import datetime

from sqlalchemy.orm import Session

from caseapp.models import Client, Consent
from caseapp.services import audit
from caseapp.services.actors import Actor
from caseapp.services.errors import Invalid

LIFE_SAFETY = "life_safety"  # 個人情報保護法 §27(1)(ii)
ANONYMOUS = "anonymous"  # nothing identifies a person, so nothing personal is disclosed

# Topics and facts that make a consultation 要配慮個人情報 (health, disability, criminal record,
# abuse): sharing them needs a consent that says it covers sensitive data.
SENSITIVE_TOPICS = frozenset({"health_disability", "dv_abuse"})
SENSITIVE_FACTS = ("disability_certificate", "criminal_proceedings", "reduced_cognitive_capacity")


def is_sensitive(topics, facts: dict) -> bool:
    return bool(SENSITIVE_TOPICS.intersection(topics)) or any(facts.get(k) for k in SENSITIVE_FACTS)


def basis_for(client: Client | None, partner_code: str, at: datetime, *, sensitive: bool,
              decision_basis: str | None = None) -> str | None:
    if decision_basis == LIFE_SAFETY:
        return LIFE_SAFETY
    if client is None:
        return ANONYMOUS
    for consent in client.consents:
        if consent.covers(partner_code, at) and (consent.covers_sensitive or not sensitive):
            return f"consent:{consent.id}"
    return None


def record(session: Session, actor: Actor, client: Client, data: dict) -> Consent:
    if data["scope"] == "partners" and not data.get("partners"):
        raise Invalid("scope 'partners' needs at least one partner code",
                      errors={"consent.partners": ["同意の対象機関を指定してください"]})
    expires_at = data.get("expires_at")
    if expires_at is not None and expires_at <= data["given_at"]:
        raise Invalid("expires_at must be after given_at",
                      errors={"consent.expires_at": ["有効期限は同意日より後にしてください"]})
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
