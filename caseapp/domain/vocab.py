"""The counter's vocabulary as StrEnums, in one place.

A StrEnum member is its string: it is stored, compared and answered as the plain value
(``ReferralStatus.SENT == "sent"``), so the API and the database keep the codes of DESIGN.md.
"""

from __future__ import annotations

from enum import StrEnum


class ReferralStatus(StrEnum):
    """つなぎの状況, after the FHIR Task workflow (see caseapp.domain.workflow)."""

    AWAITING_CONSENT = "awaiting_consent"
    REQUESTED = "requested"
    SENT = "sent"
    RECEIVED = "received"
    ACCEPTED = "accepted"
    IN_PROGRESS = "in_progress"
    REJECTED = "rejected"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"


# How a partner reads each status on a page (受理確認 and the like).
REFERRAL_STATUS_LABELS: dict[str, str] = {
    "awaiting_consent": "同意待ち", "requested": "送付待ち", "sent": "送付済み",
    "received": "受領済み", "accepted": "受理", "in_progress": "対応中", "rejected": "辞退",
    "completed": "完了", "cancelled": "取消", "failed": "送付失敗",
}


OPEN_STATUSES: tuple[ReferralStatus, ...] = (
    ReferralStatus.AWAITING_CONSENT, ReferralStatus.REQUESTED, ReferralStatus.SENT,
    ReferralStatus.RECEIVED, ReferralStatus.ACCEPTED, ReferralStatus.IN_PROGRESS)
# A dead end that stays in the owner's queue until re-routed or marked handled.
NEEDS_REROUTING: tuple[ReferralStatus, ...] = (ReferralStatus.REJECTED, ReferralStatus.FAILED)


class LegalBasis(StrEnum):
    """The kind of basis a referral leaves on.

    Stored on a referral as the kind alone (``life_safety``, ``anonymous``, and a
    ``support_meeting`` declared by staff before the meeting is recorded) or as the kind and
    the id of the record that grants it (``consent:12``, ``support_meeting:3``).
    """

    CONSENT = "consent"
    LIFE_SAFETY = "life_safety"  # 個人情報保護法 §27(1)(ii)
    SUPPORT_MEETING = "support_meeting"  # 生活困窮者自立支援法 §9 / 社会福祉法 §106-6
    ANONYMOUS = "anonymous"  # nothing identifies a person, so nothing personal is disclosed
    # Never stored on a referral: what a partner's view says while 利用停止 (§35) is in force.
    USE_STOPPED = "use_stopped"

    def on(self, record_id: int) -> str:
        """The stored form naming the record: ``consent:12``."""
        return f"{self.value}:{record_id}"

    @classmethod
    def parse(cls, stored: str | None) -> tuple[LegalBasis | None, int | None]:
        """``consent:12`` → (CONSENT, 12); ``life_safety`` → (LIFE_SAFETY, None)."""
        if not stored:
            return None, None
        kind, _, record = stored.partition(":")
        try:
            basis = cls(kind)
        except ValueError:
            return None, None
        return basis, int(record) if record.isdigit() else None


# Exceptions to consent that a routing rule or staff may declare.
EXCEPTIONS: tuple[LegalBasis, ...] = (LegalBasis.LIFE_SAFETY, LegalBasis.SUPPORT_MEETING)


class ConsultationChannel(StrEnum):
    WINDOW = "window"  # 窓口
    PHONE = "phone"  # 電話
    VISIT = "visit"  # 訪問
    OUTREACH = "outreach"
    EVENT = "event"  # 相談会


class DeliveryChannel(StrEnum):
    """How a referral reaches a partner; every referral can also be read in the inbox."""

    WEBHOOK = "webhook"
    EMAIL = "email"
    INBOX = "inbox"


class DeliveryState(StrEnum):
    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    DELIVERED = "delivered"
    SENT = "sent"  # a staff notice handed to the mail relay
    FAILED = "failed"
    HELD = "held"  # its referral waits for a legal basis
    CANCELLED = "cancelled"
    NO_RECIPIENT = "no_recipient"


class Urgency(StrEnum):
    """Ordered from least to most urgent."""

    NORMAL = "normal"
    URGENT = "urgent"
    EMERGENCY = "emergency"


class CaseStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class ReminderKind(StrEnum):
    PARTNER_ACK = "partner_ack"
    PARTNER_PROGRESS = "partner_progress"
    CLIENT_FOLLOWUP = "client_followup"
    CASE_NEXT_ACTION = "case_next_action"
    ESCALATION = "escalation"


class ReminderStatus(StrEnum):
    DUE = "due"
    SENT = "sent"
    WITHDRAWN = "withdrawn"


class PartnerLayer(StrEnum):
    """Where a partner works, in the five layers of 高知県's community welfare plan."""

    PREFECTURE = "prefecture"  # 県域
    BLOCK = "block"  # ブロック: a 福祉保健所's area, across municipalities
    MUNICIPALITY = "municipality"  # 市町村
    DISTRICT = "district"  # 地区 (old school district)
    NEIGHBOURHOOD = "neighbourhood"  # 小地域 (自治会)


class SafetyReviewOutcome(StrEnum):
    """A supervisor's review of a referral sent on life_safety without consent."""

    APPROPRIATE = "appropriate"  # the exception was rightly used
    NOT_APPROPRIATE = "not_appropriate"  # it was not: the case owner follows up


class TeamOutcome(StrEnum):
    RESOLVED_ON_SITE = "resolved_on_site"
    REFERRED = "referred"
    FOLLOW_UP = "follow_up"


def values(enum: type[StrEnum]) -> tuple[str, ...]:
    """The codes of an enum as plain strings, e.g. for a schema's OneOf."""
    return tuple(member.value for member in enum)
