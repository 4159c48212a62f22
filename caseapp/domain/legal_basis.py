"""Which legal basis lets a client's data go to a partner: the pure part of the consent gate.

Takes loaded rows (a client with its consents, the case's support meetings) and a time; the
services load them and record what was decided.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from caseapp.domain.vocab import LegalBasis

# The laws under which a support meeting lets its members share without consent.
SUPPORT_MEETING_LAWS = {
    "seikatsu_konkyu_9": "生活困窮者自立支援法 第9条（支援会議）",
    "shakai_fukushi_106_6": "社会福祉法 第106条の6（支援会議）",
}

# Topics and facts that make a consultation 要配慮個人情報 (health, disability, criminal record,
# abuse): sharing them needs a consent that says it covers sensitive data.
SENSITIVE_TOPICS = frozenset({"health_disability", "dv_abuse"})
SENSITIVE_FACTS = ("disability_certificate", "criminal_proceedings", "reduced_cognitive_capacity")


def is_sensitive(topics: Iterable[str], facts: dict) -> bool:
    return bool(SENSITIVE_TOPICS.intersection(topics)) or any(facts.get(k) for k in SENSITIVE_FACTS)


def stop_in_force(client):
    """The stop of use (利用停止, §35) in force for this client, if any."""
    if client is None:
        return None
    return next((s for s in client.use_stops if s.lifted_at is None), None)


def basis_for(client, partner_code: str, at: datetime, *, sensitive: bool,
              decision_basis: str | None = None, meetings: Iterable = ()) -> str | None:
    """The basis a referral to ``partner_code`` has at ``at``, or None (it must wait)."""
    if stop_in_force(client) is not None:
        return None  # 利用停止 (§35) outranks every basis until a supervisor lifts it
    if decision_basis == LegalBasis.LIFE_SAFETY:
        return LegalBasis.LIFE_SAFETY
    if client is None:
        return LegalBasis.ANONYMOUS
    for consent in client.consents:
        if consent.covers(partner_code, at) and (consent.covers_sensitive or not sensitive):
            return LegalBasis.CONSENT.on(consent.id)
    for meeting in meetings:
        if meeting.covers(partner_code):
            return LegalBasis.SUPPORT_MEETING.on(meeting.id)
    return None


def basis_kind(legal_basis: str | None) -> LegalBasis | None:
    """``consent:12`` → ``consent``: a partner learns the kind of basis, not our record ids."""
    return LegalBasis.parse(legal_basis)[0]
