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


# Why a referral waits in awaiting_consent: a code for programs, a sentence for staff.
WAITING_REASONS = {
    "use_stopped": "ご本人から利用停止（個人情報保護法 第35条）の請求があり、送付を止めています。"
                   "監督者が利用停止を解除するまで送れません。",
    "no_consent": "情報共有の同意が記録されていないため送付を待っています。同意を記録するか、"
                  "生命・身体の保護のために必要なら life_safety として理由を添えて送ってください。",
    "consent_not_in_force": "記録された同意が撤回されたか期限切れのため送付を待っています。"
                            "改めて同意を記録してください。",
    "consent_not_partner": "同意はありますが、このつなぎ先（{partner}）が同意の範囲に"
                           "含まれていないため送付を待っています。このつなぎ先を含む同意を記録してください。",
    "consent_not_sensitive": "相談内容に要配慮個人情報（健康・障害・DV・犯罪歴など）が"
                             "含まれますが、同意がその共有を含んでいないため送付を待っています。"
                             "要配慮個人情報を含む同意（covers_sensitive）を記録してください。",
    "meeting_not_covering": "支援会議の記録はありますが、このつなぎ先（{partner}）が構成員に"
                            "含まれていないため送付を待っています。",
    "meeting_not_recorded": "支援会議を根拠にしていますが、その支援会議の記録がないため送付を"
                            "待っています。POST /cases/{{id}}/support-meeting で記録してください。",
}


def waiting_reason(client, partner_code: str, at: datetime, *, sensitive: bool,
                   meetings: Iterable = (), declared: str | None = None
                   ) -> tuple[str, str] | None:
    """Why a referral to ``partner_code`` has no basis at ``at``: (code, Japanese sentence).

    None when a basis exists (the referral is about to leave) or nothing identifies a person.
    ``declared`` is a basis staff named that is not yet backed by a record.
    """
    def reason(code: str) -> tuple[str, str]:
        return code, WAITING_REASONS[code].format(partner=partner_code)

    if stop_in_force(client) is not None:
        return reason("use_stopped")
    if client is None:
        return None
    meetings = list(meetings)
    consents = list(client.consents)
    if any(c.covers(partner_code, at) and (c.covers_sensitive or not sensitive)
           for c in consents) or any(m.covers(partner_code) for m in meetings):
        return None
    if LegalBasis.parse(declared) == (LegalBasis.SUPPORT_MEETING, None) and not meetings:
        return reason("meeting_not_recorded")
    in_force = [c for c in consents if c.in_force(at)]
    naming = [c for c in in_force if c.names(partner_code)]
    if naming:
        return reason("consent_not_sensitive")
    if in_force:
        return reason("consent_not_partner")
    if consents:
        return reason("consent_not_in_force")
    if meetings:
        return reason("meeting_not_covering")
    return reason("no_consent")


def basis_kind(legal_basis: str | None) -> LegalBasis | None:
    """``consent:12`` → ``consent``: a partner learns the kind of basis, not our record ids."""
    return LegalBasis.parse(legal_basis)[0]
