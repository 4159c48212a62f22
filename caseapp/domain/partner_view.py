"""What a partner may see of a referral (data minimisation; docs/partner-view.md).

Pure: takes loaded rows (a referral with its case, client, consents and history) and the
time, returns plain dicts and the list of personal items disclosed (for the §29 disclosure
log). The legal basis is re-checked at every read: a consent withdrawn or expired since
the referral was sent stops further disclosure of the person's name, contact and summary,
while the referral itself stays visible so the loop can close.
"""

from __future__ import annotations

from datetime import datetime

from caseapp.domain import views, workflow
from caseapp.domain.legal_basis import basis_kind, is_sensitive, stop_in_force
from caseapp.domain.vocab import LegalBasis, ReferralStatus

# The statuses a partner ever sees: before a legal basis exists nothing reaches the partner.
HIDDEN_STATUSES = (ReferralStatus.AWAITING_CONSENT,)
VISIBLE_STATUSES = tuple(s for s in workflow.TRANSITIONS if s not in HIDDEN_STATUSES)

LIST_FIELDS = ("id", "status", "method", "urgency", "reason", "topics", "referred_at",
               "status_at", "ack_due_at", "client", "next_statuses")
DETAIL_FIELDS = (*LIST_FIELDS, "basis", "contact", "summary", "withheld", "outcome",
                 "outcome_note", "rejection_reason", "history")
CLIENT_FIELDS = ("name", "name_kana")
CONTACT_FIELDS = ("phone", "postal_code", "address")
HISTORY_FIELDS = ("from_status", "status", "at", "by", "note")
# What a webhook carries of the detail view: everything but the history (the partner's inbox
# has it); every personal item is among these, so a webhook and the inbox disclose the same.
WEBHOOK_FIELDS = ("status", "method", "urgency", "reason", "topics", "referred_at", "client",
                  "basis", "contact", "summary", "withheld")
# The personal items of these views (§29): the log names those that carry a value in the answer.
PERSONAL_ITEMS = ("reason", "topics", *(f"client.{k}" for k in CLIENT_FIELDS),
                  *(f"contact.{k}" for k in CONTACT_FIELDS), "summary")

# Bases under which the person is identified to the partner without a current consent.
_IDENTIFY_WITHOUT_CONSENT = (LegalBasis.LIFE_SAFETY, LegalBasis.SUPPORT_MEETING)

__all__ = ["basis_kind", "build", "is_visible"]


def is_visible(referral) -> bool:
    return referral.status not in HIDDEN_STATUSES and referral.legal_basis is not None


def _consented_now(referral, sensitive: bool, now: datetime) -> bool:
    client = referral.case.client
    if client is None:
        return False
    code = referral.partner.code
    return any(c.covers(code, now) and (c.covers_sensitive or not sensitive)
               for c in client.consents)


def _by(event, roles: dict[int, str]) -> str:
    if event.actor_id is None:
        return "partner" if event.actor_label.startswith("ack-link:") else "system"
    role = roles.get(event.actor_id)
    return "partner" if role == "partner" else "counter"


def build(referral, *, detail: bool, now: datetime, roles: dict[int, str] | None = None,
          history: bool = True) -> tuple[dict, list[str]]:
    """The partner's view and the personal items it discloses (read off the view itself).

    ``history=False`` leaves the detail view's history out (a webhook does not carry it; it
    discloses nothing personal), so the referral's history need not be loaded.
    """
    client = referral.case.client
    if client is not None and client.anonymised_at is not None:
        client = None  # past retention: nothing of the person is left to show or withhold
    consultation = referral.consultation
    sensitive = bool(consultation) and is_sensitive(consultation.topics, consultation.facts)
    kind = basis_kind(referral.legal_basis)
    consented = client is not None and _consented_now(referral, sensitive, now)
    if stop_in_force(client) is not None:
        # 利用停止 (§35): the partner learns that use has stopped, and nothing of the person.
        kind, consented = LegalBasis.USE_STOPPED, False
    identify = client is not None and (consented or kind in _IDENTIFY_WITHOUT_CONSENT)
    show_summary = consultation is not None and (
        consented or kind == LegalBasis.SUPPORT_MEETING
        or (kind == LegalBasis.ANONYMOUS and client is None))

    view = {
        "id": referral.id,
        "status": referral.status,
        "method": referral.method,
        "urgency": referral.urgency,
        "reason": referral.reason,
        "topics": list(consultation.topics) if consultation else [],
        "referred_at": referral.created_at,
        "status_at": referral.status_at,
        "ack_due_at": referral.ack_due_at,
        "client": ({k: getattr(client, k) for k in CLIENT_FIELDS} if identify else None),
        "next_statuses": workflow.allowed_next(referral.status, workflow.PARTNER),
    }
    if not detail:
        return view, disclosed(view)

    contact = None
    if client is not None and consented:
        contact = {k: getattr(client, k) for k in CONTACT_FIELDS}
    withheld = []
    if client is not None and not identify:
        withheld.append("client")
    if client is not None and contact is None:
        withheld.append("contact")
    if consultation is not None and not show_summary:
        withheld.append("summary")
    roles = roles or {}
    view.update({
        "basis": kind,
        "contact": contact,
        "summary": consultation.summary if show_summary else None,
        "withheld": withheld,
        "outcome": referral.outcome,
        "outcome_note": referral.outcome_note,
        # the partner's own words; a staff cancellation reason is an internal note and stays home
        "rejection_reason": (referral.status_reason
                             if referral.status == ReferralStatus.REJECTED else None),
    })
    if history:
        view["history"] = [_event(e, roles) for e in referral.history]
    return view, disclosed(view)


def disclosed(view: dict) -> list[str]:
    """The personal items a built view shows: what the disclosure log records for it."""
    return views.shown(view, PERSONAL_ITEMS)


def _event(event, roles: dict[int, str]) -> dict:
    by = _by(event, roles)
    return {"from_status": event.from_status, "status": event.to_status, "at": event.at,
            "by": by, "note": event.note if by == "partner" else None}
